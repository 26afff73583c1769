/**
 * A shard worker: owns the twins whose shard key hashes to its index, runs their turns
 * and writes their state. It speaks the batched protocol of ./protocol.ts with the main
 * thread, which routes events to it and forwards joins and commands between workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { workerLogger } from './worker-log.js';
import { ModelCatalog } from '../actors/catalog.js';
import { RealClock, SimulatedClock } from '../actors/clock.js';
import { ownedBy } from '../actors/ownership.js';
import { Ticket } from '../actors/work.js';
import { importModels } from './worker-models.js';
import { hasInternalMessage, type TwinError } from '../errors.js';
import type { LaneEvent } from '../lanes/events.js';
import type { TwinEvent } from '../model/twin-model.js';
import { MemoryStateStore } from '../store/memory-store.js';
import type { StateStore } from '../store/state-store.js';
import { LmdbStateStore } from '../store/lmdb-store.js';
import { PathFilter, shardKeyUpTo } from '../topology/index.js';
import { LocalShardHost, type HostObserver } from './shard-host.js';
import type { ErrorJson, FromWorker, ToWorker, ToWorkerBatch, WorkerInit } from './worker-protocol.js';
import { postBatch } from './worker-post.js';
import { EventColumnDecoder } from './event-columns.js';
import { loadWorkerExtension } from './worker-extension.js';

const init = workerData as WorkerInit;
const port = parentPort!;
// Lines go to the main thread's logger (not this thread's stdout), at once: a line logged
// while the worker starts must not wait for the first batch (there is no host yet).
const log = workerLogger(init.logLevel, init.index, (line) => port.postMessage({ messages: [line], counters: null }));

const catalog = new ModelCatalog(
  await importModels(init.models),
  init.shardKeyUpTo === undefined ? undefined : shardKeyUpTo(init.shardKeyUpTo),
);
const clock = init.simulatedStart !== undefined ? new SimulatedClock(init.simulatedStart) : new RealClock();
const extension = init.extension
  ? await loadWorkerExtension(init.extension, { catalog, log, index: init.index, count: init.count })
  : undefined;
const store: StateStore = extension
  ? extension.store
  : init.dataDir
    ? LmdbStateStore.open({
        path: init.dataDir,
        durability: init.durability,
        journalRetentionMs: init.journalRetentionMs,
        writerId: init.index,
      })
    : new MemoryStateStore();

let out: FromWorker[] = [];
let flushScheduled = false;
function send(message: FromWorker): void {
  out.push(message);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}
function flush(): void {
  flushScheduled = false;
  const messages = out;
  out = [];
  const counters = host.counters();
  postBatch(
    (m) => port.postMessage({ messages: m, counters }),
    messages,
    (m, err) => {
      // A model put something into a lane or a result that cannot leave the thread: say so
      // to the caller waiting for it instead of crashing the worker (a restart resends it).
      log.error({ kind: m.t, err: (err as Error)?.message }, 'message to the main thread could not be cloned; dropped');
      if (m.t === 'done')
        port.postMessage({
          messages: [
            {
              t: 'done',
              id: m.id,
              error: { code: 'TWIN_TURN_FAILED', message: 'the result cannot be passed between threads' },
            },
          ],
          counters,
        });
    },
  );
}

/** The twins this worker may start: the main thread routes by the same rule (ownerOf, or the extension's). */
const owns = extension ? (path: string) => extension.owns(path) : ownedBy(catalog, init.index, init.count);

const host = new LocalShardHost(
  {
    catalog,
    store,
    clock,
    log,
    owns,
    stepBudget: init.stepBudget,
    dedupeWindow: init.dedupeWindow,
    passivation: init.passivation,
    journal: init.journal,
    recoverJoins: init.recoverJoins === true && !extension,
    remoteAfterCommit: extension?.remoteAfterCommit,
    onRemote: (m) =>
      extension?.remote(m) ||
      send(
        m.kind === 'join'
          ? { t: 'join', parent: m.parent, lane: m.lane, child: m.child, value: m.value }
          : { t: 'remoteCommand', path: m.path, lane: m.lane, value: m.value },
      ),
    onOutput: (event) => send({ t: 'output', event }),
    onTurnError: (error, path) => send({ t: 'turnError', path, error: json(error) }),
  },
  store,
);

