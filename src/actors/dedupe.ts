/**
 * The idempotency window of one twin: 53-bit hashes of the dedupe keys (`source` + `id`)
 * of its last accepted events, oldest first. Numbers rather than strings because the
 * window is checked and extended on every event: hashing allocates nothing, and a small
 * array of doubles is stored unboxed. A false "duplicate" needs two different keys with
 * the same 53-bit hash inside one twin's window (p ≈ size / 2^53 per event).
 */
const SEPARATOR = 0x10ffff + 1;

export class DedupeWindow {
  /** The 53-bit hash of (source, id); the same on every node and version. */
  static hash(source: string, id: string): number {
    // Written out rather than through a helper closure: this runs once per event.
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    for (let i = 0; i < source.length; i++) {
      const c = source.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    // A separator outside the character range: ("ab","c") ≠ ("a","bc").
    h1 = Math.imul(h1 ^ SEPARATOR, 2654435761);
    h2 = Math.imul(h2 ^ SEPARATOR, 1597334677);
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }

  static contains(window: readonly number[] | null, hash: number): boolean {
    if (!window) return false;
    for (let i = 0; i < window.length; i++) if (window[i] === hash) return true;
    return false;
  }

  /** Appends `hash`, dropping the oldest beyond `size`; returns the (possibly new) window. */
  static add(window: number[] | null, hash: number, size: number): number[] {
    if (!window) return [hash];
    // Grown by copies sized to fit, not by `push`, which leaves room for 17 hashes (~80 B
    // more per twin); a copy per event only until the window is full.
    if (window.length < size) return window.concat(hash);
    // Shift in place (splice would allocate the removed part on every event).
    if (window.length === size) {
      for (let i = 1; i < size; i++) window[i - 1] = window[i]!;
      window[size - 1] = hash;
      return window;
    }
    const drop = window.length - size + 1;
    for (let i = drop; i < window.length; i++) window[i - drop] = window[i]!;
    window.length = size - 1;
    window.push(hash);
    return window;
  }
}
