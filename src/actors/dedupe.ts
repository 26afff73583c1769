/**
 * The idempotency window of one twin: the dedupe keys (`source` + `id`) of its last
 * `size` accepted events, kept as one newline-joined string. One string per twin keeps
 * the memory small (no array of strings per twin) and persists as a single record field,
 * so a redelivered event is recognised even after a crash and restart.
 */
export class DedupeWindow {
  static readonly SEPARATOR = '\n';

  /** True when `key` is among the remembered keys of `recent`. */
  static contains(recent: string, key: string): boolean {
    if (recent.length === 0) return false;
    let from = 0;
    for (;;) {
      const at = recent.indexOf(key, from);
      if (at < 0) return false;
      const end = at + key.length;
      if ((at === 0 || recent.charCodeAt(at - 1) === 10) && (end === recent.length || recent.charCodeAt(end) === 10)) return true;
      from = at + 1;
    }
  }

  /** Adds `key` as the newest entry, dropping the oldest beyond `size`. */
  static add(recent: string, key: string, size: number): string {
    let next = recent.length === 0 ? key : recent + '\n' + key;
    let count = 1;
    for (let i = 0; i < recent.length; i++) if (recent.charCodeAt(i) === 10) count++;
    if (recent.length > 0) count++;
    while (count > size) {
      const cut = next.indexOf('\n');
      if (cut < 0) break;
      next = next.slice(cut + 1);
      count--;
    }
    return next;
  }

  /** The dedupe key of an event; `source` cannot contain a newline (it is a URI-reference). */
  static key(source: string, id: string): string {
    return source + ' ' + id.replace(/\n/g, ' ');
  }
}
