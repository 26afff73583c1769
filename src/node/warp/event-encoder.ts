import type { LaneEvent } from '../../lanes/events.js';
import { laneEventToBody, laneEventToJson, writeFrameEnvelope, type WarpEncoding } from '../../protocol/warp/index.js';
import { toWireJs } from '../../protocol/wire-js.js';

interface Encoded {
  readonly node: string;
  readonly lane: string;
  readonly bytes: Buffer;
  /** Rare: the same event sent under another node/lane spelling (non-canonical client paths). */
  more?: Map<string, Buffer>;
}

/**
 * Encodes `@event` envelopes once per lane change and encoding. The shard hands the same
 * event object to every observer of a lane change, so a WeakMap keyed by that object
 * finds the bytes the first subscriber paid for; the other 9,999 only look them up.
 * Entries die with the event, so the cache needs no eviction.
 *
 * @example
 * ```ts
 * const enc = new EventEncoder('json');
 * const a = enc.encode(event, '/a', 'b'), b = enc.encode(event, '/a', 'b');
 * a === b; // true: one encoding, shared bytes
 * ```
 */
export class EventEncoder {
  private readonly cache = new WeakMap<LaneEvent, Encoded>();
  /** Envelopes actually encoded. */
  encoded = 0;
  /** Deliveries served from the cache. */
  shared = 0;

  constructor(readonly encoding: WarpEncoding) {}

  encode(event: LaneEvent, node: string, lane: string): Buffer {
    const hit = this.cache.get(event);
    if (hit) {
      if (hit.node === node && hit.lane === lane) {
        this.shared++;
        return hit.bytes;
      }
      const key = node + '\n' + lane;
      const other = hit.more?.get(key);
      if (other) {
        this.shared++;
        return other;
      }
      const bytes = this.write(event, node, lane);
      (hit.more ??= new Map()).set(key, bytes);
      return bytes;
    }
    const bytes = this.write(event, node, lane);
    this.cache.set(event, { node, lane, bytes });
    return bytes;
  }

  private write(event: LaneEvent, node: string, lane: string): Buffer {
    this.encoded++;
    if (this.encoding === 'json') {
      // Straight from JS to JSON: a trip through Recon would turn [] into {}.
      return Buffer.from(JSON.stringify({ tag: 'event', node, lane, body: laneEventToJson(event) }), 'utf8');
    }
    let text: string;
    try {
      text = writeFrameEnvelope({ tag: 'event', node, lane, body: laneEventToBody(event) }, this.encoding);
    } catch {
      // A value nested too deep for Recon: send its JSON text rather than break the link.
      const fallback = {
        ...event,
        value: JSON.stringify(toWireJs((event as { value?: unknown }).value)) ?? null,
      } as LaneEvent;
      text = writeFrameEnvelope({ tag: 'event', node, lane, body: laneEventToBody(fallback) }, this.encoding);
    }
    return Buffer.from(text, 'utf8');
  }
}
