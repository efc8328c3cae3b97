import { ERROR_CODES } from './errors.ts';

/** The table of docs/errors.md, generated from the one error module. */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, info]) => `| \`${code}\` | ${info.status} | ${info.summary.replace(/\|/g, '\\|')} |`);
  return ['| Code | HTTP status | Meaning |', '|---|---|---|', ...rows].join('\n');
}