extension?.attach(host);
// With an extension the worker takes work the main thread never sent (cluster mode: its
// vshards' input from JetStream), so no answer carries its counters: report them anyway.
if (extension)
  setInterval(() => {
    if (!flushScheduled) port.postMessage({ messages: [], counters: host.counters() });
  }, 500).unref();

type Forwarder = HostObserver & { path?: string; lane: string; filter: boolean };
/** Links by the main thread's observer id, with the answer of the observe that made each. */
const observers = new Map<number, { forwarder: Forwarder; made: Promise<void> }>();

function json(error: unknown): ErrorJson {
  const e = error as TwinError;
  return {
    code: e.code ?? 'TWIN_TURN_FAILED',
    message: e.message ?? String(error),
    ...(e.details ? { details: { ...e.details } } : {}),
    // The cause does not cross the thread: say whether the message is one a client may see.
    ...(hasInternalMessage(error) && { internal: true as const }),
  };
}

function reply(id: number, work: Promise<unknown>): void {
  work.then(
    (result) => send({ t: 'done', id, result }),
    (error) => send({ t: 'done', id, error: json(error) }),
  );
}

function forwarder(oid: number, lane: string, filter: boolean, path?: string): Forwarder {
  return {
    lane,
    filter,
    path,
    onEvent: (event: LaneEvent, from: string) => send({ t: 'lane', oid, path: from, event }),
    useStreamBuffer: () => send({ t: 'streamBuffer', oid }),
  };
}

/** The strings the main thread's event columns refer to (see event-columns.ts). */
const columns = new EventColumnDecoder();

port.on('message', (batch: ToWorkerBatch) => {
  // Virtual time follows the main thread: timers due up to `now` fire before the batch.
  if (batch.now !== undefined && clock instanceof SimulatedClock && batch.now > clock.now()) clock.advanceTo(batch.now);
  const { requests, events } = batchEvents(batch);
  if (events.length > 0) {
    // One ticket for the batch's events: it settles after the commit that holds them all.
    const ticket = new Ticket(events.length);
    for (let k = 0; k < events.length; k++) host.submitEvent(events[k]!, ticket, k);
    ticket.promise.then(
      (t) => {
        // The accepted ones as one list of ids (a replay step is hundreds of events); each rejected one with its error.
        const failed = t.rejected.length > 0 ? new Map(t.rejected.map((r) => [r.index, r.error])) : null;
        const ids: number[] = [];
        for (let k = 0; k < events.length; k++) {
          const error = failed?.get(k);
          if (error) send({ t: 'done', id: requests[k]!, error: json(error) });
          else ids.push(requests[k]!);
        }
        if (ids.length > 0) send({ t: 'doneIds', ids });
      },
      (error) => {
        for (const id of requests) send({ t: 'done', id, error: json(error) });
      },
    );
  }
  for (const m of batch.messages) handle(m);
  // An unobserve has no answer to carry the counters: report the observer gauge anyway.
  if (!flushScheduled && batch.messages.some((m) => m.t === 'unobserve')) {
    flushScheduled = true;
    setImmediate(flush);
  }
});

/**
 * A batch's events and the request id of each: its columns, then any `event` messages (a
 * batch the main thread had to post message by message; the two never come together).
 */
function batchEvents(batch: ToWorkerBatch): { requests: number[]; events: TwinEvent[] } {
  // The arrays are this thread's copies (cloned in), so they can be extended in place.
  const events = batch.events ? columns.decode(batch.events) : [];
  const requests = batch.events ? (batch.events.requests as number[]) : [];
  for (const m of batch.messages) {
    if (m.t !== 'event') continue;
    requests.push(m.id);
    events.push(m.event);
  }
  return { requests, events };
}

