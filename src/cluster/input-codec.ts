import { pack, unpack } from 'msgpackr';
import { TwinError } from '../errors.js';
import type { TwinEvent } from '../model/twin-model.js';

/**
 * Events one input message may carry, at most. A twin records what it applied as a
 * position, stream sequence × this + index in the message ({@link inputPosition}).
 */
export const MAX_EVENTS_PER_MESSAGE = 4_096;

/** One message of a vshard's input stream: devices' events (in arrival order), or a join value from a child in another vshard. */
export type InputMessage =
  | { readonly k: 'b'; readonly evs: readonly TwinEvent[] }
  | {
      readonly k: 'j';
      readonly parent: string;
      readonly lane: string;
      readonly child: string;
      readonly value: unknown;
      /** Epoch of the child's vshard lease the sender held (absent in messages of older nodes). */
      readonly e?: number;
    };

export function encodeInput(message: InputMessage): Uint8Array {
  return pack(message);
}

/** Decodes an input message; anything else (another writer's bytes) is a TWIN_EVENT_INVALID. */
export function decodeInput(data: Uint8Array): InputMessage {
  const m = unpack(data) as InputMessage;
  if (m === null || typeof m !== 'object' || !((m.k === 'b' && Array.isArray(m.evs)) || m.k === 'j'))
    throw new TwinError('TWIN_EVENT_INVALID', 'not a twinflow input message');
  if (m.k === 'b' && m.evs.length > MAX_EVENTS_PER_MESSAGE)
    throw new TwinError('TWIN_EVENT_INVALID', `an input message carries more than ${MAX_EVENTS_PER_MESSAGE} events`);
  return m;
}

/** The input position of item `index` of the message at stream sequence `seq` (what a twin's `$seq` holds). */
export function inputPosition(seq: number, index: number): number {
  return seq * MAX_EVENTS_PER_MESSAGE + index;
}
