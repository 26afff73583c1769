/**
 * Process entry of the `twinflow` command: `node --import tsx src/cli/main.ts serve …`
 * from source, or `bin/twinflow.js` (which runs the same `main` from dist/).
 */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
