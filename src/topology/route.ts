import { TwinError } from '../errors.js';
import type { TwinPath } from './path.js';

type RouteSegment = { literal: string } | { param: string };

/** Parameters bound by a route match, e.g. `{ org: 'contoso', building: '41' }`. */
export type RouteParams = Readonly<Record<string, string>>;

/**
 * A route pattern that binds paths of one shape to a model, e.g.
 * `/org/:org/site/:site/building/:building`. `:name` matches exactly one segment and
 * binds it; every other segment must match literally. A route matches paths of its
 * own depth only, so the building route does not swallow the building's floors.
 *
 * @example
 * ```ts
 * const r = RoutePattern.parse('/org/:org/site/:site');
 * r.match(TwinPath.parse('/org/contoso/site/berlin')); // { org: 'contoso', site: 'berlin' }
 * ```
 */
export class RoutePattern {
  /** Each segment's literal, or undefined for a parameter (read by the text tests without `in` checks). */
  private readonly literals: readonly (string | undefined)[];

  private constructor(
    readonly text: string,
    private readonly parts: readonly RouteSegment[],
  ) {
    this.literals = parts.map((p) => ('literal' in p ? p.literal : undefined));
  }

  static parse(pattern: string): RoutePattern {
    if (typeof pattern !== 'string' || !pattern.startsWith('/') || pattern.length < 2) {
      throw routeError(pattern, 'a route starts with "/" and has at least one segment');
    }
    const names = new Set<string>();
    const parts = pattern
      .slice(1)
      .split('/')
      .map((seg): RouteSegment => {
        if (seg.length === 0) throw routeError(pattern, 'empty segment');
        if (seg.startsWith(':')) {
          const param = seg.slice(1);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(param)) throw routeError(pattern, `bad parameter name "${seg}"`);
          if (names.has(param)) throw routeError(pattern, `parameter "${param}" appears twice`);
          names.add(param);
          return { param };
        }
        if (/[*#+\s]/.test(seg) || seg === '.' || seg === '..')
          throw routeError(pattern, `bad literal segment "${seg}"`);
        return { literal: seg };
      });
    return new RoutePattern(pattern, parts);
  }

  get depth(): number {
    return this.parts.length;
  }

  /** Names of the parameters, in path order. */
  get params(): string[] {
    return this.parts.flatMap((p) => ('param' in p ? [p.param] : []));
  }

  /** Cheap structural test with no allocation. */
  test(path: TwinPath): boolean {
    const segs = path.segments;
    if (segs.length !== this.parts.length) return false;
    for (let i = 0; i < segs.length; i++) {
      const part = this.parts[i]!;
      if ('literal' in part && part.literal !== segs[i]) return false;
    }
    return true;
  }

  /**
   * {@link RoutePattern.test} on the canonical text of a path (the text of a
   * {@link TwinPath}) cut at `end`, which has `depth` segments: no segment array, no
   * substring. Activating a twin tests its path and each ancestor this way.
   */
  testText(text: string, end: number, depth: number): boolean {
    const literals = this.literals;
    if (depth !== literals.length) return false;
    let start = 1;
    for (let i = 0; i < literals.length; i++) {
      let stop = text.indexOf('/', start);
      if (stop < 0 || stop > end) stop = end;
      const literal = literals[i];
      if (literal !== undefined && (stop - start !== literal.length || !text.startsWith(literal, start))) return false;
      start = stop + 1;
    }
    return true;
  }

  /** The literal of segment `i`, or undefined where the route has a parameter. */
  literalAt(i: number): string | undefined {
    return this.literals[i];
  }

  /** The bound parameters, or null when the path does not match. */
  match(path: TwinPath): RouteParams | null {
    if (!this.test(path)) return null;
    const params: Record<string, string> = {};
    const segs = path.segments;
    for (let i = 0; i < segs.length; i++) {
      const part = this.parts[i]!;
      if ('param' in part) params[part.param] = segs[i]!;
    }
    return params;
  }

  /** Whether a path of this route can have a child of `child` route (this one is a strict prefix shape). */
  couldBeAncestorOf(child: RoutePattern): boolean {
    if (child.parts.length <= this.parts.length) return false;
    for (let i = 0; i < this.parts.length; i++) {
      const a = this.parts[i]!;
      const b = child.parts[i]!;
      if ('literal' in a && 'literal' in b && a.literal !== b.literal) return false;
    }
    return true;
  }

  toString(): string {
    return this.text;
  }
}

function routeError(pattern: string, reason: string): TwinError {
  return new TwinError('TWIN_ROUTE_INVALID', `invalid route "${pattern}": ${reason}`, { route: pattern, reason });
}
