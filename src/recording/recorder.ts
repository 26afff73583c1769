import { RecordingWriter, type RecordingWriterOptions } from './recording-writer.js';
import type { Runtime } from '../runtime/runtime.js';

/** A running recording of a runtime's ingested events. */
export interface Recording {
  readonly path: string;
  /** Events recorded so far. */
  readonly count: number;
  /** Stops listening, writes the open chunk and closes the file. */
  stop(): Promise<void>;
}

export interface RecordOptions extends RecordingWriterOptions {
  /** The open chunk is written at least this often (ms, default 1000), so a quiet stream reaches disk. */
  flushEveryMs?: number;
}

/**
 * Records every event the runtime accepts, after its commit and in arrival order, to a
 * recording file that `twinflow replay` (or {@link replayInto}) feeds back.
 *
 * @example
 * ```ts
 * const rec = startRecording(node.runtime, 'live.tfr');
 * // … devices publish …
 * await rec.stop();
 * ```
 */
export function startRecording(rt: Runtime, path: string, options: RecordOptions = {}): Recording {
  const writer = RecordingWriter.create(path, {
    ...options,
    batches: true,
    meta: { recordedBy: 'twinflow', ...options.meta },
  });
  const off = rt.onIngested((events) => writer.appendBatch(events));
  const timer = setInterval(() => writer.flush(), options.flushEveryMs ?? 1000);
  timer.unref();
  let stopped: Promise<void> | null = null;
  return {
    path,
    get count() {
      return writer.count;
    },
    stop() {
      stopped ??= (async () => {
        off();
        clearInterval(timer);
        await writer.close();
      })();
      return stopped;
    },
  };
}
