import { ModelCatalog } from '../actors/catalog.js';
import { RealClock, type Clock } from '../actors/clock.js';
import { Ticket } from '../actors/work.js';
import type { DerivedEvent, TwinEvent, TwinLogger } from '../model/twin-model.js';
import { own } from '../actors/own.js';
import { TwinError, toTwinError } from '../errors.js';
import type { LaneEvent, LaneKind } from '../lanes/events.js';
import type { ValueSpec } from '../model/lane-specs.js';
import type { HistoryPage } from '../store/state-store.js';
import { JournalReads, type HistoryOptions, type ReadAtOptions } from './journal-reads.js';
import { normalisePath, PathFilter, TwinPath } from '../topology/index.js';
import { commandAsEvent } from './recorded-command.js';
import { EventNormaliser, type EventInput } from '../actors/event-input.js';
import { checkPayload, DEFAULT_MAX_PAYLOAD_DEPTH } from '../store/plain-data.js';
import { FilterLink } from './filter-link.js';
import { OutputListeners } from './output-listeners.js';
import { IngestedListeners } from './ingested-listeners.js';
import { Link } from './link.js';
import { createLogger } from '../logger.js';
import type { ShardHost, TwinSnapshot } from '../hosting/shard-host.js';
import { hostFor } from './runtime-host.js';
import { WorkerShardHost } from '../hosting/worker-host.js';
import { ClusterShardHost } from '../cluster/cluster-host.js';
import { resolveModels } from './runtime-models.js';
import {
  checkRuntimeOptions,
  DEFAULT_HELD_OUTPUTS,
  DEFAULT_MAX_LINK_TWINS,
  type CommandOptions,
  type IngestReport,
  type LinkOptions,
  type MatchOptions,
  type RuntimeOptions,
  type RuntimeStats,
} from './runtime-options.js';

/** What an idempotency key may hold (printable ASCII, as an HTTP header value). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;

export type { TwinSnapshot } from '../hosting/shard-host.js';
export type { HistoryPage } from '../store/state-store.js';
export { DEFAULT_HELD_OUTPUTS, type RuntimeOptions } from './runtime-options.js';

/**
 * A twinflow runtime in this process: ingest events, send commands, read and link lanes.
 *
 * @example
 * ```ts
 * import { createRuntime } from 'twinflow';
 * import { buildingModels } from 'twinflow/models';
 * const rt = createRuntime({ models: buildingModels });
 * await rt.ingest({ subject: '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4/sensors/occupancy', data: { occupied: true } });
 * (await rt.read('/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4')).lanes.occupied; // true
 * ```
 */
export class Runtime {
  /** Journal every committed turn (history and `?at=` reads); without it those reads are TWIN_JOURNAL_DISABLED. */
  readonly journal: boolean;
  readonly clock: Clock;
  readonly log: TwinLogger;
  readonly catalog: ModelCatalog;
  private readonly host: ShardHost;
  private readonly normaliser: EventNormaliser;
  private readonly journalReads: JournalReads;
  private readonly maxPayloadDepth: number;
  private readonly errorListeners = new Set<(e: TwinError, path: string) => void>();
  /** Listeners of derived events, behind the gate that holds them until someone listens. */
  private readonly outputs: OutputListeners;
  private readonly ingested = new IngestedListeners();
  private closed = false;
  /** See {@link RuntimeOptions.maxLinkTwins}. */
  readonly maxLinkTwins: number;

