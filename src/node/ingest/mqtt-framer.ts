/** MQTT control packet types (the high nibble of the first byte), as far as the wire needs them. */
export const PacketType = { CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, SUBSCRIBE: 8, UNSUBSCRIBE: 10 } as const;

/** Why a framer stopped: the reader closes the connection with this. */
export interface FrameFault {
  kind: 'packet_too_large' | 'malformed' | 'topic_invalid';
  message: string;
  /** Announced packet size, for packet_too_large. */
  bytes?: number;
}

/** What a framer reports about the packets passing through it. */
export interface FrameEvents {
  /** A packet's fixed header is complete: its type, flags and size are known, its body is still to come. */
  started?(type: number, flags: number, bytes: number): FrameFault | null;
  /** A PUBLISH's topic bytes are complete (only collected when `topics` is true). */
  topic?(topic: Buffer): FrameFault | null;
  /**
   * Body bytes `chunk[from..to)` of the current packet (past a collected topic), in order,
   * before they pass on: the handler may rewrite them in place (never resize them).
   */
  body?(chunk: Buffer, from: number, to: number): void;
  /** A packet's last byte has passed. */
  ended(type: number, flags: number): void;
  /**
   * A packet's first byte is here: true drops the whole packet from what {@link MqttFramer.filter}
   * returns. Decided before any of it has passed, so a packet is never cut in two.
   */
  skip?(type: number, flags: number): boolean;
}

const enum State {
  HEADER,
  LENGTH,
  TOPIC,
  BODY,
}

/**
 * Follows MQTT packet boundaries in a byte stream without buffering packets: only the
 * fixed header (1 + up to 4 bytes) and, if asked, a PUBLISH's topic (at most 2 + 65535
 * bytes) are looked at, so a packet's size is known (and can be refused) before any of
 * its body is read. Works on any chunking of the stream.
 *
 * @example
 * ```ts
 * const f = new MqttFramer(false, { ended: (type) => type === PacketType.PUBACK && acks++ });
 * f.scan(chunk); // null, or the fault that ends the connection
 * ```
 */
export class MqttFramer {
  private state = State.HEADER;
  private first = 0;
  private remaining = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** The topic being collected (null while its 2-byte length is still being read). */
  private topicBytes: Buffer | null = null;
  /** Bytes of the length prefix, then of the topic, collected so far. */
  private topicHave = 0;
  private lengthPrefix = 0;
  /** Where {@link readTopic} stopped in its chunk. */
  private advancedTo = 0;
  /** The current packet is being dropped (see {@link FrameEvents.skip}). */
  private skipping = false;
  /** Offsets in the chunk being filtered where dropping starts and stops, in turn. */
  private cuts: number[] | null = null;

  constructor(
    private readonly topics: boolean,
    private readonly events: FrameEvents,
  ) {}

  /** Follows `chunk`; returns the first fault (the stream is then unusable), else null. */
  scan(chunk: Buffer): FrameFault | null {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case State.HEADER:
          this.first = chunk[i]!;
          if (this.events.skip?.(this.first >> 4, this.first & 0x0f)) {
            this.skipping = true;
            this.cuts?.push(i);
          }
          i++;
          this.remaining = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          this.state = State.LENGTH;
          break;
        case State.LENGTH: {
          const b = chunk[i++]!;
          this.remaining += (b & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if ((b & 0x80) !== 0) {
            if (this.lengthBytes === 4) return { kind: 'malformed', message: 'remaining length longer than 4 bytes' };
            break;
          }
          const type = this.first >> 4,
            flags = this.first & 0x0f;
          const fault = this.events.started?.(type, flags, 1 + this.lengthBytes + this.remaining) ?? null;
          if (fault) return fault;
          if (this.topics && type === PacketType.PUBLISH && this.remaining > 0) {
            this.state = State.TOPIC;
            this.topicBytes = null;
            this.topicHave = 0;
          } else this.state = State.BODY;
          if (this.remaining === 0) this.end(i);
          break;
        }
        case State.TOPIC: {
          const fault = this.readTopic(chunk, i);
          i = this.advancedTo;
          if (fault) return fault;
          break;
        }
        case State.BODY: {
          const take = Math.min(chunk.length - i, this.remaining);
          this.events.body?.(chunk, i, i + take);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.end(i);
          break;
        }
      }
    }
    return null;
  }

  /**
   * Follows `chunk` like {@link scan} and returns its bytes without the packets
   * {@link FrameEvents.skip} dropped (whole packets, across any chunking).
   */
  filter(chunk: Buffer): Buffer {
    const cuts: number[] = this.skipping ? [0] : [];
    this.cuts = cuts;
    try {
      this.scan(chunk);
    } finally {
      this.cuts = null;
    }
    if (cuts.length === 0) return chunk;
    if (cuts.length % 2 === 1) cuts.push(chunk.length);
    const kept: Buffer[] = [];
    let from = 0;
    for (let k = 0; k < cuts.length; k += 2) {
      if (cuts[k]! > from) kept.push(chunk.subarray(from, cuts[k]));
      from = cuts[k + 1]!;
    }
    if (from < chunk.length) kept.push(chunk.subarray(from));
    return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
  }

  /** Collects the 2-byte length and the topic; the rest of the packet is BODY. */
  private readTopic(chunk: Buffer, at: number): FrameFault | null {
    let i = at;
    // The 2 length bytes first (into a small buffer, since they may straddle chunks).
    while (this.topicBytes === null && i < chunk.length && this.remaining > 0) {
      this.lengthPrefix = (this.lengthPrefix << 8) | chunk[i++]!;
      this.remaining--;
      if (++this.topicHave === 2) {
        this.topicBytes = Buffer.allocUnsafe(this.lengthPrefix & 0xffff);
        this.topicHave = 0;
        this.lengthPrefix = 0;
      }
    }
    if (this.topicBytes !== null) {
      const take = Math.min(chunk.length - i, this.topicBytes.length - this.topicHave, this.remaining);
      chunk.copy(this.topicBytes, this.topicHave, i, i + take);
      this.topicHave += take;
      this.remaining -= take;
      i += take;
    }
    this.advancedTo = i;
    const complete = this.topicBytes !== null && this.topicHave === this.topicBytes.length;
    if (complete) {
      const fault = this.events.topic?.(this.topicBytes!) ?? null;
      this.topicBytes = null;
      if (fault) return fault;
      this.state = State.BODY;
      if (this.remaining === 0) this.end(i);
    } else if (this.remaining === 0) this.end(i); // shorter than its topic: the parser will call it malformed
    return null;
  }

  /** The packet ended just before offset `at` of the current chunk. */
  private end(at: number): void {
    if (this.skipping) {
      this.skipping = false;
      this.cuts?.push(at);
    }
    this.state = State.HEADER;
    this.topicBytes = null;
    this.topicHave = 0;
    this.lengthPrefix = 0;
    this.events.ended(this.first >> 4, this.first & 0x0f);
  }
}
