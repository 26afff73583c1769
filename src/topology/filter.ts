import { TwinError } from '../errors.js';
import { TwinPath } from './path.js';

const ONE = '*';
const ANY = '**';

/**
 * A wildcard path filter: `*` matches exactly one segment, `**` any number of segments
 * (zero included). Used by links such as `/org/contoso/.../room/* /sensors/climate`
 * (without the space) and by subtree queries (`/org/contoso/site/berlin/**`).
 *
 * @example
 * ```ts
 * const f = PathFilter.parse('/org/contoso/site/* /building/41/**'.replace(' ', ''));
 * f.matches(TwinPath.parse('/org/contoso/site/berlin/building/41/floor/3')); // true
 * ```
 */
export class PathFilter {
  private constructor(
    readonly text: string,
    private readonly parts: readonly string[],
    /**
     * Filters a match must also meet one of (a principal's readable patterns), or undefined
     * for none. A wildcard link or subtree query by a principal is this filter scoped to what
     * it may read, so every shard answers it with exactly those paths and starts no twin
     * outside them. An empty list matches nothing.
     */
    readonly scopes: readonly PathFilter[] | undefined = undefined,
  ) {}

  /**
   * Parses a filter; `within` (filter texts) scopes it: see {@link PathFilter.scopes}.
   *
   * @example
   * ```ts
   * const f = PathFilter.parse('/org/*', ['/org/a/**']);
   * f.matches(TwinPath.parse('/org/a')); // true
   * f.matches(TwinPath.parse('/org/b')); // false
   * ```
   */
  static parse(text: string, within?: readonly string[]): PathFilter {
    const plain = PathFilter.parsePlain(text);
    return within === undefined ? plain : plain.within(within);
  }

  /** This filter scoped to `within` (filter texts); undefined gives the unscoped filter. */
  within(within: readonly string[] | undefined): PathFilter {
    if (within === undefined) return this.scopes === undefined ? this : new PathFilter(this.text, this.parts);
    return new PathFilter(
      this.text,
      this.parts,
      within.map((w) => PathFilter.parsePlain(w)),
    );
  }

  /** The texts of {@link PathFilter.scopes}, as they cross to worker threads. */
  get scopeTexts(): readonly string[] | undefined {
    return this.scopes?.map((s) => s.text);
  }

  private static parsePlain(text: string): PathFilter {
    if (typeof text !== 'string' || text.length === 0) throw filterError(String(text), 'empty filter');
    const canonical = text.startsWith('/') ? text : '/' + text;
    const parts = canonical.slice(1).split('/');
    for (const part of parts) {
      if (part === ONE || part === ANY) continue;
      if (part.includes('*')) throw filterError(text, `"*" must stand alone in a segment, found "${part}"`);
      try {
        TwinPath.parse('/' + part);
      } catch (err) {
        throw filterError(text, (err as Error).message);
      }
    }
    return new PathFilter('/' + parts.join('/'), parts);
  }

  /** True when the text contains a wildcard segment (else it names exactly one path). */
  static isFilter(text: string): boolean {
    return text.includes('*');
  }

  /** The longest literal prefix (the subtree that holds every match), or null if it starts with a wildcard. */
  get literalPrefix(): TwinPath | null {
    const lit: string[] = [];
    for (const p of this.parts) {
      if (p === ONE || p === ANY) break;
      lit.push(p);
    }
    return lit.length === 0 ? null : TwinPath.of(lit);
  }

  get isExact(): boolean {
    return !this.parts.some((p) => p === ONE || p === ANY);
  }

  matches(path: TwinPath): boolean {
    if (!globMatch(this.parts, path.segments)) return false;
    return this.scopes === undefined || this.scopes.some((s) => s.matches(path));
  }

  toString(): string {
    return this.text;
  }
}

/**
 * Segment glob matching with backtracking to the last `**` only, which keeps it linear
 * in practice (the classic wildcard algorithm, applied to segments instead of characters).
 */
function globMatch(pattern: readonly string[], segs: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < segs.length) {
    const part = pattern[p];
    if (part === ANY) {
      starP = p++;
      starS = s;
    } else if (part !== undefined && (part === ONE || part === segs[s])) {
      p++;
      s++;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (pattern[p] === ANY) p++;
  return p === pattern.length;
}

function filterError(text: string, reason: string): TwinError {
  return new TwinError('TWIN_FILTER_INVALID', `invalid path filter "${text}": ${reason}`, { filter: text, reason });
}
