#!/usr/bin/env node
/**
 * `probectl`: the CLI with this build's context (src/cli-context.ts, the
 * composition root; src/cli never imports it). The executable
 * (cli/probectl.ts) starts here.
 */
import { probectlContext } from './cli-context.ts';
import { watchLauncher } from './cli/launcher.ts';
import { runCli } from './cli/run.ts';

watchLauncher();

process.exitCode = await runCli(probectlContext, process.argv);
