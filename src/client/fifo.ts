/** A FIFO queue with O(1) shift (an array with a moving head, compacted now and then). */
export class Fifo<T> {
  private list: T[] = [];
  private head = 0;

  get size(): number {
    return this.list.length - this.head;
  }

  push(item: T): void {
    this.list.push(item);
  }

  peek(): T | undefined {
    return this.head < this.list.length ? this.list[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.list.length) return undefined;
    const item = this.list[this.head++];
    if (this.head === this.list.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The items, oldest first (a copy). */
  items(): T[] {
    return this.list.slice(this.head);
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const all = this.items();
    this.clear();
    return all;
  }

  clear(): void {
    this.list = [];
    this.head = 0;
  }
}

/** Bytes of `s` in UTF-8, as the WebSocket sends it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 UTF-16 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}
