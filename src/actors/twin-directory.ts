import { TwinError } from '../errors.js';
import type { StateStore, StoredTwin } from '../store/state-store.js';
import { PathMap } from '../topology/path-map.js';
import { TwinPath, type PathFilter } from '../topology/index.js';
import { textDepth, type ModelCatalog } from './catalog.js';
import { Twin, type TurnEnv } from './twin.js';

/** Bound of the parent-interning and ownership caches (cleared when they grow past it). */
const CACHE_LIMIT = 100_000;

/**
 * Which twins a shard has live, and how a new one is made: its model, its parent link,
 * whether this shard owns a path, and which stopped twins still have their final writes
 * in flight. It runs no turns; the shard starts and stops twins and asks it the rest.
 */
export class TwinDirectory {
  /** Live twins by path (also those still loading their state). */
  readonly live = new PathMap<Twin>();
  /** One string per parent path, shared by its children (see {@link TwinDirectory.intern}). */
  private readonly parents = new Map<string, string>();
  private readonly ownership = new Map<string, boolean>();
  /** The parent {@link TwinDirectory.intern} returned last. */
  private lastParent: string | undefined = undefined;
  /** Stopped twins whose final writes are not committed yet: a restart must wait for them. */
  private readonly stopping = new Map<string, Promise<void>>();
  /** The env of {@link TwinDirectory.peek}ed twins: they never run a turn, so nothing reaches the shard. */
  private readonly inert: TurnEnv;

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly store: StateStore,
    /** Twins call back into their shard through this during turns. */
    private readonly env: TurnEnv,
    /** With several shards: whether this one owns a path (see ShardOptions.owns). */
    private readonly owns: ((path: string) => boolean) | undefined,
    /** Told about each start refused because another shard owns the twin (see {@link TwinDirectory.create}). */
    private readonly refused: (path: string) => void = () => undefined,
  ) {
    const noop = (): void => undefined;
    this.inert = {
      clock: env.clock,
      log: env.log,
      noteChange: noop,
      emit: noop,
      sendCommand: noop,
      armTimer: noop,
      samplesDropped: noop,
    };
  }

  get size(): number {
    return this.live.size;
  }

  get(path: string): Twin | undefined {
    return this.live.get(path);
  }

  /** True when a path is owned here. Cached: parents are few and asked about on every change. */
  isLocal(path: string): boolean {
    const owns = this.owns;
    if (!owns) return true;
    let local = this.ownership.get(path);
    if (local === undefined) {
      if (this.ownership.size >= CACHE_LIMIT) this.ownership.clear();
      this.ownership.set(path, (local = owns(path)));
    }
    return local;
  }

  /** What this shard owns changed (a cluster vshard came or went): forget the cached answers. */
  ownershipChanged(): void {
    this.ownership.clear();
  }

  /**
   * True when a stored twin may be started by a warm: not live, not still stopping, and
   * owned here (known for the whole subtree when `owned`; otherwise asked per path, without
   * caching: a warm visits each path once, and would only flush the cache of parents).
   */
  canWarm(path: string, owned: boolean): boolean {
    return !this.live.has(path) && !this.stopping.has(path) && (owned || this.owns === undefined || this.owns(path));
  }

  /** True when this shard owns every twin at or below `prefix` (one shard key covers it). */
  ownsSubtree(prefix: string): boolean {
    if (this.owns === undefined) return true;
    if (prefix === '') return false;
    const at = TwinPath.parse(prefix);
    return this.catalog.subtreeShardKey(at) !== undefined && this.owns(at.text);
  }

  /**
   * A new, not yet started twin for a path, linked to its parent. For a path no route
   * matches: throws, or returns null when `required` is false (stored data of a model
   * that was removed).
   *
   * Every way a twin starts (event, command, read, link, timer, join, warm) makes it
   * here, so this is where ownership is enforced: a path another shard owns is refused
   * with TWIN_NOT_OWNER (and counted), whoever asked. A second live copy of a twin
   * would answer with stale state and later write it over acknowledged data.
   *
   * `path` is canonical text (a work item's path, or a `TwinPath`'s text): callers with
   * text from elsewhere (stored keys) parse it first.
   */
  create(path: string): Twin;
  create(path: string, required: false): Twin | null;
  create(path: string, required = true): Twin | null {
    // Not the isLocal cache: a warm creates thousands of twins once each and would flush it.
    if (this.owns !== undefined && !this.owns(path)) {
      this.refused(path);
      throw new TwinError('TWIN_NOT_OWNER', `this shard does not own ${path}`, { path });
    }
    // Routes are tested on the text (every activation comes here: no TwinPath, no segment array).
    const depth = textDepth(path);
    const model = this.catalog.modelOfText(path, depth);
    if (!model) {
      if (!required) return null;
      throw new TwinError('TWIN_NO_ROUTE', `no model is routed to ${path}`, { path });
    }
    const twin = new Twin(path, model, this.env);
    const parent = this.catalog.parentOfText(path, depth, model);
    if (parent) {
      twin.parent = this.intern(parent.path);
      // With several shards, joins to a parent under another shard key always travel as
      // messages, even when this shard owns it: one rule, so results cannot depend on
      // which worker happens to own what.
      twin.parentRemote =
        this.owns !== undefined &&
        this.catalog.shardKey(TwinPath.parse(path), model) !==
          this.catalog.shardKey(TwinPath.parse(parent.path), parent.model);
      twin.upJoins = this.catalog.upJoins(model, parent.model);
    }
    return twin;
  }

  /** The stored state of a twin about to start, read after its last stop committed. */
  load(path: string): StoredTwin | undefined | Promise<StoredTwin | undefined> {
    const previous = this.stopping.get(path);
    return previous ? previous.then(() => this.store.load(path)) : this.store.load(path);
  }

  /** Stopped twins whose final writes are readable once `readable` resolves: a restart waits for it (see {@link TwinDirectory.load}). */
  stopped(paths: readonly string[], readable: Promise<void>): void {
    for (const path of paths) this.stopping.set(path, readable);
  }

  /** Their final writes are readable: they start straight from the store again. */
  released(paths: readonly string[], readable: Promise<void>): void {
    for (const path of paths) if (this.stopping.get(path) === readable) this.stopping.delete(path);
  }

  /**
   * Paths of the twins this shard owns that a filter matches, live or stored, each once
   * (live first), at most `cap` + 1 of them: one more than `cap` tells the caller the
   * filter matches too many, without listing the rest of a large store. Stored twins of
   * other shards are not this shard's to list, link or start (see {@link TwinDirectory.create}).
   */
  candidatePaths(filter: PathFilter, cap = Infinity): string[] {
    const prefix = filter.literalPrefix?.text ?? '';
    const out: string[] = [];
    for (const path of this.live.pathsUnder(prefix)) {
      if (out.length > cap) return out;
      if (filter.matches(TwinPath.parse(path))) out.push(path);
    }
    for (const path of this.store.list(prefix)) {
      if (out.length > cap) return out;
      if (this.live.has(path)) continue;
      let at: TwinPath;
      try {
        at = TwinPath.parse(path);
      } catch {
        continue; // a stored key that is no valid path (see warm): nothing a filter can name
      }
      if (filter.matches(at) && (this.owns === undefined || this.owns(at.text))) out.push(path);
    }
    return out;
  }

  /**
   * A twin restored from its stored record for reading one of its stored lanes, never
   * started: no onStart, not live, no timers armed, nothing written. Lets a wildcard link
   * sync a stored twin without a live copy; null for a path of no model.
   */
  peek(path: TwinPath, stored: StoredTwin): Twin | null {
    const model = this.catalog.modelOf(path);
    if (!model) return null;
    const twin = new Twin(path.text, model, this.inert);
    twin.restore(stored);
    return twin;
  }

  /** Whether a twin is stopped with its final writes not yet readable (a read must wait: {@link TwinDirectory.load}). */
  isStopping(path: string): boolean {
    return this.stopping.has(path);
  }

  /**
   * One string per parent path, shared by all its children (a room's four sensors would
   * otherwise each hold their own copy). Bounded: cleared when it grows past its limit.
   */
  private intern(path: string): string {
    // Siblings usually start one after another (a room's sensors): same parent as the last.
    const last = this.lastParent;
    if (last !== undefined && last.length === path.length && last === path) return last;
    this.lastParent = path = this.internNew(path);
    return path;
  }

  private internNew(path: string): string {
    const live = this.live.get(path);
    if (live) return live.path;
    const known = this.parents.get(path);
    if (known !== undefined) return known;
    if (this.parents.size >= CACHE_LIMIT) this.parents.clear();
    this.parents.set(path, path);
    return path;
  }
}
