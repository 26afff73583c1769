import { pack, unpack } from 'msgpackr';
import { TwinError, toTwinError } from '../errors.js';
import { isUnder } from '../lanes/inline-entries.js';
import type { TwinEvent } from '../model/twin-model.js';
import { EventNormaliser, type EventInput } from '../actors/event-input.js';

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

/**
 * An input message as {@link decodeInput} read it: each item of a batch is an event as a
 * front makes it, or the TwinError (a 4xx) it is refused with. An item is refused alone:
 * the others of its message still apply, each at its own index.
 */
export type DecodedInput =
  { readonly k: 'b'; readonly evs: readonly (TwinEvent | TwinError)[] } | Extract<InputMessage, { k: 'j' }>;

export function encodeInput(message: InputMessage): Uint8Array {
  return pack(message);
}

/**
 * The fronts' own event check (EventNormaliser.event), for events read back from the
 * stream. A `now` of NaN and the generated ids never reach an event accepted here: an event
 * that lacks a field the normaliser would fill in is refused (see {@link decodeEvent}). No
 * depth bound of its own: the sender's front bounded the data by its `--max-payload-depth`
 * (unknown here), and msgpack decoded it already; what is still checked is that it is plain
 * data (msgpack's extensions can decode to a RegExp, a Set, an Error...).
 */
const normaliser = new EventNormaliser(() => NaN, Infinity);

/**
 * Decodes an input message. Bytes that are not one (another writer's, a message of a newer
 * format) throw TWIN_EVENT_INVALID; so does a join whose fields are not what a node sends.
 * Each event of a batch is validated here, once: a malformed one (not a plain object, a
 * field missing or of the wrong type, a path that is not canonical, data that is not plain
 * data) is returned as its refusal in its place, never handed to the shard.
 */
export function decodeInput(data: Uint8Array): DecodedInput {
  const m = unpack(data) as DecodedInput | null;
  if (m === null || typeof m !== 'object') throw invalid('not a twinflow input message');
  if (m.k === 'j') {
    checkJoin(m);
    return m;
  }
  if (m.k !== 'b' || !Array.isArray(m.evs)) throw invalid('not a twinflow input message');
  if (m.evs.length > MAX_EVENTS_PER_MESSAGE)
    throw invalid(`an input message carries more than ${MAX_EVENTS_PER_MESSAGE} events`);
  return { k: 'b', evs: m.evs.map(decodeEvent) };
}

/** The input position of item `index` of the message at stream sequence `seq` (what a twin's `$seq` holds). */
export function inputPosition(seq: number, index: number): number {
  return seq * MAX_EVENTS_PER_MESSAGE + index;
}

/**
 * An event of the stream, or why it is refused. A front publishes what its normaliser made
 * (every field there, the subject canonical), so a valid event is one the normaliser gives
 * back unchanged: one rule with the fronts, and nothing the engine relies on (a string
 * subject to route by, an id and source to dedupe by, a type to dispatch on, a numeric
 * time) can be missing when the shard runs it. The normaliser's copy is what goes on
 * (extra fields dropped, `data` absent read as null).
 */
function decodeEvent(item: unknown): TwinEvent | TwinError {
  if (!isPlainObject(item)) return invalid('an event must be a plain object');
  let event: TwinEvent;
  try {
    event = normaliser.event(item as unknown as EventInput);
  } catch (err) {
    return toTwinError(err, 'TWIN_EVENT_INVALID');
  }
  if (
    event.subject !== item.subject ||
    event.id !== item.id ||
    event.source !== item.source ||
    event.type !== item.type ||
    event.time !== item.time
  )
    return invalid(
      'an event of the input stream carries a canonical "subject", an "id", a "source", a "type" and a numeric "time"',
    );
  return event;
}

/** A join as a node sends it (JoinPublisher): canonical paths, the child under its parent. */
function checkJoin(m: Record<string, unknown>): void {
  const { parent, lane, child, e } = m;
  if (typeof parent !== 'string' || typeof lane !== 'string' || typeof child !== 'string')
    throw invalid('a join message carries "parent", "lane" and "child" strings');
  // The epoch goes into the vshard's join fence and from there into its state log: only what a lease revision can be.
  if (e !== undefined && !(Number.isSafeInteger(e) && (e as number) >= 0))
    throw invalid('a join message\'s "e" is a non-negative integer (a lease revision)');
  if (normaliser.path(parent) !== parent || normaliser.path(child) !== child || !isUnder(child, parent))
    throw invalid(`a join message of ${child} for ${parent}: canonical paths, the child under its parent`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function invalid(message: string): TwinError {
  return new TwinError('TWIN_EVENT_INVALID', message);
}