/** What the live set was when the main thread last got it: twins started, stopped, live. */
let reportedLive = '';

/**
 * The live paths for a settle's answer, or null when the live set cannot have changed since
 * the last answer (the main thread keeps the copy it has). A replay settles every step: at
 * 40 k live twins, copying every path each time cost more than the step itself. Twins join
 * the set only by starting (counted) and leave it by stopping (counted) or by an eviction
 * (fewer live), so equal counts mean the same set.
 */
function activePathsIfChanged(): string[] | null {
  const c = host.counters();
  const now = `${c.started}:${c.stopped}:${c.activeTwins}`;
  if (now === reportedLive) return null;
  reportedLive = now;
  return host.activePaths();
}

function handle(m: ToWorker): void {
  switch (m.t) {
    case 'event':
      return; // submitted above, as one batch
    case 'command': {
      const ticket = new Ticket(1);
      host.submitCommand(m.path, m.lane, m.value, ticket, m.key);
      reply(
        m.id,
        ticket.promise.then((t) => {
          if (t.rejected[0]) throw t.rejected[0].error;
        }),
      );
      return;
    }
    case 'remoteCommand':
      host.submitCommand(m.path, m.lane, m.value, new Ticket(1));
      return;
    case 'join':
      host.shard.acceptRemoteJoin(m.parent, m.lane, m.child, m.value);
      return;
    case 'stop':
      return reply(m.id, host.stop(m.path));
    case 'read':
      return reply(m.id, host.read(m.path, m.lanes, m.release));
    case 'observe':
    case 'observeFilter': {
      // One link per oid: a second observe of it (sent again after a restart) is the same
      // link and answers when the first does. Registering it twice would leave one
      // forwarder behind at unobserve, forwarding (and holding its twin) forever.
      const known = observers.get(m.oid);
      if (known) return reply(m.id, known.made);
      const o = forwarder(m.oid, m.lane, m.t === 'observeFilter', m.t === 'observe' ? m.path : undefined);
      const made =
        m.t === 'observe'
          ? host.observe(m.path, m.lane, o)
          : host.observeFilter(PathFilter.parse(m.filter, m.within), m.lane, o, m.limit);
      observers.set(m.oid, { forwarder: o, made });
      // A link that could not be made holds nothing (the main thread sends no unobserve for it).
      made.catch(() => observers.get(m.oid)?.made === made && observers.delete(m.oid));
      return reply(m.id, made);
    }
    case 'unobserve': {
      const o = observers.get(m.oid)?.forwarder;
      observers.delete(m.oid);
      if (o?.filter) host.unobserveFilter(o);
      else if (o?.path) host.unobserve(o.path, o.lane, o);
      return;
    }
    case 'count':
      return reply(
        m.id,
        Promise.resolve().then(() => host.countMatches(PathFilter.parse(m.filter, m.within), m.cap)),
      );
    case 'list':
      return reply(m.id, host.list(PathFilter.parse(m.filter, m.within), m.limit));
    case 'history':
      return reply(m.id, host.history(m.path, m.query));
    case 'warm':
      return reply(m.id, host.warm(m.prefix));
    case 'settle':
      return reply(
        m.id,
        host.settle().then(() => activePathsIfChanged()),
      );
    case 'resendJoins':
      // Placement is ownerOf here (a worker with an extension places by its own rule and is
      // never asked: see WorkerShardHost.restart).
      return reply(m.id, host.shard.resendJoins(ownedBy(catalog, m.parentsOn, init.count)));
    case 'extension':
      return reply(
        m.id,
        extension ? extension.control(m.message) : Promise.reject(new Error('this worker runs no extension')),
      );
    case 'close':
      return reply(
        m.id,
        host.close().then(() => extension?.close()),
      );
  }
}
