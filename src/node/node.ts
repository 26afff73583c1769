import type { FastifyInstance } from 'fastify';
import { TwinError } from '../errors.js';
import type { Clock } from '../actors/clock.js';
import type { TwinModel } from '../model/twin-model.js';
import type { StateStore } from '../store/state-store.js';
import { metricsRoutes } from './http/metrics-routes.js';
import { openApiRoutes } from './http/openapi.js';
import { modelRoutes } from './http/model-routes.js';
import { signalRoutes, type SignalLimits } from './http/signal-routes.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { queryRoutes } from './http/query-routes.js';
import { settleRoutes } from './http/settle-routes.js';
import { resolveHttpLimits, type HttpLimits } from './http/limits.js';
import { createHttpServer } from './http/server.js';
import { twinRoutes } from './http/twin-routes.js';
import { startIngestion, type Ingestion, type IngestionOptions } from './ingestion.js';
import { createLogger, type Logger } from '../logger.js';
import { createRuntime, DEFAULT_HELD_OUTPUTS, type Runtime } from '../runtime/runtime.js';
import type { ClusterOptions } from '../cluster/cluster-options.js';
import { Rejections } from './rejections.js';
import { LmdbStateStore } from '../store/lmdb-store.js';
import type { StorageOptions } from './config/store-config.js';
import { resolveIngestRate, type LimitOptions } from './config/limits-config.js';
import { IngestQuota } from './ingest/ingest-quota.js';
import type { ModelSource } from '../hosting/worker-protocol.js';
import type { ModelSet } from '../model/model-set.js';
import { loadModelSet } from '../model/model-set-import.js';
import { workerSource } from '../runtime/runtime-models.js';
import { listenError } from './listen-error.js';
import { attachWarp, type WarpFront, type WarpOptions } from './warp/server.js';
import { AccessControl } from '../access/access-control.js';
import { checkExposure } from './auth/exposure.js';
import { installAccessHook } from './http/access-hook.js';
import { deadLetterRoutes } from './http/dead-letter-routes.js';
import { warmRoutes } from './http/warm-routes.js';
import {
  checkTlsMaterial,
  secureContextOf,
  serverTlsOptions,
  TLS_OPTION_FIELDS,
  type TlsMaterial,
  type TlsOptions,
} from './tls/tls-options.js';
import { startAdminListener, type AdminListener, type AdminOptions } from './http/admin-listener.js';

export interface NodeOptions extends IngestionOptions, StorageOptions, LimitOptions {
  /**
   * The model set this node serves (see defineModelSet), or a module URL exporting one
   * (its hash names the export: `new URL('./garage.js#modelSet', import.meta.url)`).
   * Worker threads import the same module. Or give `models` (and `modelSource`).
   */
  modelSet?: ModelSet<any> | URL;
  /** The twin models this node serves, when not given as a `modelSet`. */
  models?: readonly TwinModel<any>[];
  /** With `models` and `workers` > 0: where worker threads import the models from. */
  modelSource?: ModelSource;
  /** Listen address (default 127.0.0.1) and port (default 9001; 0 picks a free one). */
  host?: string;
  port?: number;
  logger?: Logger;
  logLevel?: string;
  store?: StateStore;
  clock?: Clock;
  /**
   * Join a twin space over NATS JetStream with other nodes (docs/cluster.md). State then
   * lives in JetStream: `store` is refused, and `dataDir` holds only this node's local copy
   * of its vshards, reused on a restart when nobody wrote them since.
   */
  cluster?: ClusterOptions;
  /** The WARP (WebSocket) front: authorizer and per-socket limits. */
  warp?: WarpOptions;
  /** Bounds of the HTTP front: timeouts, connection cap, batch size (see {@link HttpLimits}). */
  httpLimits?: Partial<HttpLimits>;
  /** Bounds of `GET /signals`: readers at once, bytes a reader may leave unread (see {@link SignalLimits}). */
  signals?: Partial<SignalLimits>;
  /**
   * Who may do what: an access file's path (reloaded when it changes; see docs/security.md)
   * or an {@link AccessControl}. Without it every caller may do everything, so the node
   * listens only on loopback unless `insecure` is set.
   */
  access?: string | AccessControl;
  /** Serve without access rules on a non-loopback address (warned about at start). */
  insecure?: boolean;
  /**
   * TLS: the HTTP+WARP port serves HTTPS and WSS only, the embedded MQTT broker MQTTS only,
   * the admin listener HTTPS. Client certificates (`clientCerts`) authenticate as their
   * common name (the access file's `certificates.roles`; docs/security.md, "TLS").
   */
  tls?: TlsOptions;
  /**
   * A separate listener for `/metrics`, `/healthz`, `/readyz`, `/settled`, `/dead-letters` and
   * `POST /twins/…/warm` (then 404 on the main port), e.g. on a private address for scrapers and probes.
   */
  admin?: AdminOptions;
  /** Serve the dashboard at `GET /` (default true; docs/dashboard.md). */
  dashboard?: boolean;
}

