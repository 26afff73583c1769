import { TwinError } from '../errors.js';
import { PathFilter, TwinPath } from '../topology/index.js';
import { rightBit, type Right, type RightBits } from './rights.js';

/** Placeholders a grant's path pattern may hold as whole segments, bound per connection. */
export type GrantVariable = 'principal' | 'clientId';

/** One grant as configured: rights on a path pattern, placeholders not yet bound. */
export interface GrantTemplate {
  /** Pattern text with the project's wildcards and `{principal}` / `{clientId}` segments. */
  readonly pattern: string;
  readonly bits: RightBits;
}

const PLACEHOLDER = /^\{(principal|clientId)\}$/;

/**
 * Checks a grant pattern as written in the access file: the project's path filter syntax,
 * with `{principal}` and `{clientId}` allowed as whole segments. Throws TWIN_CONFIG_INVALID.
 *
 * @example
 * ```ts
 * checkGrantPattern('/org/contoso/devices/{clientId}'); // ok
 * ```
 */
export function checkGrantPattern(pattern: string): void {
  if (typeof pattern !== 'string' || !pattern.startsWith('/'))
    throw new TwinError('TWIN_CONFIG_INVALID', `grant path "${String(pattern)}" must start with "/"`);
  const probe = pattern
    .split('/')
    .map((s) => (PLACEHOLDER.test(s) ? 'x' : s))
    .join('/');
  if (/[{}]/.test(probe))
    throw new TwinError(
      'TWIN_CONFIG_INVALID',
      `grant path "${pattern}": only {principal} and {clientId} may stand for a segment, each alone in it`,
    );
  try {
    PathFilter.parse(probe);
  } catch (err) {
    throw new TwinError('TWIN_CONFIG_INVALID', `grant path "${pattern}": ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
}

/**
 * Grant rules indexed by their pattern's literal prefix (`/org/a/**` under `org` → `a`). A
 * decision walks the path's segments down the trie and tests only the rules whose prefix the
 * path has: with hundreds of grants on distinct subtrees a check costs its depth plus a few
 * glob matches, not one per grant (a gateway ingesting for 40 k sensors misses the per-path
 * cache on every new path).
 */
interface TrieNode {
  readonly rules: { filter: PathFilter; bits: RightBits }[];
  readonly children: Map<string, TrieNode>;
}

class RuleTrie {
  private readonly root: TrieNode = { rules: [], children: new Map() };

  add(filter: PathFilter, bits: RightBits): void {
    let node = this.root;
    for (const seg of filter.literalPrefix?.segments ?? []) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = { rules: [], children: new Map() }));
      node = next;
    }
    node.rules.push({ filter, bits });
  }

  bitsFor(path: TwinPath): RightBits {
    let bits = 0;
    let node: TrieNode | undefined = this.root;
    const segs = path.segments;
    for (let i = 0; node; i++) {
      for (const r of node.rules) if ((bits & r.bits) !== r.bits && r.filter.matches(path)) bits |= r.bits;
      node = i < segs.length ? node.children.get(segs[i]!) : undefined;
    }
    return bits;
  }
}

/** How many path decisions a grant set remembers before it starts over (a bound, not a tuning knob). */
const CACHE_LIMIT = 4096;

/**
 * The grants of one principal on one connection, placeholders bound: the answer to "may it
 * do this here?". Decisions are cached per path, so a check costs a map lookup after the
 * first; a link or subscription is checked once when it is made, never per event.
 *
 * @example
 * ```ts
 * const g = GrantSet.bind([{ pattern: '/org/a/**', bits: 1 }], { principal: 'app' });
 * g.allows('read', '/org/a/site/s1'); // true
 * g.allows('read', '/org/b');         // false
 * ```
 */
export class GrantSet {
  /** No rights anywhere. */
  static readonly NONE = new GrantSet([]);
  /** Every right everywhere: a node without access rules configured. */
  static readonly ALL = new GrantSet([{ filter: PathFilter.parse('/**'), bits: 15 }]);

  private readonly cache = new Map<string, RightBits>();
  /** Rules by the literal segments their pattern starts with, so a path meets only rules that can match it. */
  private readonly index = new RuleTrie();
  /** Stable text of the bound grants: equal when two sets decide alike (used to spot changes on reload). */
  readonly fingerprint: string;

  private constructor(private readonly rules: readonly { filter: PathFilter; bits: RightBits }[]) {
    for (const r of rules) this.index.add(r.filter, r.bits);
    this.fingerprint = rules
      .map((r) => `${r.bits}:${r.filter.text}`)
      .sort()
      .join('\n');
  }

  /**
   * Binds templates for one connection. A grant whose placeholder has no value, or a value
   * that is not one valid path segment (`a/b`, `*`, empty), is left out: it grants nothing.
   */
  static bind(templates: readonly GrantTemplate[], vars: Partial<Record<GrantVariable, string>>): GrantSet {
    const rules: { filter: PathFilter; bits: RightBits }[] = [];
    for (const t of templates) {
      const text = bindPattern(t.pattern, vars);
      if (text !== undefined) rules.push({ filter: PathFilter.parse(text), bits: t.bits });
    }
    return rules.length === 0 ? GrantSet.NONE : new GrantSet(rules);
  }

  /** True when `right` is granted on `path` (a canonical path text; anything unparsable is refused). */
  allows(right: Right, path: string): boolean {
    return (this.bitsAt(path) & rightBit(right)) !== 0;
  }

  /** True when `right` is granted on every path (a `/**` grant): what node-wide admin resources need. */
  allowsEverywhere(right: Right): boolean {
    const bit = rightBit(right);
    return this.rules.some((r) => r.filter.text === '/**' && (r.bits & bit) !== 0);
  }

  /** True when `right` is granted somewhere: the least a wildcard link or subscription needs to be made. */
  allowsAnywhere(right: Right): boolean {
    const bit = rightBit(right);
    return this.rules.some((r) => (r.bits & bit) !== 0);
  }

  /**
   * The patterns that grant `right`, or undefined when one of them covers every path. A
   * wildcard link or subtree query is run within these, so it yields only paths the
   * principal may read and starts no twin outside them.
   */
  scopes(right: Right): readonly string[] | undefined {
    const bit = rightBit(right);
    const out: string[] = [];
    for (const r of this.rules) {
      if ((r.bits & bit) === 0) continue;
      if (r.filter.text === '/**') return undefined;
      out.push(r.filter.text);
    }
    return out;
  }

  private bitsAt(path: string): RightBits {
    const hit = this.cache.get(path);
    if (hit !== undefined) return hit;
    let bits = 0;
    let parsed: TwinPath | undefined;
    try {
      parsed = TwinPath.parse(path);
    } catch {
      parsed = undefined; // no rights on what is not a path
    }
    if (parsed) bits = this.index.bitsFor(parsed);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(path, bits);
    return bits;
  }
}

function bindPattern(pattern: string, vars: Partial<Record<GrantVariable, string>>): string | undefined {
  if (!pattern.includes('{')) return pattern;
  const out: string[] = [];
  for (const seg of pattern.split('/')) {
    const m = PLACEHOLDER.exec(seg);
    if (!m) {
      out.push(seg);
      continue;
    }
    const value = vars[m[1] as GrantVariable];
    if (value === undefined || !isSegment(value)) return undefined;
    out.push(value);
  }
  return out.join('/');
}

/** One valid path segment, no wildcard: what a placeholder may stand for. */
function isSegment(value: string): boolean {
  if (value.length === 0 || value.includes('/') || value.includes('*')) return false;
  try {
    return TwinPath.parse('/' + value).depth === 1;
  } catch {
    return false;
  }
}
