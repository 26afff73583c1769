/**
 * The timers of one twin: which are set, when each is due, and which heap entry (see
 * {@link TimerQueue}) stands for it. A plain array of small records per twin, allocated on
 * its first timer, because twins have few timers and a Map costs ~100 bytes each. The
 * twin owns the array and its dirty bit; these functions own what the entries mean.
 */
export interface TimerState {
  readonly name: string;
  /** When the timer should fire; undefined once cancelled. */
  due: number | undefined;
  /** The due time of the earliest heap entry for it; lets a `set` skip heap pushes when a deadline only moves later. */
  armed: number | undefined;
}

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

export function findTimer(list: TimerList, name: string): TimerState | undefined {
  if (!list) return undefined;
  for (let i = 0; i < list.length; i++) if (list[i]!.name === name) return list[i];
  return undefined;
}

/** True while a timer is due (cancelled ones excluded). */
export function anyDue(list: TimerList): boolean {
  if (list) for (let i = 0; i < list.length; i++) if (list[i]!.due !== undefined) return true;
  return false;
}

/**
 * Sets `name` to fire at `due` (appending to `list`, which must exist). Returns true when
 * a heap entry must be pushed for `due`: the timer had none, or only a later one.
 */
export function setDue(list: TimerState[], name: string, due: number): boolean {
  let t = findTimer(list, name);
  if (!t) list.push((t = { name, due: undefined, armed: undefined }));
  t.due = due;
  if (t.armed !== undefined && due >= t.armed) return false;
  t.armed = due;
  return true;
}

/** Cancels `name`; true when it was due (so the stored record changes). */
export function cancelDue(list: TimerList, name: string): boolean {
  const t = findTimer(list, name);
  if (!t || t.due === undefined) return false;
  t.due = undefined;
  return true;
}

/**
 * The heap entry of `name` due at `entryDue` came due: one of {@link TIMER_QUIET},
 * {@link TIMER_MOVED} (its {@link TimerState.armed} is the new time) or {@link TIMER_FIRES}.
 */
export function takeDue(list: TimerList, name: string, entryDue: number): number {
  const t = findTimer(list, name);
  if (!t || t.armed !== entryDue) return TIMER_QUIET;
  t.armed = undefined;
  if (t.due === undefined) return TIMER_QUIET;
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
    if (t.due !== undefined) (due ??= {})[t.name] = t.due;
  }
  return due;
}