/**
 * A running node: the runtime plus its network fronts, started together and closed
 * together (fronts first, so nothing new arrives while the runtime drains).
 */
export interface TwinflowNode {
  readonly runtime: Runtime;
  readonly http: FastifyInstance;
  /** The WARP front on the same port (WebSocket upgrades at `/`). */
  readonly warp: WarpFront;
  /** MQTT front, `POST /events`, dead letters and outputs. */
  readonly ingestion: Ingestion;
  /** Refused input of every front, counted (`twinflow_rejected_total`) and logged at a bounded rate. */
  readonly rejections: Rejections;
  /** `http://host:port` (`https://` with TLS) the node listens on. */
  readonly url: string;
  /** Where WARP clients connect: `ws://host:port/` (`wss://` with TLS). */
  readonly warpUrl: string;
  /** `http(s)://host:port` of the admin listener, if the node has one. */
  readonly adminUrl: string | undefined;
  /** Settles once the `warm` prefixes are warmed (at once without any; a failure is logged, not thrown). */
  readonly warmed: Promise<void>;
  /**
   * New certificate material for every TLS front (HTTPS/WSS, MQTTS, admin): connections
   * made from now on use it, open ones keep theirs (a certificate renewal without a restart).
   * Throws TWIN_CONFIG_INVALID on a node without TLS; a bad key or certificate throws and
   * leaves the material in force.
   */
  setTls(material: TlsMaterial): void;
  /** The access rules in force (`reload()` re-reads the file, as SIGHUP and file changes do). */
  readonly access: AccessControl;
  /** Ingest rate per sender (`--ingest-rate`, principals' own `rate`); its counts are `twinflow_rate_limited_total`. */
  readonly quota: IngestQuota;
  close(): Promise<void>;
}

/**
 * Starts a node.
 *
 * @example
 * ```ts
 * const node = await startNode({ modelSet: garageSet, workers: 2, port: 0 });
 * await fetch(`${node.url}/twins/garage/g1`);
 * await node.close();
 * ```
 */
