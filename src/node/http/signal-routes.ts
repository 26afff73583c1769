import type { FastifyInstance, FastifyReply } from 'fastify';
import { AccessControl } from '../../access/access-control.js';
import type { GrantSet } from '../../access/path-grants.js';
import type { DerivedEvent } from '../../model/twin-model.js';
import type { Runtime } from '../../runtime/runtime.js';
import { TwinError } from '../../errors.js';
import { PathFilter } from '../../topology/index.js';
import type { Rejections } from '../rejections.js';
import { chunksOf, SignalFrame, SignalStream } from './signal-frames.js';
import { StreamAccess } from './stream-access.js';

/** Bounds of `GET /signals`: how many readers, how many recent events a new one gets, how far a slow one may fall behind. */
export interface SignalLimits {
  /** Derived events kept for readers that connect later (default 100). */
  recent: number;
  /** Bytes a reader may leave unread (written and not yet taken by its socket, or waiting to be written); past it the stream is closed (default 1 MiB). */
  maxBufferedBytes: number;
  /** A comment line every this many ms keeps idle proxies and the idle timeout off the stream (default 15 000). */
  heartbeatMs: number;
  /** Readers open at once; one more is refused with 503 TWIN_TOO_MANY_CONNECTIONS and `Retry-After: 1` (default 256). */
  maxReaders: number;
}

/**
 * The defaults of {@link SignalLimits}. 256 readers is far more than dashboards open, and
 * bounds what readers that stop reading can hold: 256 × (1 MiB + one 64 KiB chunk) at worst.
 */
export const DEFAULT_SIGNAL_LIMITS: Readonly<SignalLimits> = Object.freeze({
  recent: 100,
  maxBufferedBytes: 1 << 20,
  heartbeatMs: 15_000,
  maxReaders: 256,
});

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  // Proxies (nginx) would otherwise hold the stream back.
  'x-accel-buffering': 'no',
};

/** One open stream. */
interface Reader {
  /** Every event whose subject is a path is for it: it may read everywhere and gave no filter. */
  all: boolean;
  wants(f: SignalFrame): boolean;
  /** Writes the chunks in order as its socket takes them, or closes the stream once too far behind. */
  send(chunks: readonly Buffer[]): void;
  destroy(): void;
}

/**
 * `GET /signals[?filter=F]`: the node's derived events (evacuation, hvac.adjust,
 * security.alert, sensor.offline, …) as a Server-Sent Events stream, one `data:` line of
 * CloudEvent JSON per event. A reader first gets the most recent ones (at most `recent`),
 * then every new one as its turn commits. Only events whose subject the caller may read are
 * sent, and with `filter` only those matching it. At most `maxReaders` streams are open at
 * once, and a reader that leaves more than `maxBufferedBytes` unread is closed rather than
 * making the node buffer without bound. `HEAD /signals` answers the headers a `GET` would,
 * without opening a stream.
 *
 * The work per event does not grow with the readers: each event is encoded and its subject
 * parsed once (it was stringified and parsed again for every reader: 300 readers and a
 * burst of 1200 events held the event loop 8.7 s). The events of one event-loop turn are
 * joined into 64 KiB chunks, shared by every reader that gets all of them, and each reader
 * is written at most one chunk per turn as its socket takes them (see SignalStream). Per
 * reader and event there is only the grant and filter check, and none for a reader that may
 * read everything without a filter (a node without access rules).
 *
 * `rejections` counts readers closed for being slow (`http.signals_reader_too_slow`);
 * refused readers are counted by the server's error handler (`http.TWIN_TOO_MANY_CONNECTIONS`).
 *
 * A stream is checked against `access` for as long as it is open, not only when it starts
 * (StreamAccess): a reload of the access file applies the reader's new grants to what it is
 * sent next, and a credential the reload revoked, or a JWT that expires, ends the stream
 * (counted as `http.signals_reader_revoked`).
 *
 * @example
 * ```ts
 * const res = await fetch(`${node.url}/signals?filter=/org/contoso/**`);
 * for await (const chunk of res.body!) process.stdout.write(chunk); // data: {"type":"evacuation",…}
 * ```
 */
