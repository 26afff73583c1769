import type { Lane } from '../lanes/lane.js';
import type { TwinModel } from '../model/twin-model.js';
import type { LiveRecord, LiveRecords, StateWrite, StoredTwin } from '../store/state-store.js';
import {
  ALL_LANES_DIRTY,
  DIRTY,
  FIRST_LANE_BIT,
  HAS_RECORD,
  KEEP_AFTER_WRITE,
  LANES_WITH_BITS,
  LIVE_HELD,
  RECORD_DIRTY,
  STATE_MASK,
  STOPPED,
  STORED_ENTRIES,
} from './twin-bits.js';
import { encodeRecord } from './twin-record.js';
import type { TimerList } from './twin-timers.js';

// What a twin hands its store: the writes of a step (collectWrites), and what a store that
// holds live twins by reference reads of one (committedState). The record's layout is in
// twin-record.ts.

/** What a twin's writes are made of (`Twin` is one). */
export interface WritingTwin extends LiveRecord {
  readonly path: string;
  readonly definition: TwinModel;
  readonly lanes: Record<string, Lane>;
  /** See twin-bits.ts. */
  bits: number;
  readonly recent: number[] | null;
  readonly timerList: TimerList;
  readonly inputSeq: number;
}

/**
 * The twin whose turn is running now (set by the turn runner around a turn's body, hooks
 * and commit), so a held record is never read mid-turn (see {@link committedState}).
 */
export const TURN_OF: { twin: WritingTwin | null } = { twin: null };

/**
 * Appends what changed since the last call: entry writes of keyed lanes, and the whole
 * record (value lanes + timers) when any part of it changed, so one put per twin. With
 * `live` (a store that can hold records by reference) the record of a live twin is
 * handed over once, as this twin ({@link committedState}), and no record is built per
 * step; a stopped twin writes its record, so the store keeps a value, not the twin.
 */
export function collectWrites(twin: WritingTwin, out: StateWrite[], live?: LiveRecords): void {
  const bits = twin.bits;
  let recordDirty = (bits & RECORD_DIRTY) !== 0;
  twin.bits &= KEEP_AFTER_WRITE;
  const all = (bits & ALL_LANES_DIRTY) !== 0;
  const before = out.length;
  const persistent = twin.definition.persistentLanes;
  const keyed = twin.definition.keyedLanes;
  const names = twin.definition.laneNames;
  const stopped = (bits & STATE_MASK) === STOPPED;
  // A store that reads a live twin from its lanes gets nothing while the twin lives: value
  // lanes have nothing to hand over, keyed lanes only forget what changed.
  const held = live !== undefined && !stopped;
  let keyedChanged = false;
  let changed = false;
  for (let i = 0; i < persistent.length; i++) {
    const index = persistent[i]!;
    if (!all && (index >= LANES_WITH_BITS || (bits & (FIRST_LANE_BIT << index)) === 0)) continue;
    changed = true;
    if (held && !keyed[index]) continue;
    const lane = twin.lanes[names[index]!]!;
    if (held ? lane.discardChanges() : lane.collect(out)) recordDirty = true;
    if (keyed[index]) keyedChanged = true;
  }
  if (keyedChanged) {
    let hasEntries = false;
    for (let i = 0; i < persistent.length && !hasEntries; i++) {
      const index = persistent[i]!;
      if (keyed[index] && twin.lanes[names[index]!]!.hasEntries()) hasEntries = true;
    }
    if (hasEntries !== ((bits & STORED_ENTRIES) !== 0)) {
      twin.bits ^= STORED_ENTRIES;
      recordDirty = true; // the record's `$e` must follow
    }
  }
  if (held) {
    // Handed over once; from then on the store reads it (see committedState).
    if ((bits & LIVE_HELD) === 0 && (recordDirty || changed)) {
      twin.bits |= LIVE_HELD | HAS_RECORD;
      live.holdLive(twin.path, twin);
    }
    return;
  }
  if ((bits & LIVE_HELD) !== 0) recordDirty = true; // stopped: the store must keep a value, not the twin
  // Every twin with state gets a record (even one with only keyed lanes), so stores can list it.
  const created = (twin.bits & HAS_RECORD) === 0;
  if (!recordDirty && (!created || out.length === before)) return;
  twin.bits = (twin.bits | HAS_RECORD) & ~LIVE_HELD;
  const values = recordOf(twin);
  out.push({ op: 'record', path: twin.path, values, created });
}

/** This twin's record as its lanes and bookkeeping are now (see twin-record.ts). */
function recordOf(twin: WritingTwin): Record<string, unknown> {
  return encodeRecord(
    twin.definition,
    twin.lanes,
    (twin.bits & STORED_ENTRIES) !== 0,
    twin.recent,
    twin.timerList,
    twin.inputSeq,
  );
}

/**
 * What the store holds for this twin as of its last write (see {@link collectWrites}),
 * built now: its record and its keyed lanes' entries. Undefined while a step is changing
 * it (a turn of it runs, or it changed since its last write).
 */
export function committedState(twin: WritingTwin): StoredTwin | undefined {
  if ((twin.bits & DIRTY) !== 0 || TURN_OF.twin === twin) return undefined;
  const values = recordOf(twin);
  const entries = new Map<string, Map<string, unknown>>();
  const persistent = twin.definition.persistentLanes;
  const keyed = twin.definition.keyedLanes;
  const names = twin.definition.laneNames;
  for (let i = 0; i < persistent.length; i++) {
    const index = persistent[i]!;
    if (!keyed[index]) continue;
    const name = names[index]!;
    const stored = twin.lanes[name]!.storedEntries();
    if (stored) entries.set(name, stored);
  }
  return { values, entries };
}
