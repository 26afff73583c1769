import { needAdmin } from './access-hook.js';
import type { FastifyInstance } from 'fastify';
import { TwinError } from '../../errors.js';
import type { Runtime } from '../../runtime/runtime.js';

/** Default and largest `timeout` of `GET /settled`, ms. */
export const SETTLE_TIMEOUT_MS = 30_000;
export const MAX_SETTLE_TIMEOUT_MS = 60_000;

/**
 * `GET /settled[?timeout=ms]`: answers 200 `{ settled: true, waitedMs }` once the node is
 * quiet ({@link Runtime.settle}: every shard's inbox, the joins between shards and the
 * pending commits drained, on every worker), or 503 `TWIN_NOT_SETTLED` if traffic kept it
 * busy for `timeout` ms (default 30 s, at most 60 s: below the idle timeout of a socket, `--http-idle-timeout`, 120 s by default).
 *
 * An acknowledgement (HTTP 202, MQTT PUBACK) means the event's own twin applied it; its
 * parents on other shards (a site above a building, with workers) follow eventually. A test
 * or script that wants to read settled aggregates sends its events, waits for their
 * acknowledgements, then asks this once. It is a route of its own, not a flag on
 * `POST /events`, so it serves every way in (MQTT, HTTP events and commands, WARP commands)
 * and leaves the meaning and the latency of an acknowledgement unchanged.
 *
 * @example
 * ```ts
 * await fetch(`${node.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
 * await fetch(`${node.url}/settled`); // now the site's alarm reflects the event
 * ```
 */
export function settleRoutes(rt: Runtime) {
  // One settle at a time, shared by the requests that wait meanwhile: settling is "quiet
  // now", so a settle that ends after a request came also covers what was acknowledged
  // before it. When the last waiting request gives up (timeout), the settle is aborted: under
  // steady traffic it would otherwise keep asking every worker, round after round, for nobody.
  let inflight: { done: Promise<void>; abort: AbortController } | null = null;
  let waiting = 0;
  const settle = (): Promise<void> => {
    if (!inflight) {
      const abort = new AbortController();
      const current = {
        abort,
        done: rt.settle(abort.signal).finally(() => {
          if (inflight === current) inflight = null;
        }),
      };
      current.done.catch(() => undefined); // an aborted settle has no one left to tell
      inflight = current;
    }
    return inflight.done;
  };
  const giveUp = (): void => {
    if (--waiting === 0 && inflight) {
      inflight.abort.abort();
      inflight = null;
    }
  };
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { timeout?: string } }>('/settled', async (req, reply) => {
      needAdmin(req);
      const timeoutMs = parseTimeout(req.query.timeout);
      const t0 = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      waiting++;
      let settled = false;
      try {
        settled = await Promise.race([settle().then(() => true), expired]);
        if (settled) return { settled: true, waitedMs: Math.round(performance.now() - t0) };
      } finally {
        clearTimeout(timer);
        if (settled) waiting--;
        else giveUp();
      }
      // Answered here, not thrown: a busy node is no server fault for the error handler to log.
      const busy = new TwinError('TWIN_NOT_SETTLED', `the node was still busy after ${timeoutMs} ms`, { timeoutMs });
      return reply.status(busy.status).send(busy.toJSON());
    });
  };
}

function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return SETTLE_TIMEOUT_MS;
  const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(ms >= 1 && ms <= MAX_SETTLE_TIMEOUT_MS)) {
    throw new TwinError(
      'TWIN_QUERY_INVALID',
      `timeout must be a whole number of ms from 1 to ${MAX_SETTLE_TIMEOUT_MS}, got "${raw}"`,
      { timeout: raw },
    );
  }
  return ms;
}
