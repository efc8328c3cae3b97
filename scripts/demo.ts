/**
 * `npm run demo`: SIEM export end to end (scripts/demo-siem.ts, `-- --format …`);
 * `npm run demo -- --oncall`: on-call mirroring end to end against the local
 * vendor stand-ins (scripts/demo-oncall.ts). Everything lives in a temporary
 * directory removed on every way out.
 */
if (process.argv.slice(2).includes('--oncall')) await import('./demo-oncall.ts');
else await import('./demo-siem.ts');