  constructor(options: RuntimeOptions) {
    checkRuntimeOptions(options);
    this.maxLinkTwins = options.maxLinkTwins ?? DEFAULT_MAX_LINK_TWINS;
    this.clock = options.clock ?? new RealClock();
    this.journal = options.journal === true;
    this.log = options.logger ?? createLogger();
    const resolved = resolveModels(options);
    this.catalog = new ModelCatalog(resolved.models, resolved.shardKey);
    this.maxPayloadDepth = options.maxPayloadDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH;
    this.normaliser = new EventNormaliser(() => this.clock.now(), this.maxPayloadDepth);
    this.outputs = new OutputListeners(options.heldOutputs ?? DEFAULT_HELD_OUTPUTS, this.log);
    // Every derived event of every host (this thread, workers, cluster) goes through the listeners' gate.
    this.host = hostFor(
      options,
      resolved,
      { catalog: this.catalog, clock: this.clock, log: this.log },
      {
        onOutput: (e) => this.outputs.output(e, false),
        onSpaceOutput: (e) => this.outputs.output(e, true),
        onTurnError: (e, path) => {
          for (const l of this.errorListeners) l(e, path);
        },
      },
    );
    this.journalReads = new JournalReads(this.host, (path) => this.read(path));
  }

  /**
   * Delivers events to their twins. Resolves once every accepted event's effects are
   * committed to the store; events that are invalid, unroutable or rejected by their
   * model are reported with their index, and never affect the others.
   */
  async ingest(input: EventInput | readonly EventInput[]): Promise<IngestReport> {
    this.assertOpen();
    const list = Array.isArray(input) ? (input as readonly EventInput[]) : [input as EventInput];
    const ticket = new Ticket(list.length);
    // Only with a listener (a recorder): otherwise the hot path pays one size check.
    const seen = this.ingested.track(list.length);
    for (let i = 0; i < list.length; i++) {
      let event;
      try {
        event = this.normaliser.event(list[i]!);
      } catch (err) {
        ticket.done(i, toTwinError(err, 'TWIN_EVENT_INVALID'));
        continue;
      }
      if (seen) seen.events[i] = event;
      this.host.submitEvent(event, ticket, i);
    }
    if (ticket.complete) {
      if (seen) this.ingested.report(seen, ticket.rejected);
      return { accepted: 0, rejected: ticket.rejected };
    }
    await this.ingested.committed(ticket, seen);
    return {
      accepted: list.length - ticket.rejected.length,
      rejected: ticket.rejected.sort((a, b) => a.index - b.index),
    };
  }

  /**
   * Calls `listener` once per ingest call with its accepted events (normalised: path, time
   * and id filled in), once their effects are committed, in arrival order across
   * concurrent calls. Redeliveries that were deduplicated are included (they were
   * acknowledged); events that were invalid or rejected by their model are not. The
   * recorder uses this; one call is one batch, which replay can reproduce as one step.
   *
   * @example
   * ```ts
   * const off = rt.onIngested((events) => writer.appendBatch(events));
   * ```
   */
  onIngested(listener: (events: readonly TwinEvent[]) => void): () => void {
    return this.ingested.add(listener);
  }

  /**
   * Sends a command to a command lane (or sets a value lane); rejects with a TwinError.
   * With an `onIngested` listener (a recorder), an accepted command is reported there too,
   * as an event of type `twinflow.command`, in arrival order with the events.
   * `fromClient` marks a command from the network (HTTP, WARP): it may set only value
   * lanes declared `writable`, never the state a model computes.
   */
  async command(path: string, lane: string, value: unknown, options: CommandOptions = {}): Promise<void> {
    this.assertOpen();
    const ticket = new Ticket(1);
    const target = this.normaliser.path(path);
    checkPayload(value, this.maxPayloadDepth, 'the command value');
    if (options.fromClient) this.assertClientWritable(target, lane);
    const key = options.idempotencyKey;
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
      throw new TwinError('TWIN_QUERY_INVALID', 'an idempotency key is 1-256 printable ASCII characters');
    const seen = this.ingested.active
      ? this.ingested.push([commandAsEvent(target, lane, value, this.clock.now(), this.normaliser.nextId())])
      : null;
    this.host.submitCommand(target, lane, value, ticket, key);
    await this.ingested.committed(ticket, seen);
    const failure = ticket.rejected[0];
    if (failure) throw failure.error;
  }

