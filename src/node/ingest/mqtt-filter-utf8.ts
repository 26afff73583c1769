/** Where a walk is in a SUBSCRIBE / UNSUBSCRIBE body. */
const enum Field {
  ID,
  PROPERTIES_LENGTH,
  PROPERTIES,
  LENGTH,
  FILTER,
  OPTIONS,
}

/**
 * Marks the topic filters of one SUBSCRIBE or UNSUBSCRIBE packet that are not well-formed
 * UTF-8 (MQTT §1.5.4), in the bytes themselves as they pass: the byte at which a filter
 * stops being UTF-8 (an invalid byte, a cut or overlong sequence, a surrogate, a code
 * point past U+10FFFF, a character cut short by the filter's end) becomes 0x00.
 *
 * Why bytes: mqtt-packet, which parses for aedes and the MQTT 5 session, decodes strings
 * without checking them, writing U+FFFD for what is not UTF-8, so the decoded filter can no
 * longer tell `0xFF` from a real U+FFFD and was subscribed. A 0x00 byte always decodes to
 * U+0000, which {@link topicFilterError} refuses, so such a filter is refused like every
 * other invalid one, per filter (MQTT 5 SUBACK 0x8F, 3.1.1 0x80), and counted as
 * `mqtt.topic_filter_invalid` there; a well-formed filter is never touched. Only bytes of
 * the chunk being walked are written: the walk decides at the byte it is on.
 *
 * Fed the body bytes of one packet in order, in any chunking; it never reads past them.
 * A body of the wrong shape is walked as far as it goes (mqtt-packet calls it malformed).
 *
 * @example
 * ```ts
 * const marker = new FilterUtf8Marker(true, level === 5); // at the SUBSCRIBE's fixed header
 * marker.walk(chunk, bodyFrom, bodyTo); // for each piece of its body
 * ```
 */
export class FilterUtf8Marker {
  private field = Field.ID;
  /** Bytes left of the current field. */
  private left = 2;
  /** The length being read (the 2-byte filter length, or the properties' variable byte integer). */
  private value = 0;
  private multiplier = 1;
  /** Continuation bytes the current character still needs, and the range of the next one. */
  private need = 0;
  private low = 0x80;
  private high = 0xbf;

  /**
   * `options`: a SUBSCRIBE, whose filters are each followed by an options byte (an
   * UNSUBSCRIBE's are not); `properties`: MQTT 5, with properties before the filters.
   */
  constructor(
    private readonly options: boolean,
    private readonly properties: boolean,
  ) {}

  /** Walks body bytes `chunk[from..to)`, turning each byte that ends a filter's UTF-8 into 0x00. */
  walk(chunk: Buffer, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const b = chunk[i]!;
      switch (this.field) {
        case Field.ID:
          if (--this.left === 0) this.next(this.properties ? Field.PROPERTIES_LENGTH : Field.LENGTH);
          break;
        case Field.PROPERTIES_LENGTH:
          this.value += (b & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          if ((b & 0x80) !== 0) break;
          if (this.value === 0) this.next(Field.LENGTH);
          else {
            this.field = Field.PROPERTIES;
            this.left = this.value;
          }
          break;
        case Field.PROPERTIES:
          if (--this.left === 0) this.next(Field.LENGTH);
          break;
        case Field.LENGTH:
          this.value = (this.value << 8) | b;
          if (--this.left > 0) break;
          if (this.value === 0)
            this.next(this.options ? Field.OPTIONS : Field.LENGTH); // empty: refused as such
          else {
            this.field = Field.FILTER;
            this.left = this.value;
            this.need = 0;
          }
          break;
        case Field.FILTER:
          if (!this.character(b)) chunk[i] = 0;
          if (--this.left > 0) break;
          if (this.need > 0) chunk[i] = 0; // the filter ends inside a character
          this.next(this.options ? Field.OPTIONS : Field.LENGTH);
          break;
        case Field.OPTIONS:
          this.next(Field.LENGTH);
          break;
      }
    }
  }

  private next(field: Field): void {
    this.field = field;
    this.left = field === Field.OPTIONS ? 1 : 2;
    this.value = 0;
    this.multiplier = 1;
  }

  /** Takes one filter byte; false when it makes the filter ill-formed (the character is then dropped). */
  private character(b: number): boolean {
    if (this.need > 0) {
      const ok = b >= this.low && b <= this.high;
      this.need = ok ? this.need - 1 : 0;
      this.low = 0x80;
      this.high = 0xbf;
      return ok;
    }
    if (b < 0x80) return true;
    // Lead bytes and the range of the byte after them (Unicode Table 3-7, Well-Formed UTF-8).
    if (b >= 0xc2 && b <= 0xdf) this.need = 1;
    else if (b >= 0xe0 && b <= 0xef) this.need = 2;
    else if (b >= 0xf0 && b <= 0xf4) this.need = 3;
    else return false; // 0x80-0xC1, 0xF5-0xFF start no character
    if (b === 0xe0)
      this.low = 0xa0; // overlong
    else if (b === 0xed)
      this.high = 0x9f; // surrogates
    else if (b === 0xf0)
      this.low = 0x90; // overlong
    else if (b === 0xf4) this.high = 0x8f; // past U+10FFFF
    return true;
  }
}
