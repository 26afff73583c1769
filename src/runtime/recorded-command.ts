import type { TwinEvent } from '../model/twin-model.js';

/**
 * How a recording holds a command: as an event of this reserved type and source whose
 * data is `{ lane, value }`, in arrival order with the events around it, so a replay
 * sends it as the same command at the same point.
 */
export const COMMAND_EVENT_TYPE = 'twinflow.command';
export const COMMAND_EVENT_SOURCE = 'twinflow:command';

/** The recorded form of a command that was accepted at `time`. */
export function commandAsEvent(path: string, lane: string, value: unknown, time: number, id: string): TwinEvent {
  return { id, source: COMMAND_EVENT_SOURCE, type: COMMAND_EVENT_TYPE, subject: path, time, data: { lane, value } };
}

/** The command a recorded event stands for, or null for an ordinary event. */
export function recordedCommand(e: TwinEvent): { path: string; lane: string; value: unknown } | null {
  if (e.type !== COMMAND_EVENT_TYPE || e.source !== COMMAND_EVENT_SOURCE) return null;
  const data = e.data as { lane?: unknown; value?: unknown } | null;
  if (!data || typeof data.lane !== 'string') return null;
  return { path: e.subject, lane: data.lane, value: data.value };
}
