import type { TwinError } from '../../errors.js';
import type { Rejections } from '../rejections.js';
import { previewOf, type DeadLetterOrigin, type DeadLetterStore } from './dead-letters.js';

/** Where a rejected input came from, for its log line and dead-letter record. */
export interface InputNote {
  origin: DeadLetterOrigin;
  /** MQTT topic or HTTP route. */
  where?: string;
  /** MQTT client id or HTTP remote address. */
  sender?: string;
  payload?: Uint8Array | string;
}

/**
 * The one place bad input goes: a counted, rate-limited log line (info: it is the
 * sender's problem, not ours; see {@link Rejections}) and a dead-letter record, so every
 * front answers the same way.
 *
 * @example
 * ```ts
 * const bad = new BadInput(new Rejections(logger), new MemoryDeadLetters());
 * bad.report(new TwinError('TWIN_PAYLOAD_INVALID', 'not JSON'), { origin: 'mqtt', where: 'org/x' });
 * ```
 */
export class BadInput {
  /** Rejections reported, by error code. */
  readonly counts = new Map<string, number>();

  constructor(
    readonly rejections: Rejections,
    readonly deadLetters: DeadLetterStore,
  ) {}

  report(error: TwinError, note: InputNote, event?: { subject?: unknown; id?: unknown; source?: unknown }): void {
    this.counts.set(error.code, (this.counts.get(error.code) ?? 0) + 1);
    const path = typeof event?.subject === 'string' ? event.subject : undefined;
    const id = typeof event?.id === 'string' ? event.id : undefined;
    const source = typeof event?.source === 'string' ? event.source : undefined;
    this.rejections.note(
      `input.${error.code}`,
      { code: error.code, origin: note.origin, where: note.where, sender: note.sender, path, id, source },
      `input rejected: ${error.message}`,
    );
    this.deadLetters.add({
      origin: note.origin,
      code: error.code,
      message: error.message,
      ...(note.where !== undefined && { where: note.where }),
      ...(note.sender !== undefined && { sender: note.sender }),
      ...(path !== undefined && { path }),
      ...(id !== undefined && { id }),
      ...(source !== undefined && { source }),
      ...previewOf(note.payload),
    });
  }
}
