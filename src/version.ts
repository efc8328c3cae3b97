import { readFileSync } from 'node:fs';
import { parseJson } from './core/json.ts';

/** The package version, read from package.json one level above src/ or dist/. */
export const VERSION: string = (parseJson(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
