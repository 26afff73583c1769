import type { Lane } from '../lanes/lane.js';
import type { TwinModel } from '../model/twin-model.js';
import type { StoredTwin } from '../store/state-store.js';
import { INLINE_FIELD } from '../lanes/inline-entries.js';
import { dueTimes, type TimerList } from './twin-timers.js';

/**
 * The stored twin record: one plain object per twin holding its value-shaped lanes by
 * name, plus bookkeeping fields whose names start with `$` (lane names cannot, see
 * defineTwin), so they never collide with a lane:
 *
 * - `$v`: the model version that wrote it (absent: 1), so a newer model can migrate;
 * - `$e`: 1 when the twin has entries of keyed lanes, 0 when none, so a store can skip
 *   looking for entries on restore (most twins have none);
 * - `$recent`: the dedupe window (hashes of the last accepted events' `source`+`id`);
 * - `$timers`: due timers by name (epoch ms on the runtime's clock);
 * - `$seq`: cluster mode only, the highest sequence of its vshard's input stream applied;
 * - `$in`: the entries of its small keyed lanes, by lane (see lanes/inline-entries.ts).
 *
 * Changing a field's meaning changes every stored twin: add fields, never repurpose one.
 * The table of these fields is in docs/persistence.md ("Record fields").
 *
 * @example
 * ```ts
 * // a room at model version 2, with one keyed lane entry and an armed timer:
 * { $v: 2, $e: 1, occupied: true, $recent: [8214567732112], $timers: { vacant: 1700000060000 } }
 * ```
 */
const VERSION_FIELD = '$v';
const ENTRIES_FIELD = '$e';
const RECENT_FIELD = '$recent';
const TIMERS_FIELD = '$timers';
const INPUT_SEQ_FIELD = '$seq';

/** The stored `$seq` (see {@link encodeRecord}); 0 when absent. */
export function decodeInputSeq(stored: StoredTwin): number {
  const seq = stored.values[INPUT_SEQ_FIELD];
  return typeof seq === 'number' ? seq : 0;
}

/** The model version that wrote a stored record (1 for records from before versions). */
export function storedVersion(stored: StoredTwin): number {
  const v = stored.values[VERSION_FIELD];
  return typeof v === 'number' ? v : 1;
}

/** True when the store holds a record for the twin (any field at all). */
export function hasStoredRecord(stored: StoredTwin): boolean {
  // A loop rather than Object.keys: a bulk restore runs this per twin.
  for (const _ in stored.values) return true;
  return false;
}

/** The stored dedupe window, as a copy the twin may extend; null when the record has none. */
export function decodeRecent(stored: StoredTwin): number[] | null {
  const recent = stored.values[RECENT_FIELD];
  if (!Array.isArray(recent)) return null;
  let numbers = true;
  for (let i = 0; i < recent.length; i++) if (typeof recent[i] !== 'number') numbers = false;
  // A copy: the store may hold this array (the memory store keeps records by reference).
  return numbers ? (recent as number[]).slice() : recent.filter((h): h is number => typeof h === 'number');
}

/** The stored due timers (name → time), if any. */
export function decodeTimers(stored: StoredTwin): Readonly<Record<string, number>> | undefined {
  return stored.values[TIMERS_FIELD] as Record<string, number> | undefined;
}

/**
 * A twin's record: its persistent lanes' record values, the model version, whether it has
 * keyed-lane entries, its dedupe window and its due timers.
 */
export function encodeRecord(
  model: TwinModel,
  lanes: Readonly<Record<string, Lane>>,
  hasEntries: boolean,
  recent: readonly number[] | null,
  timers: TimerList,
  inputSeq = 0,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  values[VERSION_FIELD] = model.def.version ?? 1;
  values[ENTRIES_FIELD] = hasEntries ? 1 : 0;
  const persistent = model.persistentLanes;
  const names = model.laneNames;
  const keyed = model.keyedLanes;
  let inline: Record<string, unknown> | undefined;
  for (let i = 0; i < persistent.length; i++) {
    const index = persistent[i]!;
    const name = names[index]!;
    const lane = lanes[name]!;
    const v = lane.recordValue();
    if (v !== undefined) values[name] = v;
    if (!keyed[index]) continue;
    const entries = lane.inlineEntries();
    if (entries !== undefined) (inline ??= {})[name] = entries;
  }
  if (inline) values[INLINE_FIELD] = inline;
  if (recent) values[RECENT_FIELD] = recent.slice();
  const due = dueTimes(timers);
  if (due) values[TIMERS_FIELD] = due;
  if (inputSeq > 0) values[INPUT_SEQ_FIELD] = inputSeq;
  return values;
}
