import { pino, type Logger } from 'pino';
import type { TwinLogger } from '../model/twin-model.js';

/** A worker's log line as it crosses to the main thread (see {@link workerLogger}). */
export interface WorkerLogLine {
  readonly t: 'log';
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

/** pino's level numbers → the four levels a TwinLogger has (trace as debug, fatal as error). */
function levelName(level: number): WorkerLogLine['level'] {
  return level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
}

/**
 * A worker thread's logger: pino (so its serializers shape `err` fields as the main
 * thread's do) whose lines go to the main thread through `post`, where {@link relayWorkerLog}
 * writes them with the node's own logger. Before, each worker wrote to stdout with a pino
 * of its own: an embedder's logger (a file, a log shipper, a test's sink) never saw a
 * worker's warnings: turn failures, refused state, damaged records. Lines carry `worker`.
 *
 * @example
 * ```ts
 * const log = workerLogger('warn', 0, (line) => port.postMessage({ messages: [line], counters: null }));
 * ```
 */
export function workerLogger(level: string, worker: number, post: (line: WorkerLogLine) => void): Logger {
  return pino(
    { level, base: { worker } },
    {
      write(text: string): void {
        const { level: n, time: _time, msg, ...fields } = JSON.parse(text) as Record<string, unknown>;
        post({ t: 'log', level: levelName(n as number), fields, msg: typeof msg === 'string' ? msg : '' });
      },
    },
  );
}

/** Writes a worker's line with the main thread's logger (its level decides again). */
export function relayWorkerLog(log: TwinLogger, line: WorkerLogLine): void {
  log[line.level](line.fields, line.msg);
}
