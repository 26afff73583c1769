import type { FastifyInstance } from 'fastify';
import type { DerivedEvent } from '../../model/twin-model.js';
import type { Runtime } from '../../runtime/runtime.js';
import { TwinError } from '../../errors.js';
import { PathFilter, TwinPath } from '../../topology/index.js';

/** Bounds of `GET /signals`: how many recent events a new reader gets, how far a slow one may fall behind. */
export interface SignalLimits {
  /** Derived events kept for readers that connect later (default 100). */
  recent: number;
  /** Bytes a reader may leave unread before further events are dropped for it (default 1 MiB). */
  maxBufferedBytes: number;
  /** A comment line every this many ms keeps idle proxies and the idle timeout off the stream (default 15 000). */
  heartbeatMs: number;
}

const DEFAULTS: SignalLimits = { recent: 100, maxBufferedBytes: 1 << 20, heartbeatMs: 15_000 };

/**
 * `GET /signals[?filter=F]`: the node's derived events (evacuation, hvac.adjust,
 * security.alert, sensor.offline, …) as a Server-Sent Events stream, one `data:` line of
 * CloudEvent JSON per event. A reader first gets the most recent ones (at most `recent`),
 * then every new one as its turn commits. Only events whose subject the caller may read are
 * sent, and with `filter` only those matching it. A reader that does not keep up loses events
 * (counted in a `: dropped N` comment) rather than making the node buffer without bound.
 *
 * @example
 * ```ts
 * const res = await fetch(`${node.url}/signals?filter=/org/contoso/**`);
 * for await (const chunk of res.body!) process.stdout.write(chunk); // data: {"type":"evacuation",…}
 * ```
 */
export function signalRoutes(rt: Runtime, limits: Partial<SignalLimits> = {}) {
  const { recent, maxBufferedBytes, heartbeatMs } = { ...DEFAULTS, ...limits };
  return async (app: FastifyInstance): Promise<void> => {
    const kept: DerivedEvent[] = [];
    const readers = new Set<(e: DerivedEvent) => void>();
    // The whole space's signals: a reader of any node of a cluster sees every twin's.
    const unsubscribe = rt.onOutput(
      (e) => {
        kept.push(e);
        if (kept.length > recent) kept.shift();
        for (const r of readers) r(e);
      },
      { space: true },
    );
    const streams = new Set<{ destroy(): void }>();
    // Before the server closes: an open stream would keep fastify's close waiting for ever.
    app.addHook('preClose', async () => {
      unsubscribe();
      for (const s of streams) s.destroy();
    });
    app.get<{ Querystring: { filter?: string } }>('/signals', async (req, reply) => {
      const filter = parseFilter(req.query.filter);
      const grants = req.grants;
      const wanted = (e: DerivedEvent): boolean =>
        grants.allows('read', e.subject) && (filter === null || filter.matches(TwinPath.parse(e.subject)));
      const out = reply.raw;
      reply.hijack();
      out.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Proxies (nginx) would otherwise hold the stream back.
        'x-accel-buffering': 'no',
      });
      let dropped = 0;
      const send = (e: DerivedEvent): void => {
        if (!wanted(e)) return;
        if (out.writableLength > maxBufferedBytes) {
          dropped++;
          return;
        }
        if (dropped > 0) {
          out.write(`: dropped ${dropped}\n\n`);
          dropped = 0;
        }
        out.write(`id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      out.write(': twinflow signals\n\n');
      for (const e of kept) send(e);
      readers.add(send);
      const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), heartbeatMs);
      heartbeat.unref();
      const stop = (): void => {
        clearInterval(heartbeat);
        readers.delete(send);
      };
      streams.add(out);
      out.once('close', () => {
        stop();
        streams.delete(out);
      });
    });
  };
}

function parseFilter(raw: string | undefined): PathFilter | null {
  if (raw === undefined) return null;
  if (raw === '') throw new TwinError('TWIN_QUERY_INVALID', 'filter= is empty: leave it out for every subject');
  return PathFilter.parse(raw);
}
