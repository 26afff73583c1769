import type { DerivedEvent } from '../model/twin-model.js';
import { canonicalJson } from './digest.js';

/** One derived event that only one of two runs emitted, with an optional reason. */
export interface DerivedChange {
  side: 'baseline' | 'whatIf';
  event: DerivedEvent;
  /** Why, when an explainer knows (see `explainHvac`). */
  explanation?: string;
}

/** The difference between the derived events of two runs of the same recording. */
export interface DerivedDiff {
  /** Events both runs emitted (same twin, type, time and data). */
  same: number;
  /** Per type: how many each run emitted. */
  byType: Record<string, { baseline: number; whatIf: number }>;
  /** Events of one run only, in time order (then twin), each side's own order kept per twin. */
  changes: DerivedChange[];
}

/** Explains why an event is in one run only; undefined when it cannot tell. */
export type Explainer = (change: DerivedChange) => string | undefined;

/**
 * Compares two runs' derived events as multisets keyed by (emitting twin, type, time,
 * data): ids are deterministic per run but are not part of the comparison, so a change of
 * model parameters shows as events added or removed, never as noise.
 *
 * @example
 * ```ts
 * const diff = compareDerived(base.derived!, whatIf.derived!, explainHvac(defaultParams, { ...defaultParams, hvacBand: 1.5 }));
 * diff.byType['hvac.adjust']; // { baseline: 12, whatIf: 31 }
 * ```
 */
export function compareDerived(
  baseline: readonly DerivedEvent[],
  whatIf: readonly DerivedEvent[],
  explain?: Explainer,
): DerivedDiff {
  const key = (e: DerivedEvent): string => `${e.source}\u0000${e.type}\u0000${e.time}\u0000${canonicalJson(e.data)}`;
  const pending = new Map<string, DerivedEvent[]>();
  for (const e of baseline) {
    const k = key(e);
    const list = pending.get(k);
    if (list) list.push(e);
    else pending.set(k, [e]);
  }
  const byType: DerivedDiff['byType'] = {};
  const count = (e: DerivedEvent, side: 'baseline' | 'whatIf'): void => {
    (byType[e.type] ??= { baseline: 0, whatIf: 0 })[side]++;
  };
  for (const e of baseline) count(e, 'baseline');
  const changes: DerivedChange[] = [];
  let same = 0;
  for (const e of whatIf) {
    count(e, 'whatIf');
    const match = pending.get(key(e));
    if (match && match.length > 0) {
      match.shift();
      same++;
    } else {
      changes.push({ side: 'whatIf', event: e });
    }
  }
  for (const list of pending.values()) for (const e of list) changes.push({ side: 'baseline', event: e });
  changes.sort((a, b) =>
    a.event.time < b.event.time
      ? -1
      : a.event.time > b.event.time
        ? 1
        : a.event.source < b.event.source
          ? -1
          : a.event.source > b.event.source
            ? 1
            : 0,
  );
  if (explain)
    for (const c of changes) {
      const why = explain(c);
      if (why !== undefined) c.explanation = why;
    }
  return { same, byType: Object.fromEntries(Object.entries(byType).sort(([a], [b]) => (a < b ? -1 : 1))), changes };
}
