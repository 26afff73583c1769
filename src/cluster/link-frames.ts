import { unpack } from 'msgpackr';
import type { LaneEvent } from '../lanes/events.js';

/** What travels on a remote link's subject: a lane event, the end of a sync, or "the twin moved, link again". */
export type LinkFrame =
  /** A lane event; `p`: the twin's path (wildcard links: it differs per event). */
  | { readonly t: 'e'; readonly ev: LaneEvent; readonly p?: string }
  | { readonly t: 's' }
  | { readonly t: 'm' }
  /** Switch to a stream buffer (command and supply lanes), as the local host would. */
  | { readonly t: 'b' };

const KEYED = new Set(['update', 'remove']);
const EVENT_TYPES = new Set(['value', 'update', 'remove', 'clear']);

/**
 * The frame in a message on a link subject, or null when it holds none a node sends: bytes
 * that do not decode, or a value of another shape (nil, a number, an event without a lane
 * event, a wildcard link's event without its twin's path). Any client of the NATS server
 * may publish there, and the callbacks that read these run inside the subscription's loop:
 * a throw there (reading `t` of nil) ended the node's message processing, every RPC and
 * input with it. So every frame is read through here and checked before anything uses it.
 */
export function readLinkFrame(data: Uint8Array, wildcard: boolean): LinkFrame | null {
  let frame: unknown;
  try {
    frame = unpack(data);
  } catch {
    return null;
  }
  if (frame === null || typeof frame !== 'object') return null;
  const t = (frame as { t?: unknown }).t;
  if (t === 's' || t === 'm' || t === 'b') return frame as LinkFrame;
  if (t !== 'e') return null;
  const { ev, p } = frame as { ev?: unknown; p?: unknown };
  if (wildcard && typeof p !== 'string') return null;
  return isLaneEvent(ev) ? (frame as LinkFrame) : null;
}

function isLaneEvent(ev: unknown): ev is LaneEvent {
  if (ev === null || typeof ev !== 'object') return false;
  const { type, key } = ev as { type?: unknown; key?: unknown };
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) return false;
  return !KEYED.has(type) || typeof key === 'string';
}
