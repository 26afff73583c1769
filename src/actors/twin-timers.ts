/**
 * The timers of one twin: which are set, when each is due, and which heap entry (see
 * {@link TimerQueue}) stands for it. A plain array of small records per twin, allocated on
 * its first timer, because twins have few timers and a Map costs ~100 bytes each. The
 * twin owns the array and its dirty bit; these functions own what the entries mean.
 */
export interface TimerState {
  readonly name: string;
  /** When the timer should fire; NaN once cancelled. */
  due: number;
  /** The due time of the earliest heap entry for it, or NaN; lets a `set` skip heap pushes when a deadline only moves later. */
  armed: number;
}
// Times are epoch ms, past the small-integer range: in a field that only ever holds numbers
// (NaN for "none", not undefined) V8 keeps them unboxed and rewrites them in place, where a
// field that also held undefined allocated a new heap number on every `set` (32 B per event
// for a sensor's absence deadline).

/** A twin's timers, or null while it never had one. */
export type TimerList = TimerState[] | null;

/**
 * What a heap entry that came due means (see {@link takeDue}). Quiet: the entry is stale
 * (the timer was re-armed earlier) or the timer was cancelled; nothing fires.
 */
export const TIMER_QUIET = 0;
/** The timer moved later: it is armed at its new due time, for which the caller pushes a heap entry. */
export const TIMER_MOVED = 1;
/** The timer fires now; it left the list. */
export const TIMER_FIRES = 2;

function findTimer(list: TimerList, name: string): TimerState | undefined {
  if (!list) return undefined;
  for (let i = 0; i < list.length; i++) if (list[i]!.name === name) return list[i];
  return undefined;
}

/** When `name` is due, or undefined when it is not set (or was cancelled). */
export function dueOf(list: TimerList, name: string): number | undefined {
  const t = findTimer(list, name);
  return t === undefined || Number.isNaN(t.due) ? undefined : t.due;
}

/** The due time of the heap entry that stands for `name` (after {@link TIMER_MOVED}: its new time). */
export function armedOf(list: TimerList, name: string): number | undefined {
  const t = findTimer(list, name);
  return t === undefined || Number.isNaN(t.armed) ? undefined : t.armed;
}

/** True while a timer is due (cancelled ones excluded). */
export function anyDue(list: TimerList): boolean {
  if (list) for (let i = 0; i < list.length; i++) if (!Number.isNaN(list[i]!.due)) return true;
  return false;
}

/**
 * `list` with an entry for `name`: itself when it has one, else a copy one longer. Sized
 * to fit (an array grown by `push` keeps room for 17 entries, ~150 B per twin), which
 * costs a copy only when a twin sets a timer name for the first time.
 */
export function withTimer(list: TimerList, name: string): TimerState[] {
  if (list !== null && findTimer(list, name) !== undefined) return list;
  const t: TimerState = { name, due: NaN, armed: NaN };
  return list === null ? [t] : list.concat(t);
}

/**
 * Sets `name` to fire at `due` (`list` has an entry for it: see {@link withTimer}). Returns
 * true when a heap entry must be pushed for `due`: the timer had none, or only a later one.
 */
export function setDue(list: TimerState[], name: string, due: number): boolean {
  const t = findTimer(list, name)!;
  t.due = due;
  if (due >= t.armed) return false; // (false while armed is NaN)
  t.armed = due;
  return true;
}

/** Cancels `name`; true when it was due (so the stored record changes). */
export function cancelDue(list: TimerList, name: string): boolean {
  const t = findTimer(list, name);
  if (!t || Number.isNaN(t.due)) return false;
  t.due = NaN;
  return true;
}

/**
 * The heap entry of `name` due at `entryDue` came due: one of {@link TIMER_QUIET},
 * {@link TIMER_MOVED} (its {@link TimerState.armed} is the new time) or {@link TIMER_FIRES}.
 */
export function takeDue(list: TimerList, name: string, entryDue: number): number {
  const t = findTimer(list, name);
  if (!t || t.armed !== entryDue) return TIMER_QUIET;
  t.armed = NaN;
  // Cancelled, and this was its last heap entry: it leaves the list (it stayed for good, so
  // a model naming timers per request and cancelling them grew its twin without bound).
  if (Number.isNaN(t.due)) {
    list!.splice(list!.indexOf(t), 1);
    return TIMER_QUIET;
  }
  if (t.due > entryDue) {
    t.armed = t.due;
    return TIMER_MOVED;
  }
  list!.splice(list!.indexOf(t), 1);
  return TIMER_FIRES;
}

/** The due timers as the record stores them (name → time), or undefined when none is due. */
export function dueTimes(list: TimerList): Record<string, number> | undefined {
  if (!list) return undefined;
  let due: Record<string, number> | undefined;
  for (let i = 0; i < list.length; i++) {
    const t = list[i]!;
    if (!Number.isNaN(t.due)) (due ??= {})[t.name] = t.due;
  }
  return due;
}