export function signalRoutes(
  rt: Runtime,
  limits: Partial<SignalLimits> = {},
  rejections?: Rejections,
  access: AccessControl = AccessControl.open(),
) {
  const { recent, maxBufferedBytes, heartbeatMs, maxReaders } = resolveSignalLimits(limits);
  return async (app: FastifyInstance): Promise<void> => {
    let kept: SignalFrame[] = [];
    const readers = new Set<Reader>();
    // The events that arrived in this event-loop turn, handed to the readers together when it ends.
    let pending: SignalFrame[] = [];
    let flushing: NodeJS.Immediate | undefined;
    const flush = (): void => {
      flushing = undefined;
      // An event whose subject is no path reaches nobody: no grant allows what is not a path.
      const frames = pending.filter((f) => f.path !== null);
      pending = [];
      let shared: Buffer[] | undefined;
      for (const r of readers) {
        const mine = r.all ? frames : frames.filter((f) => r.wants(f));
        if (mine.length === 0) continue;
        r.send(mine.length === frames.length ? (shared ??= chunksOf(frames)) : chunksOf(mine));
      }
      kept = kept.concat(frames);
      if (kept.length > recent) kept = kept.slice(kept.length - recent);
    };
    // The whole space's signals: a reader of any node of a cluster sees every twin's.
    const unsubscribe = rt.onOutput(
      (e: DerivedEvent) => {
        pending.push(new SignalFrame(e));
        flushing ??= setImmediate(flush);
      },
      { space: true },
    );
    // Before the server closes: an open stream would keep fastify's close waiting for ever.
    app.addHook('preClose', async () => {
      unsubscribe();
      if (flushing) clearImmediate(flushing);
      for (const r of readers) r.destroy();
      readers.clear();
    });
    /** Refuses a reader past the cap (what HEAD says too, so it tells what a GET would get). */
    const checkRoom = (reply: FastifyReply): void => {
      if (readers.size < maxReaders) return;
      void reply.header('retry-after', '1');
      throw new TwinError(
        'TWIN_TOO_MANY_CONNECTIONS',
        `the node has ${maxReaders} /signals readers open, its limit; retry later`,
        { limit: maxReaders },
      );
    };
    // fastify's automatic HEAD route would run the GET handler: a stream that never ends,
    // whose headers a HEAD never flushed (no answer at all, and the socket's next request
    // never served). HEAD gets the headers and nothing else.
    app.head<{ Querystring: { filter?: string } }>('/signals', async (req, reply) => {
      parseFilter(req.query.filter);
      checkRoom(reply);
      return reply.status(200).headers(SSE_HEADERS).send();
    });
    app.get<{ Querystring: { filter?: string } }>('/signals', { exposeHeadRoute: false }, async (req, reply) => {
      const filter = parseFilter(req.query.filter);
      checkRoom(reply);
      let grants = req.grants;
      let readsAll = grants.allowsEverywhere('read');
      const out = reply.raw;
      reply.hijack();
      out.writeHead(200, SSE_HEADERS);
      // Closed, not kept receiving and discarding: what waits for it is freed at once, it
      // costs nothing more per event, and its client sees the end of the stream (and can
      // reconnect: it gets the recent events again) instead of a gap it may not notice.
      const tooSlow = (): void => {
        rejections?.note(
          'http.signals_reader_too_slow',
          { limit: maxBufferedBytes, backlog: stream.backlog, sender: req.ip },
          '/signals reader closed: more than its bound waited unread',
        );
        out.destroy();
      };
      const stream = new SignalStream(out, maxBufferedBytes, tooSlow);
      const reader: Reader = {
        all: readsAll && filter === null,
        wants: (f) =>
          (readsAll || grants.allows('read', f.event.subject)) && (filter === null || filter.matches(f.path!)),
        send: (chunks) => stream.send(chunks),
        destroy: () => out.destroy(),
      };
      const held = new StreamAccess(access, req.credential, req.accessGeneration, req.principal, {
        onGrants: (g: GrantSet) => {
          grants = g;
          readsAll = g.allowsEverywhere('read');
          reader.all = readsAll && filter === null;
        },
        onRevoked: (why) => {
          rejections?.note('http.signals_reader_revoked', { sender: req.ip, why }, `/signals reader closed: ${why}`);
          readers.delete(reader); // nothing more for it, not even what this turn's flush holds
          out.destroy();
        },
      });
      // Only on a stream with nothing waiting: one that waits is not idle, and one whose client
      // stopped reading is left to the idle timeout (--http-idle-timeout) once no byte moves.
      const heartbeat = setInterval(() => {
        if (stream.backlog > maxBufferedBytes) tooSlow();
        else if (stream.idle) out.write(': keep-alive\n\n');
      }, heartbeatMs);
      heartbeat.unref();
      const stop = (): void => {
        clearInterval(heartbeat);
        held.close();
        readers.delete(reader);
      };
      out.once('close', stop);
      out.write(': twinflow signals\n\n');
      const recentOnes = kept.filter((f) => reader.all || reader.wants(f));
      if (recentOnes.length > 0) stream.send(chunksOf(recentOnes));
      // Closed already: too slow for the recent events, or its client left while the request
      // was authenticated (its 'close' came before the listener above: it would hold a slot for ever).
      if (out.destroyed) stop();
      else readers.add(reader);
    });
  };
}

/** The limits with defaults filled in, checked. */
export function resolveSignalLimits(partial: Partial<SignalLimits> = {}): SignalLimits {
  const limits: SignalLimits = { ...DEFAULT_SIGNAL_LIMITS };
  for (const [k, v] of Object.entries(partial))
    if (v !== undefined) (limits as unknown as Record<string, number>)[k] = v;
  for (const [k, v] of Object.entries(limits)) {
    const least = k === 'recent' ? 0 : 1;
    if (!Number.isInteger(v) || v < least)
      throw new TwinError(
        'TWIN_CONFIG_INVALID',
        `signal limit ${k} must be an integer of at least ${least}, got ${String(v)}`,
      );
  }
  return limits;
}

function parseFilter(raw: string | undefined): PathFilter | null {
  if (raw === undefined) return null;
  if (raw === '') throw new TwinError('TWIN_QUERY_INVALID', 'filter= is empty: leave it out for every subject');
  return PathFilter.parse(raw);
}
