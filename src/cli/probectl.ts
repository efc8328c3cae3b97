#!/usr/bin/env node
/**
 * The `probectl` executable (package.json bin, `npm start`): checks the
 * Node.js version and bounds memory for `serve` (./launcher.ts), then runs the CLI.
 * It imports nothing a Node.js older than probectl's minimum cannot load.
 */
import { launch } from './launcher.ts';

await launch();