  /**
   * The state of a twin (starting it if needed), optionally only some lanes. With
   * `release`, a twin the read had to start stops again right after (persisted, memory
   * freed): how a subtree query reads thousands of stored twins without keeping them live.
   */
  read(path: string, lanes?: readonly string[], options?: { release?: boolean }): Promise<TwinSnapshot> {
    try {
      this.assertOpen();
      // Not the normaliser's cache: reads of many distinct paths (a restore, a subtree query)
      // would each leave an entry there, and checking a path costs less than caching it.
      return this.host.read(normalisePath(path), lanes, options?.release === true);
    } catch (err) {
      return Promise.reject(err); // as an async function would: callers may not expect a throw
    }
  }

  /** The current value of one lane. */
  async get(path: string, lane: string): Promise<unknown> {
    return (await this.read(path, [lane])).lanes[lane];
  }

  /**
   * Links to a lane: its current state, then every change. Pass a callback, or iterate
   * the returned {@link Link} with `for await` (break to unlink).
   */
  link(path: string, lane: string, callback?: (event: LaneEvent) => void, options?: LinkOptions): Link {
    this.assertOpen();
    if (PathFilter.isFilter(path))
      throw new TwinError('TWIN_PATH_INVALID', `"${path}" is a wildcard filter: use linkFilter`, { path });
    const target = this.normaliser.path(path);
    const link = new Link(
      target,
      lane,
      (l) => this.host.unobserve(l.path, l.lane, l),
      callback,
      undefined,
      options?.onSynced,
    );
    this.host.observe(target, lane, link).catch((err) => link.fail(err));
    return link;
  }

  /**
   * Links to `lane` of every twin matching a wildcard filter (see {@link FilterLink}).
   * Twins of models without that lane are skipped. Stored twins are synced from the store,
   * not started. More than `limit` (default `maxLinkTwins`) matching twins fail the link
   * with TWIN_TOO_MANY_TWINS (its `synced` rejects) before anything is sent.
   */
  linkFilter(
    filter: string,
    lane: string,
    callback?: (event: LaneEvent, path: string) => void,
    options: MatchOptions = {},
  ): FilterLink {
    this.assertOpen();
    const parsed = PathFilter.parse(filter, options.within);
    const link = new FilterLink(
      parsed.text,
      lane,
      (l) => this.host.unobserveFilter(l),
      callback,
      (path) => this.laneKind(path, lane),
    );
    this.host.observeFilter(parsed, lane, link, options.limit ?? this.maxLinkTwins).then(
      () => link.onSynced(),
      (err) => link.fail(err),
    );
    return link;
  }

  /**
   * The kind of `lane` on the model routed to `path`, from the catalog (no round trip to the
   * shard that owns the twin); undefined for an unknown lane or an invalid path. Links use it
   * to pick how they buffer: command and supply lanes queue, the others conflate.
   */
  laneKind(path: string, lane: string): LaneKind | undefined {
    try {
      const lanes = this.catalog.resolve(TwinPath.parse(path))?.model.def.lanes;
      return lanes && Object.hasOwn(lanes, lane) ? lanes[lane]!.kind : undefined;
    } catch {
      return undefined; // not a valid path: the link fails on its own
    }
  }

  /** Refuses a client's command to a value lane its model did not declare writable. */
  private assertClientWritable(path: string, lane: string): void {
    const spec = own(this.catalog.modelOf(TwinPath.parse(path))?.def.lanes, lane);
    if (spec?.kind !== 'value' || (spec as ValueSpec<unknown>).writable) return; // command lanes (and unknown ones) are the shard's to judge
    throw new TwinError(
      'TWIN_LANE_KIND',
      `lane "${lane}" of ${path} is a value lane the model computes; clients may not set it (declare it value(…, { writable: true }) to allow)`,
      { path, lane },
    );
  }

  /** True when a model is routed to `path` (false for malformed paths too). */
  isRouted(path: string): boolean {
    try {
      return this.catalog.resolve(TwinPath.parse(path)) !== null;
    } catch {
      return false;
    }
  }

