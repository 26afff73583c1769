// `npm run build:dashboard` (run by `prepare` after the TypeScript build): bundles web/ into
// dist/dashboard/ with esbuild. The node also builds it on the first `GET /` when it is
// missing or older than web/, so a clone where prepare did not run still serves the page.
import { buildDashboard, dashboardPaths } from '../dist/src/node/dashboard/bundle.js';

const paths = dashboardPaths();
const { js, css } = await buildDashboard(paths);
process.stdout.write(`dashboard: ${paths.out} (app.js ${js} B, app.css ${css} B)\n`);
