/**
 * `npm run bench`: every benchmark, one after another, each printing its own
 * table. Benchmarks are never part of `npm test`. PostgreSQL rows need
 * PROBECTL_BENCH_DATABASE_URL (or PROBECTL_TEST_DATABASE_URL).
 */
const suites = process.argv.slice(2);
const all: Record<string, () => Promise<{ main(): Promise<void> }>> = {
  audit: () => import('./audit.ts'),
  cmdb: () => import('./cmdb.ts'),
  federation: () => import('./federation.ts'),
  'federation-store': () => import('./federation-store.ts'),
  'federation-upstream': () => import('./federation-upstream.ts'),
  notify: () => import('./notify.ts'),
  secrets: () => import('./secrets.ts'),
  'siem-formatters': () => import('./siem-formatters.ts'),
  siem: () => import('./siem.ts'),
};

// A misspelt name runs nothing: refuse it rather than exit 0 with no table.
const unknown = suites.filter((s) => s !== '--' && !Object.hasOwn(all, s));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.map((s) => JSON.stringify(s)).join(', ')}; benchmarks: ${Object.keys(all).join(', ')}\n`);
  process.exit(2);
}

for (const [name, load] of Object.entries(all)) {
  if (suites.length > 0 && !suites.includes(name)) continue;
  process.stdout.write(`\n=== bench: ${name} ===\n`);
  await (await load()).main();
}