export async function startNode(options: NodeOptions): Promise<TwinflowNode> {
  const logger = options.logger ?? createLogger(options.logLevel);
  const workers = options.workers ?? 0;
  if (options.cluster && options.store !== undefined)
    throw new TwinError('TWIN_CONFIG_INVALID', 'cluster mode keeps state in JetStream: no store');
  // In cluster mode the data directory holds the node's local copy of its vshards (the cluster opens it).
  const cluster =
    options.cluster && options.dataDir !== undefined
      ? { ...options.cluster, dataDir: options.dataDir }
      : options.cluster;
  const dataDir = cluster ? undefined : options.dataDir;
  // Checked before anything starts, so a bad limit leaves no store or worker behind.
  const httpLimits = resolveHttpLimits(options.httpLimits);
  const quota = new IngestQuota(resolveIngestRate(options.ingestRate));
  const host = options.host ?? '127.0.0.1',
    port = options.port ?? 9001;
  // Checked before anything starts too: a bad certificate or key fails here, naming the problem.
  const tls = options.tls ? serverTlsOptions(options.tls) : undefined;
  if (tls) assertSecureContext(options.tls!);
  // Before anything starts: a node that would be open to its network without rules does not start.
  const ownAccess = typeof options.access === 'string';
  const access =
    options.access instanceof AccessControl
      ? options.access
      : typeof options.access === 'string'
        ? await AccessControl.fromFile(options.access, logger)
        : AccessControl.open();
  let exposureWarning: string | undefined;
  try {
    exposureWarning = checkExposure({
      host,
      mqttHost: options.mqtt && !options.mqtt.url ? (options.mqtt.host ?? '127.0.0.1') : undefined,
      adminHost: options.admin ? (options.admin.host ?? '127.0.0.1') : undefined,
      authenticated: access.enabled,
      insecure: options.insecure === true,
    });
  } catch (err) {
    if (ownAccess) access.close();
    throw err;
  }
  const modelSet = options.modelSet instanceof URL ? await loadModelSet(options.modelSet) : options.modelSet;
  // Before a store opens: models workers cannot import fail here, leaving nothing behind.
  workerSource({ models: options.models, modelSet, workers: { count: workers, models: options.modelSource } });
  const store =
    workers > 0
      ? undefined
      : (options.store ??
        (dataDir
          ? LmdbStateStore.open({
              path: dataDir,
              durability: options.durability,
              journalRetentionMs: options.journalRetentionMs,
            })
          : undefined));
  const runtime = createRuntime({
    cluster,
    models: options.models,
    modelSet,
    logger,
    store,
    clock: options.clock,
    passivation: options.passivation,
    journal: options.journal,
    maxPayloadDepth: options.maxPayloadDepth,
    maxLinkTwins: options.maxLinkTwins,
    // What the node emits while it starts is held for its sinks (below): never fewer than one
    // sink queue takes, so any excess is dropped and counted by the queue, per sink.
    heldOutputs: Math.max(DEFAULT_HELD_OUTPUTS, options.outputs?.queue?.capacity ?? 0),
    workers:
      workers > 0
        ? {
            count: workers,
            models: options.modelSource,
            dataDir,
            durability: options.durability,
            journalRetentionMs: options.journalRetentionMs,
            logLevel: options.logLevel,
          }
        : undefined,
  });
  // Before anything can emit (the shards' timer recovery runs a microtask from now; workers
  // post outputs as soon as they start): what the twins emit while the node starts, such as
  // the sensor.offline of every timer that came due while it was down, waits for all of the
  // node's listeners (/signals, webhooks, MQTT), which subscribe across the awaits below.
  const releaseOutputs = runtime.holdOutputs();
  // Listen only once the runtime can serve (its workers loaded the models, or it joined its
  // cluster): /readyz is then true from its first answer, and a model that cannot load
  // fails the start with its reason instead of every request after it.
  try {
    await runtime.ready();
  } catch (err) {
    await runtime.close().catch(() => undefined);
    if (ownAccess) access.close();
    throw err;
  }
  const rejections = new Rejections(logger);
  const http = createHttpServer(logger, { rejections, limits: httpLimits, tls, probes: !options.admin });
  installAccessHook(http, access);
  let admin: AdminListener | undefined;
  // Created before the routes so /metrics can read it; it handles upgrades, not routes.
  const warp = attachWarp(http.server, runtime, logger, { ...options.warp, rejections, access, quota });
  let ingestion: Ingestion | undefined;
  let url: string;
  try {
    await http.register(twinRoutes(runtime, { warm: !options.admin }));
    await http.register(queryRoutes(runtime));
    await http.register(openApiRoutes());
    await http.register(modelRoutes(runtime));
    await http.register(signalRoutes(runtime, options.signals, rejections, access));
    if (options.dashboard !== false) await http.register(dashboardRoutes(logger));
    const mqtt = options.mqtt && options.tls ? { ...options.mqtt, tls: options.tls } : options.mqtt;
    ingestion = await startIngestion(runtime, logger, { ...options, mqtt }, rejections, access, quota);
    // Every output listener of the node is subscribed now (signalRoutes above, the sinks in
    // startIngestion): each gets what was held, in order, then every output as it comes.
    releaseOutputs();
    await http.register(ingestion.routes(httpLimits));
    const deadLetters = ingestion.deadLetters;
    const adminRoutes = async (app: FastifyInstance): Promise<void> => {
      await app.register(settleRoutes(runtime));
      await app.register(
        metricsRoutes(
          runtime,
          () => warp.stats(),
          () => rejections.counts(),
          () => quota.counts(),
          () => ingestion?.outputs.stats() ?? {},
        ),
      );
      await app.register(deadLetterRoutes(deadLetters));
      // On the main port warming is part of twinRoutes (they share POST /twins/*).
      if (options.admin) await app.register(warmRoutes(runtime));
    };
    if (!options.admin) await http.register(adminRoutes);
    url = await http.listen({ host, port }).catch((err: unknown) => {
      throw listenError(err, 'HTTP', host, port, '--port');
    });
    if (options.admin)
      admin = await startAdminListener(options.admin, adminRoutes, { logger, rejections, access, tls });
  } catch (err) {
    // E.g. the HTTP port is taken after the MQTT broker started: close what did start
    // (broker, worker threads, store) so the caller gets the error and not a process that never exits.
    await warp.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await ingestion?.close().catch(() => undefined);
    await http.close().catch(() => undefined);
    await runtime.close().catch(() => undefined);
    if (ownAccess) access.close();
    throw err;
  }
  if (exposureWarning) logger.warn({ host }, exposureWarning);
  else if (!access.enabled)
    logger.info(
      { host },
      'no access rules (--auth): every caller may do everything, so the node serves on loopback only',
    );
  else {
    if (ownAccess) access.watch();
    logger.info({ file: access.file }, 'access rules in force: callers authenticate (docs/security.md)');
  }
  const warmed = Promise.all((options.warm ?? []).map((prefix) => warmInBackground(runtime, logger, prefix))).then(
    () => undefined,
  );
  let closed = false;
  const fronts = ingestion;
  const adminListener = admin;
  const server = http.server as unknown as { setSecureContext(o: ReturnType<typeof secureContextOf>): void };
  const warpUrl = `${tls ? 'wss' : 'ws'}${url.slice(url.indexOf(':'))}${options.warp?.path ?? '/'}`;
  runtime.cluster?.advertise({ http: url, warp: warpUrl }); // for `twinflow cluster status`
  return {
    runtime,
    http,
    warp,
    ingestion: fronts,
    rejections,
    url,
    warpUrl,
    adminUrl: adminListener?.url,
    warmed,
    access,
    setTls(material) {
      if (!options.tls) throw new TwinError('TWIN_CONFIG_INVALID', 'this node serves without TLS');
      // Checked first, so a bad pair changes nothing on any front.
      const next = { ...options.tls, ...material };
      assertSecureContext(next);
      server.setSecureContext(secureContextOf(next));
      adminListener?.setSecureContext(next);
      fronts.mqtt?.setSecureContext?.(next);
      logger.info('TLS certificate reloaded: new connections use it');
    },
    quota,
    async close() {
      if (closed) return;
      closed = true;
      await warp.close();
      await adminListener?.close();
      await fronts.close();
      await http.close();
      await runtime.close();
      if (ownAccess) access.close();
    },
  };
}

/**
 * Throws TWIN_CONFIG_INVALID naming the field (`tls.key`) and why when the certificate
 * material does not make a TLS context (not PEM, or a key of another certificate), before a
 * front is started or a certificate swapped: the check `twinflow serve` makes of its files.
 */
function assertSecureContext(material: TlsMaterial): void {
  try {
    checkTlsMaterial(material, TLS_OPTION_FIELDS);
  } catch (err) {
    throw new TwinError('TWIN_CONFIG_INVALID', (err as Error).message, undefined, { cause: err });
  }
}

/** Serves at once and warms meanwhile: twins asked for before their turn start on demand as usual. */
function warmInBackground(runtime: Runtime, logger: Logger, prefix: string): Promise<void> {
  const t0 = performance.now();
  return runtime.warm(prefix).then(
    (started) => logger.info({ prefix, started, ms: Math.round(performance.now() - t0) }, 'warmed stored twins'),
    (err: unknown) => logger.error({ prefix, err }, 'warming stored twins failed'),
  );
}