  /**
   * One page of a twin's journal between two clock times (inclusive), oldest first, with
   * the cursor of the following page (see {@link JournalReads.history}). Needs the journal.
   *
   * @example
   * ```ts
   * let page = await rt.history(path, { from: Date.now() - 3_600_000 });
   * while (page.next !== null) page = await rt.history(path, { from: Date.now() - 3_600_000, cursor: page.next });
   * ```
   */
  async history(path: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    this.assertJournal(); // (async: a refusal is a rejected promise, as from every Runtime read)
    return this.journalReads.history(this.normaliser.path(path), options);
  }

  /**
   * A twin's state as of clock time `at`: its current state rolled back through the
   * journal entries after `at` (see {@link JournalReads.readAt}; at most `maxEntries`,
   * default `MAX_ROLLBACK_ENTRIES`, else TWIN_QUERY_INVALID). Needs the journal.
   */
  async readAt(path: string, at: number, options: ReadAtOptions = {}): Promise<TwinSnapshot> {
    this.assertJournal(); // before the read: without a journal "as of" would silently be "now"
    return this.journalReads.readAt(this.normaliser.path(path), at, options);
  }

  /**
   * Calls `listener` with every derived event, after the turn that emitted it committed.
   * In cluster mode these are the outputs of the twins this node runs, so a webhook or an
   * external broker fed from every node gets each once; with `space: true` also those of
   * the twins other nodes run, relayed over NATS at most once (what an embedded broker's
   * subscribers and `/signals` readers of any node expect). Without a cluster both are the same.
   *
   * No derived event goes to nobody while a runtime starts: twins emit before anyone could
   * subscribe (timers that came due while a node was down fire as soon as its shards start,
   * on this thread or in the workers). Until the first listener subscribes the runtime holds
   * what is emitted (at most `heldOutputs`, default {@link DEFAULT_HELD_OUTPUTS}; past it the
   * oldest are dropped and counted in {@link outputsHeldDropped}) and hands it over, in order,
   * one microtask after that subscription, to every listener subscribed by then. So subscribe
   * every listener in one synchronous run, or take {@link holdOutputs} first when there are
   * awaits between them.
   */
  onOutput(listener: (event: DerivedEvent) => void, options: { space?: boolean } = {}): () => void {
    return this.outputs.subscribe(listener, options.space === true);
  }

  /**
   * Holds every derived event (at most `heldOutputs`) until the returned function is called,
   * then hands them, in order, to every {@link onOutput} listener subscribed by then; later
   * events go out as they come. For an embedder that subscribes its listeners with awaits
   * between them (startNode: `/signals`, then webhooks and MQTT outputs once the broker is
   * up): take it right after createRuntime, release it once all are subscribed, and each of
   * them gets every event from the start. Holds nest; calling a release again does nothing.
   * With `heldOutputs: 0` nothing is held.
   *
   * @example
   * ```ts
   * const rt = createRuntime({ models, store });
   * const release = rt.holdOutputs();
   * rt.onOutput(toSignals, { space: true });
   * await broker.listening;
   * rt.onOutput(toBroker);
   * release(); // both get the sensor.offline of timers that came due while the node was down
   * ```
   */
  holdOutputs(): () => void {
    return this.outputs.hold();
  }

  /** Derived events held now for listeners to come (see {@link holdOutputs}). */
  get outputsHeld(): number {
    return this.outputs.held;
  }

  /** Derived events dropped (oldest first) because more than `heldOutputs` were held at once. */
  get outputsHeldDropped(): number {
    return this.outputs.dropped;
  }

