/**
 * The `bits` field of a `Twin`: its flags and changed-lane bits in one small integer (one
 * Smi instead of a field per flag: 8 bytes less per flag and live twin). Only twin.ts and
 * twin-writes.ts read or set them.
 */

export type TwinState = 'starting' | 'active' | 'stopped';

/** The record (value lanes, timers, dedupe window) changed since the last write. */
export const RECORD_DIRTY = 1;
/** The store holds a record for this twin. */
export const HAS_RECORD = 2;
/** The stored record says the twin has keyed-lane entries (its `$e` field). */
export const STORED_ENTRIES = 4;
/**
 * Bits 3…23: lane i (i < 21) changed since the last write; {@link ALL_LANES_DIRTY}: some
 * lane with a higher index did, so every lane is visited. Lets a write visit only the
 * changed lanes.
 */
export const FIRST_LANE_BIT = 8;
export const LANES_WITH_BITS = 21;
/** Bit 24: the store holds this live twin's record by reference (see `Twin.committedState`). */
export const LIVE_HELD = 1 << 24;
/** Bit 25: the twin is in its shard's dirty list (see `Twin.dirty`). */
export const DIRTY = 1 << 25;
/** Bit 26: the parent has another shard key (see `Twin.parentRemote`). */
export const PARENT_REMOTE = 1 << 26;
/** Bits 27-28: the {@link TwinState}, as its index in {@link STATES}. */
export const STATE_SHIFT = 27;
export const STATE_MASK = 3 << STATE_SHIFT;
export const STATES: readonly TwinState[] = ['starting', 'active', 'stopped'];
/** Bit 29: the parent knows this twin (see `Twin.announced`). */
export const ANNOUNCED = 1 << 29;
export const ALL_LANES_DIRTY = 1 << 30;
/** The bits that outlive a write. */
export const KEEP_AFTER_WRITE =
  HAS_RECORD | STORED_ENTRIES | DIRTY | PARENT_REMOTE | STATE_MASK | ANNOUNCED | LIVE_HELD;
export const STOPPED = 2 << STATE_SHIFT;
