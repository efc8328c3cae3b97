/**
 * The on-call suites that drive the real server, on PostgreSQL (npm run
 * test:pg): the same tests as on PGlite, so row-level security, locks
 * (FOR UPDATE, SKIP LOCKED), the vendor-ref lookup (notify_link_refs) and the cross-replica
 * machinery behave alike on both drivers.
 */
if (!process.env.PROBECTL_TEST_DATABASE_URL) throw new Error('notify.pg.ts needs PROBECTL_TEST_DATABASE_URL (a PostgreSQL server)');
await import('./scenario.test.ts');
await import('./mirror.test.ts');
await import('./inbound.test.ts');
await import('./outbox.test.ts');
