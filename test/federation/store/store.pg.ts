/**
 * The metrics store suites on PostgreSQL (npm run test:pg): the same tests as
 * on PGlite, so both drivers keep NaN payloads, RLS and semantics alike (and
 * remote-write's retention refusal stores nothing on either).
 */
if (!process.env.PROBECTL_TEST_DATABASE_URL) throw new Error('store.pg.ts needs PROBECTL_TEST_DATABASE_URL (a PostgreSQL server)');
await import('./store.test.ts');
await import('./semantics.test.ts');
await import('./latest.test.ts');
await import('./write-retention.test.ts');
