import type { LaneEvent } from '../protocol/lane-events.js';
import { outboxFor, type Outbox } from './outbox.js';

/** The lane kind of the twin at `path` (`command`/`supply` are streams; undefined: unknown, treated as state). */
export type KindOf = (path: string) => string | undefined;

/**
 * Where {@link LinkOutbox.drain} puts events. An object with a method rather than a
 * callback: the fan-out path drains every subscriber's outbox, and one sink class keeps
 * that call site monomorphic (a closure per subscriber would not be).
 */
export interface EventSink {
  /** Takes one event of the twin at `path`; false when it has no room for more. */
  accept(event: LaneEvent, path: string): boolean;
}

/**
 * Everything one link has not delivered yet: one {@link Outbox} for a link to one twin, one
 * per twin for a wildcard link (created on a twin's first pending event, dropped once it
 * has been drained). Each outbox conflates or queues by its lane kind, so a consumer that
 * falls behind costs at most twins × keys (state) or twins × `streamLimit` (streams),
 * whatever the update rate. Every consumer of lane events uses this one structure: runtime
 * links and filter links for `for await`, WARP uplinks for their sockets.
 *
 * Twins are drained in the order their first pending event arrived; within a twin, as its
 * outbox orders them. The counters survive draining and {@link LinkOutbox.discard}.
 *
 * @example
 * ```ts
 * const box = LinkOutbox.perTwin(() => 'value', 256);
 * box.push({ type: 'value', value: 1 }, '/a'); box.push({ type: 'value', value: 2 }, '/a');
 * box.drain({ accept: (event, path) => { send(path, event); return true; } }); // sends /a 2 only
 * box.conflated; // 1
 * ```
 */
export class LinkOutbox {
  /** The one outbox of a link to one twin (null for a wildcard link). */
  private solo: Outbox | null;
  private readonly soloPath: string;
  private readonly byPath: Map<string, Outbox> | null;
  private readonly kindOf: KindOf | null;
  private readonly streamLimit: number;
  /** Counters of outboxes already drained and dropped. */
  private conflatedBefore = 0;
  private droppedBefore = 0;
  private lastPath = '';

  private constructor(solo: Outbox | null, soloPath: string, kindOf: KindOf | null, streamLimit: number) {
    this.solo = solo;
    this.soloPath = soloPath;
    this.kindOf = kindOf;
    this.streamLimit = streamLimit;
    this.byPath = solo === null ? new Map() : null;
  }

  /**
   * The outbox of a link to the twin at `path` whose lane is of `kind` (undefined: not known
   * yet, see {@link LinkOutbox.useStream}). Every event pushed is that twin's.
   *
   * @example
   * ```ts
   * const box = LinkOutbox.single('/a', 'command', 256);
   * ```
   */
  static single(path: string, kind: string | undefined, streamLimit: number): LinkOutbox {
    return new LinkOutbox(outboxFor(kind, streamLimit), path, null, streamLimit);
  }

  /**
   * The outbox of a wildcard link: one outbox per twin, of the kind `kindOf(path)` says.
   *
   * @example
   * ```ts
   * const box = LinkOutbox.perTwin((path) => catalogKind(path, 'alerts'), 256);
   * ```
   */
  static perTwin(kindOf: KindOf, streamLimit: number): LinkOutbox {
    return new LinkOutbox(null, '', kindOf, streamLimit);
  }

  /** Pending events (O(twins) for a wildcard link). */
  get size(): number {
    if (this.solo) return this.solo.size;
    let n = 0;
    for (const box of this.byPath!.values()) n += box.size;
    return n;
  }

  /** True when nothing is pending (O(1)). */
  get empty(): boolean {
    return this.solo ? this.solo.size === 0 : this.byPath!.size === 0;
  }

  /** State events replaced by newer ones (or dropped by a `clear`) before they were taken. */
  get conflated(): number {
    return this.conflatedBefore + this.sumLost(false);
  }

  /** Stream (command, supply) events dropped because a queue was full. */
  get dropped(): number {
    return this.droppedBefore + this.sumLost(true);
  }

  /** True while a stream queue of this link has dropped events and not yet been emptied. */
  get overflowing(): boolean {
    if (this.solo) return this.solo.overflowing;
    for (const box of this.byPath!.values()) if (box.overflowing) return true;
    return false;
  }

  /**
   * A link to one twin learned that its lane is a command or supply lane: from now on its
   * events queue (at most `limit`) instead of conflating. Pending events move over.
   */
  useStream(limit: number): void {
    if (!this.solo || this.solo.stream) return;
    const next = outboxFor('command', limit);
    for (let e = this.solo.shift(); e; e = this.solo.shift()) next.push(e);
    this.conflatedBefore += this.solo.lost;
    this.solo = next;
  }

  /** Adds an event of the twin at `path` (ignored for a single-twin outbox: it has one twin). */
  push(event: LaneEvent, path: string): void {
    // Small enough to inline into the fan-out loop; the wildcard case is out of line.
    (this.solo ?? this.boxOf(path)).push(event);
  }

  /**
   * Hands pending events to `sink` in delivery order until it has no room for more or
   * nothing is left; returns true when nothing is left.
   */
  drain(sink: EventSink): boolean {
    const solo = this.solo;
    if (solo !== null) {
      for (let e = solo.shift(); e; e = solo.shift()) if (!sink.accept(e, this.soloPath)) break;
      return solo.size === 0;
    }
    const byPath = this.byPath!;
    for (const [path, box] of byPath) {
      let room = true;
      for (let e = box.shift(); e; e = box.shift()) if (!(room = sink.accept(e, path))) break;
      if (box.size > 0) return false;
      this.retire(path, box);
      if (!room) break;
    }
    return byPath.size === 0;
  }

  /** Removes and returns the next pending event, if any ({@link LinkOutbox.shiftEntry} names its twin). */
  shift(): LaneEvent | undefined {
    const solo = this.solo;
    if (solo !== null) return solo.shift();
    for (const [path, box] of this.byPath!) {
      const e = box.shift();
      if (box.size === 0) this.retire(path, box);
      if (e) {
        this.lastPath = path;
        return e;
      }
    }
    return undefined;
  }

  /** Like {@link LinkOutbox.shift}, with the path of the twin the event is from. */
  shiftEntry(): { readonly path: string; readonly event: LaneEvent } | undefined {
    const event = this.shift();
    return event && { path: this.solo ? this.soloPath : this.lastPath, event };
  }

  /** Drops everything pending (the link closed); the counters keep what was lost before. */
  discard(): void {
    const solo = this.solo;
    if (solo !== null) {
      while (solo.shift() !== undefined); // taking is not losing: the counters stay as they are
      return;
    }
    for (const [path, box] of this.byPath!) this.retire(path, box);
  }

  private boxOf(path: string): Outbox {
    let box = this.byPath!.get(path);
    if (!box) this.byPath!.set(path, (box = outboxFor(this.kindOf!(path), this.streamLimit)));
    return box;
  }

  private retire(path: string, box: Outbox): void {
    if (box.stream) this.droppedBefore += box.lost;
    else this.conflatedBefore += box.lost;
    this.byPath!.delete(path);
  }

  private sumLost(stream: boolean): number {
    if (this.solo) return this.solo.stream === stream ? this.solo.lost : 0;
    let n = 0;
    for (const box of this.byPath!.values()) if (box.stream === stream) n += box.lost;
    return n;
  }
}
