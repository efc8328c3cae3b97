import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every `.ts` file under `dir` (recursively), as paths joined onto `dir`. */
export function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}
