/**
 * A binary min-heap of (due, twin, timer kind) in typed arrays, for the lean yardstick:
 * what a hand-written program keeps its deadlines in. Entries are lazy like the runtime's
 * (see TwinTimers): a deadline that only moves later keeps its entry, which is checked when
 * it comes due.
 */
export class TimerHeap {
  private due = new Float64Array(1024);
  private twin = new Int32Array(1024);
  private kind = new Uint8Array(1024);
  size = 0;

  push(due: number, twin: number, kind: number): void {
    if (this.size === this.due.length) this.grow();
    let i = this.size++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (this.due[up]! <= due) break;
      this.due[i] = this.due[up]!;
      this.twin[i] = this.twin[up]!;
      this.kind[i] = this.kind[up]!;
      i = up;
    }
    this.due[i] = due;
    this.twin[i] = twin;
    this.kind[i] = kind;
  }

  /** The earliest due time (Infinity when empty). */
  peek(): number {
    return this.size > 0 ? this.due[0]! : Infinity;
  }

  /** Removes the earliest entry; its fields are left in `out` (due, twin, kind). */
  pop(out: { due: number; twin: number; kind: number }): void {
    out.due = this.due[0]!;
    out.twin = this.twin[0]!;
    out.kind = this.kind[0]!;
    const n = --this.size;
    const due = this.due[n]!;
    const twin = this.twin[n]!;
    const kind = this.kind[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.due[c + 1]! < this.due[c]!) c++;
      if (this.due[c]! >= due) break;
      this.due[i] = this.due[c]!;
      this.twin[i] = this.twin[c]!;
      this.kind[i] = this.kind[c]!;
      i = c;
    }
    this.due[i] = due;
    this.twin[i] = twin;
    this.kind[i] = kind;
  }

  private grow(): void {
    const due = new Float64Array(this.due.length * 2);
    due.set(this.due);
    const twin = new Int32Array(this.twin.length * 2);
    twin.set(this.twin);
    const kind = new Uint8Array(this.kind.length * 2);
    kind.set(this.kind);
    this.due = due;
    this.twin = twin;
    this.kind = kind;
  }
}
