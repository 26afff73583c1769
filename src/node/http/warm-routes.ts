import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TwinError } from '../../errors.js';
import type { Runtime } from '../../runtime/runtime.js';
import { needAdmin, needRight } from './access-hook.js';

/**
 * The prefix a `POST /twins/{raw}` warms, or undefined when it is no warm request: "warm"
 * alone is the root (as `serve --warm /`), "…/warm" the subtree above it. Either is a twin
 * instead when a model is routed to the full path.
 */
export function warmPrefix(rt: Runtime, raw: string): string | undefined {
  const warm = raw === 'warm' ? ['warm', ''] : /^(.*)\/warm$/.exec(raw);
  return warm && !rt.isRouted(raw) ? warm[1]! : undefined;
}

/** Starts the stored twins under `prefix` that are not live (`admin` there; on the root, everywhere). */
export async function warmUnder(
  rt: Runtime,
  req: FastifyRequest,
  prefix: string,
): Promise<{ prefix: string; started: number }> {
  if (prefix === '') needAdmin(req);
  else needRight(req, 'admin', prefix);
  return { prefix: '/' + prefix.replace(/^\//, ''), started: await rt.warm(prefix) };
}

/**
 * `POST /twins/{path}/warm` and `POST /twins/warm` alone, for the admin listener (on the main
 * port they are part of twinRoutes, which shares their `POST /twins/*`).
 *
 * @example
 * ```ts
 * await admin.register(warmRoutes(runtime));
 * ```
 */
export function warmRoutes(rt: Runtime) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Params: { '*': string } }>('/twins/*', async (req) => {
      const prefix = warmPrefix(rt, req.params['*']);
      if (prefix === undefined)
        throw new TwinError(
          'TWIN_ROUTE_NOT_FOUND',
          `no route POST /twins/${req.params['*']} here: the admin listener serves POST /twins/{path}/warm only`,
        );
      return warmUnder(rt, req, prefix);
    });
  };
}