  /** Calls `listener` when a handler throws (the turn was rolled back). */
  onTurnError(listener: (error: TwinError, path: string) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Stops a twin: runs `onStop`, persists it and frees its memory. It restarts on demand. */
  async stop(path: string): Promise<void> {
    this.assertOpen();
    await this.host.stop(this.normaliser.path(path));
  }

  /**
   * Starts every stored twin at and under `prefix` that is not live yet, reading the store
   * sequentially: bring a building (or everything, with '/') back after a restart before
   * its traffic arrives. Twins start as on demand (state restored, `onStart`, parent told).
   * Resolves with how many started. Passivation still applies: warming more twins than
   * `maxActive` keeps only the most recent ones live.
   *
   * @example
   * ```ts
   * await rt.warm('/org/contoso/site/berlin/building/41'); // e.g. 25 000 twins
   * ```
   */
  async warm(prefix: string): Promise<number> {
    this.assertOpen();
    return this.host.warm(prefix === '/' || prefix === '' ? '' : this.normaliser.path(prefix));
  }

  /**
   * Resolves when the runtime is quiet: every shard's inbox ran, the joins and commands
   * between shards (worker threads) were delivered and applied, and every commit finished.
   * An acknowledgement ({@link ingest} resolving, HTTP 202, an MQTT PUBACK) means the
   * event's own twin applied it (and, with strict durability, it is on disk); parents on
   * other shards (a site above a building) follow eventually. After `settle()`, everything
   * acknowledged before it is reflected in every aggregate. Under continuous traffic it
   * waits for a pause; `signal` stops the waiting (it rejects with the signal's reason). The
   * HTTP form is `GET /settled` (docs/http-api.md).
   *
   * @example
   * ```ts
   * await rt.ingest({ subject: '/org/o/site/s/building/1/floor/1/unit/a/room/1/sensors/fire', data: { alarm: true } });
   * await rt.settle();
   * await rt.get('/org/o/site/s', 'alarm'); // true, whatever the worker count
   * ```
   */
  settle(signal?: AbortSignal): Promise<void> {
    return this.host.settle(signal);
  }

  /**
   * Resolves once the runtime can serve: on the main thread at once; with worker threads
   * once every worker answered (it imported the models and opened its store: one settle
   * round); in cluster mode once it joined (NATS connected, streams there). Rejects with
   * the reason it cannot serve (a worker that cannot start, a cluster it cannot join).
   */
  async ready(): Promise<void> {
    if (this.host instanceof ClusterShardHost) await this.host.ready;
    else if (this.host instanceof WorkerShardHost) await this.host.settle();
  }

  /** This node's cluster host (cluster mode), for status and metrics; undefined otherwise. */
  get cluster(): ClusterShardHost | undefined {
    return this.host instanceof ClusterShardHost ? this.host : undefined;
  }

  /** Live twins, counters and turn latency quantiles (ns). */
  stats(): RuntimeStats {
    return this.host.counters();
  }

  /** Paths of the live twins. */
  activePaths(): string[] {
    return this.host.activePaths();
  }

  /**
   * Live and stored twins whose path matches a filter (`*` one segment, `**` any depth),
   * sorted by path, with their model names. Stored twins are listed, not started. More
   * than `limit` (default `maxLinkTwins`) matches reject with TWIN_TOO_MANY_TWINS.
   *
   * @example
   * ```ts
   * (await rt.listTwins('/org/contoso/site/berlin/building/41/**')).filter((t) => t.model === 'room');
   * ```
   */
  async listTwins(filter: string, options: MatchOptions = {}): Promise<{ path: string; model: string }[]> {
    const out: { path: string; model: string }[] = [];
    for (const path of await this.host.list(
      PathFilter.parse(filter, options.within),
      options.limit ?? this.maxLinkTwins,
    )) {
      const model = this.catalog.resolve(TwinPath.parse(path))?.model.name;
      if (model !== undefined) out.push({ path, model });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.host.close();
    // Still held now means nobody subscribed (or a hold was never released): nobody will.
    this.outputs.clear();
  }

  /** Without the journal there is no history: an empty answer would read as "nothing happened". */
  private assertJournal(): void {
    if (!this.journal)
      throw new TwinError(
        'TWIN_JOURNAL_DISABLED',
        'reads of past state and history need the journal: start the node with --journal (startNode({ journal: true }))',
      );
  }

  private assertOpen(): void {
    if (this.closed) throw new TwinError('TWIN_RUNTIME_CLOSED');
  }
}

/** Creates a runtime (see {@link Runtime}). */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}
