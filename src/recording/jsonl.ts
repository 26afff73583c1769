import type { TwinEvent } from '../model/twin-model.js';

/**
 * One event as a structured-mode CloudEvent on one line (JSON Lines export of a
 * recording): readable by `jq`, by `POST /events` and by other CloudEvents tools.
 *
 * @example
 * ```ts
 * toJsonLine({ id: '1', source: 's', type: 'reading', subject: '/org/a', time: 0, data: { x: 1 } });
 * // '{"specversion":"1.0","id":"1","source":"s","type":"reading","subject":"/org/a","time":"1970-01-01T00:00:00.000Z","datacontenttype":"application/json","data":{"x":1}}\n'
 * ```
 */
export function toJsonLine(e: TwinEvent): string {
  if (!isIsoTime(e.time))
    throw new RangeError(
      `event ${JSON.stringify(e.id)} (${e.subject}) has time ${e.time}, which no CloudEvents (RFC 3339) time can hold (at most ±8.64e15 ms from 1970)`,
    );
  return (
    JSON.stringify({
      specversion: '1.0',
      id: e.id,
      source: e.source,
      type: e.type,
      subject: e.subject,
      time: new Date(e.time).toISOString(),
      datacontenttype: 'application/json',
      data: e.data,
    }) + '\n'
  );
}

/** Whether `time` (epoch ms) can be written as an ISO 8601 / RFC 3339 date (±8.64e15 ms). */
export function isIsoTime(time: number): boolean {
  return Number.isFinite(time) && Math.abs(time) <= 8.64e15;
}

/** Reads one JSON Lines CloudEvent back (the inverse of {@link toJsonLine}). */
export function fromJsonLine(line: string): TwinEvent {
  const o = JSON.parse(line) as Record<string, unknown>;
  const time = typeof o.time === 'number' ? o.time : Date.parse(String(o.time));
  if (
    typeof o.subject !== 'string' ||
    typeof o.id !== 'string' ||
    typeof o.source !== 'string' ||
    !Number.isFinite(time)
  ) {
    throw new Error(`not a recorded CloudEvent: ${line.slice(0, 120)}`);
  }
  return {
    id: o.id,
    source: o.source,
    type: typeof o.type === 'string' ? o.type : 'reading',
    subject: o.subject,
    time,
    data: o.data ?? null,
  };
}
