import type { FastifyInstance } from 'fastify';
import type { TlsOptions as NodeTlsOptions } from 'node:tls';
import type { AccessControl } from '../../access/access-control.js';
import type { Logger } from '../../logger.js';
import { listenError } from '../listen-error.js';
import type { Rejections } from '../rejections.js';
import { secureContextOf, type TlsMaterial } from '../tls/tls-options.js';
import { installAccessHook } from './access-hook.js';
import { createHttpServer } from './server.js';

/** Where the admin listener listens (`--admin-host`, `--admin-port`). */
export interface AdminOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/** The admin listener of a node. */
export interface AdminListener {
  readonly http: FastifyInstance;
  /** `http://host:port` (`https://` with TLS). */
  readonly url: string;
  setSecureContext(material: TlsMaterial): void;
  close(): Promise<void>;
}

/**
 * A second HTTP listener for what operators' tools use rather than clients: `/healthz`,
 * `/readyz` and the admin routes (`/metrics`, `/settled`, `/dead-letters`, `POST /twins/…/warm`). Scrapers and
 * probes usually sit on a private network or a sidecar's loopback, while the main port faces
 * devices and apps; a separate address lets a firewall tell them apart, and keeps the load
 * balancer's view of the public port free of internal routes. The same access rules apply
 * (the admin routes still need the `admin` right when an access file is in force), and the
 * same TLS when the node has it.
 *
 * @example
 * ```ts
 * const admin = await startAdminListener({ port: 9464 }, adminRoutes, { logger, rejections, access });
 * await fetch(`${admin.url}/metrics`);
 * ```
 */
export async function startAdminListener(
  options: AdminOptions,
  routes: (app: FastifyInstance) => Promise<void>,
  context: { logger: Logger; rejections: Rejections; access: AccessControl; tls?: NodeTlsOptions },
): Promise<AdminListener> {
  const host = options.host ?? '127.0.0.1';
  const app = createHttpServer(context.logger, { rejections: context.rejections, tls: context.tls });
  installAccessHook(app, context.access);
  try {
    await app.register(routes);
    const url = await app.listen({ host, port: options.port }).catch((err: unknown) => {
      throw listenError(err, 'admin HTTP', host, options.port, '--admin-port');
    });
    context.logger.info(
      { url },
      'admin listener: /metrics, /healthz, /readyz, /settled, /dead-letters, POST /twins/…/warm',
    );
    const server = app.server as unknown as { setSecureContext(o: ReturnType<typeof secureContextOf>): void };
    return {
      http: app,
      url,
      setSecureContext: (material) => server.setSecureContext(secureContextOf(material)),
      close: () => app.close(),
    };
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
}
