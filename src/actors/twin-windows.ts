import type { ValueLane } from '../lanes/value-lane.js';
import type { WindowLane } from '../lanes/window-lane.js';
import type { WindowSpec } from '../model/lane-specs.js';
import type { TwinModel } from '../model/twin-model.js';
import type { Lane } from '../lanes/lane.js';
import { dispatchWindows, type HookTarget } from './twin-hooks.js';
import { WRITTEN_SOURCES } from './window-samples.js';

// A twin's window lanes in its turns: sampled at the end of a turn that wrote their source,
// closed by their timer (named per lane: TwinModel.windowTimers), re-armed at their next
// deadline after either.

/** What the window functions need of a twin (`Twin` is one). */
export interface WindowHost extends HookTarget {
  readonly definition: TwinModel;
  readonly lanes: Record<string, Lane>;
  now(): number;
  setTimer(name: string, due: number): void;
  cancelTimer(name: string): void;
}

/**
 * Feeds each window lane the settled value of its source, once per turn that wrote it
 * (see window-samples.ts). Runs after the onSet hooks, which may write sources too, and
 * inside the turn, so a sample commits or rolls back with it.
 */
export function sampleWindows(twin: WindowHost): void {
  const written = WRITTEN_SOURCES.size;
  if (written === 0) return;
  const names = twin.definition.laneNames;
  for (let s = 0; s < written; s++) {
    const source = WRITTEN_SOURCES.at(s);
    if (twin.lanes[source.name] !== source) continue; // written outside a turn by model code of another twin
    const value = (source as ValueLane<unknown>).get();
    const windows = twin.definition.writeEffects[source.index]!.windows;
    for (let i = 0; i < windows.length; i++) {
      const name = names[windows[i]!]!;
      const sample = (twin.definition.def.lanes[name] as WindowSpec).sample(value);
      if (typeof sample !== 'number') continue;
      const w = twin.lanes[name] as WindowLane;
      w.add(twin.now(), sample);
      armWindow(twin, w);
    }
  }
  WRITTEN_SOURCES.clear(); // (a sample that throws fails the turn, whose abortTurn clears it)
}

/** Sets the window's timer to its next deadline, or cancels it when no window is open. */
function armWindow(twin: WindowHost, w: WindowLane): void {
  const due = w.nextDeadline();
  const name = twin.definition.windowTimers[w.index]!;
  if (due === undefined) twin.cancelTimer(name);
  else twin.setTimer(name, due);
}

/** A window lane's timer came due: its closed windows go to `onWindow`, then it is armed again. */
export function closeWindows(twin: WindowHost, name: string): void {
  const w = twin.lane(name) as WindowLane | undefined;
  if (!w) return;
  dispatchWindows(twin, name, w.advance(twin.now()));
  armWindow(twin, w);
}
