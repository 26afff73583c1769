import type { FastifyInstance, FastifyReply } from 'fastify';
import { TwinError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { dashboardPaths, loadDashboard, type DashboardFiles } from './bundle.js';

/** Paths of the page's static files: served without credentials (the page asks for a token if the API answers 401). */
export const DASHBOARD_PREFIX = '/dashboard/';

/** True for the URLs of the dashboard's static files, which the access hook lets through. */
export function isDashboardFile(route: string): boolean {
  return route === '/' || route === '/index.html' || route.startsWith(DASHBOARD_PREFIX);
}

const NO_BUNDLE = `<!doctype html><meta charset="utf-8"><title>twinflow</title><link rel="icon" href="data:,">
<h1>twinflow</h1><p>The dashboard bundle is missing and could not be built here (esbuild is a
devDependency: run <code>npm install</code>, or <code>npm run build:dashboard</code>). The HTTP API
(<a href="/openapi.json">/openapi.json</a>) and WARP are served as usual.</p>`;

/**
 * `GET /`: the dashboard (web/, bundled into dist/dashboard/ by `npm install` or on the first
 * request when missing), and its files under `/dashboard/`. The page is static: everything
 * it shows it reads through the public HTTP API and the WARP client, with the user's
 * credentials, so serving it gives away nothing the API would not.
 *
 * @example
 * ```ts
 * await app.register(dashboardRoutes(logger));
 * // GET / → index.html; GET /dashboard/app.js, /dashboard/app.css
 * ```
 */
export function dashboardRoutes(logger: Logger, paths = dashboardPaths()) {
  let files: Promise<DashboardFiles | null> | undefined;
  const load = (): Promise<DashboardFiles | null> => (files ??= loadDashboard(logger, paths));
  return async (app: FastifyInstance): Promise<void> => {
    const index = async (_req: unknown, reply: FastifyReply) => {
      const f = (await load())?.['index.html'];
      void reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
      return f ? f.body : NO_BUNDLE;
    };
    app.get('/', index);
    app.get('/index.html', index);
    app.get<{ Params: { file: string } }>(`${DASHBOARD_PREFIX}:file`, async (req, reply) => {
      const files = await load();
      const name = req.params.file;
      // Own properties only: the files are a plain object, whose inherited names (`constructor`,
      // `__proto__`, `toString`) are no files (they answered 500: a function's undefined `type`).
      const f = files && Object.hasOwn(files, name) ? files[name] : undefined;
      if (!f || name === 'index.html') throw new TwinError('TWIN_ROUTE_NOT_FOUND', `no dashboard file ${name}`);
      void reply.header('cache-control', 'no-cache').type(f.type);
      return f.body;
    });
  };
}
