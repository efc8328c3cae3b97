/** Fails loudly when a suite that needs a real server is run without it: never a silent skip. */
const missing = process.argv.slice(2).filter((name) => !process.env[name]);
if (missing.length > 0) {
  process.stderr.write(`this suite needs ${missing.join(', ')} (see .ci/run); refusing to pass by skipping\n`);
  process.exit(1);
}
