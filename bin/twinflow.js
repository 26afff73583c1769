#!/usr/bin/env -S node --max-semi-space-size=64
// The twinflow command. The code is compiled to dist/ by `npm install` (the prepare script).
// --max-semi-space-size: a runtime allocates many short-lived objects per event; a 64 MiB
// nursery (Node 20 default: 16 MiB) scavenges less often and promotes less (bench/README.md).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('twinflow: dist/ is missing; run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
