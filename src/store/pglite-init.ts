/**
 * `node pglite-init.js <dir>`: creates an embedded database directory (runs
 * initdb) and exits. Run by openPglite in a child process, so that initdb's
 * memory leaves with this process instead of staying in the server.
 */
import { PGlite } from '@electric-sql/pglite';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: pglite-init <data directory>\n');
  process.exit(2);
}
const pg = await PGlite.create(dir);
await pg.close();
