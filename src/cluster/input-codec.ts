import { pack, unpack } from 'msgpackr';
import { TwinError } from '../errors.js';
import type { TwinEvent } from '../model/twin-model.js';

/** One message of a vshard's input stream: a device's event, or a join value from a child in another vshard. */
export type InputMessage =
  | { readonly k: 'e'; readonly ev: TwinEvent }
  | {
      readonly k: 'j';
      readonly parent: string;
      readonly lane: string;
      readonly child: string;
      readonly value: unknown;
    };

export function encodeInput(message: InputMessage): Uint8Array {
  return pack(message);
}

/** Decodes an input message; anything else (another writer's bytes) is a TWIN_EVENT_INVALID. */
export function decodeInput(data: Uint8Array): InputMessage {
  const m = unpack(data) as InputMessage;
  if (m === null || typeof m !== 'object' || (m.k !== 'e' && m.k !== 'j'))
    throw new TwinError('TWIN_EVENT_INVALID', 'not a twinflow input message');
  return m;
}
