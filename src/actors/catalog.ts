import { TwinError } from '../errors.js';
import type { JoinSpec } from '../model/lane-specs.js';
import { TwinPath, defaultShardKey, subtreeShardKey, type RouteParams, type ShardKeyFn } from '../topology/index.js';
import type { TwinModel } from '../model/twin-model.js';

/** One parent join lane fed by a child lane, with the join's projection if it has one. */
export interface JoinTarget {
  readonly lane: string;
  readonly project: ((value: unknown) => unknown) | undefined;
}

/** For each lane of a child model (by index), the parent's join lanes fed by it. */
export type UpJoins = readonly (readonly JoinTarget[] | undefined)[];

export interface Resolved {
  readonly model: TwinModel;
  readonly params: RouteParams;
}

/**
 * The set of models of a runtime: which model a path belongs to, which twin is a path's
 * parent, which child lanes feed which parent joins, and which shard key applies.
 * Everything that can be computed from the models alone is computed once here.
 */
export class ModelCatalog {
  private readonly byDepth = new Map<number, TwinModel[]>();
  private readonly byName = new Map<string, TwinModel>();
  /** child model → the models its parent can have, nearest first (see {@link ModelCatalog.parentCandidates}). */
  private readonly parentTable = new Map<TwinModel, readonly ParentCandidate[]>();
  /** child model → parent model → up-joins (keyed by the model objects: no key strings per activation). */
  private readonly upJoinTable = new Map<TwinModel, Map<TwinModel, UpJoins>>();

  constructor(
    readonly models: readonly TwinModel[],
    private readonly fallbackShardKey: ShardKeyFn = defaultShardKey,
  ) {
    for (const m of models) {
      if (this.byName.has(m.name)) throw invalid(`two models are named "${m.name}"`);
      this.byName.set(m.name, m);
      const same = this.byDepth.get(m.route.depth) ?? [];
      const clash = same.find((o) => o.route.text === m.route.text);
      if (clash) throw invalid(`models "${clash.name}" and "${m.name}" share the route ${m.route.text}`);
      this.byDepth.set(m.route.depth, [...same, m]);
    }
    for (const parent of models) this.indexJoins(parent);
    for (const child of models) this.parentTable.set(child, this.parentCandidates(child));
  }

  /**
   * The models that can be the parent of a twin of `child`, in the order {@link parentOf}
   * tries them (nearest depth first, then model order), each with the segments its route
   * names literally where the child's route has a parameter: only those need testing on a
   * path the child's route matched (where both routes name a literal, it is the same one,
   * or the parent could never be an ancestor and is left out).
   */
  private parentCandidates(child: TwinModel): ParentCandidate[] {
    const out: ParentCandidate[] = [];
    for (let d = child.route.depth - 1; d >= 1; d--) {
      for (const model of this.byDepth.get(d) ?? []) {
        if (!model.route.couldBeAncestorOf(child.route)) continue;
        const checks: [number, string][] = [];
        for (let i = 0; i < d; i++) {
          const literal = model.route.literalAt(i);
          if (literal !== undefined && child.route.literalAt(i) === undefined) checks.push([i, literal]);
        }
        out.push({ depth: d, model, checks });
      }
    }
    return out;
  }

  model(name: string): TwinModel | undefined {
    return this.byName.get(name);
  }

  /** The model and route parameters of a path, or null when no route matches. */
  resolve(path: TwinPath): Resolved | null {
    const candidates = this.byDepth.get(path.depth);
    if (!candidates) return null;
    for (const model of candidates) {
      const params = model.route.match(path);
      if (params) return { model, params };
    }
    return null;
  }

  /** The model of a path, or undefined when no route matches (no parameters bound: cheaper). */
  modelOf(path: TwinPath): TwinModel | undefined {
    const candidates = this.byDepth.get(path.depth);
    if (candidates) for (const model of candidates) if (model.route.test(path)) return model;
    return undefined;
  }

  /**
   * {@link ModelCatalog.modelOf} of a path given as its canonical text (what work items
   * carry) with `depth` segments ({@link textDepth}): routes are tested on the text, so
   * activating a twin builds no `TwinPath`.
   */
  modelOfText(text: string, depth: number): TwinModel | undefined {
    const candidates = this.byDepth.get(depth);
    if (candidates) for (const model of candidates) if (model.route.testText(text, text.length, depth)) return model;
    return undefined;
  }

  /**
   * {@link ModelCatalog.parentOf} of a path given as its canonical text with `depth`
   * segments, whose model is `child`: the candidates are known from the routes (see
   * {@link ModelCatalog.parentCandidates}), so usually nothing is tested and only the
   * parent's own text is sliced out.
   */
  parentOfText(text: string, depth: number, child: TwinModel): { path: string; model: TwinModel } | null {
    const candidates = this.parentTable.get(child);
    if (candidates)
      for (const c of candidates) {
        if (!literalsHold(text, c.checks)) continue;
        let cut = text.length;
        for (let d = depth; d > c.depth; d--) cut = text.lastIndexOf('/', cut - 1);
        return { path: text.slice(0, cut), model: c.model };
      }
    return null;
  }

  /** The nearest ancestor path that is a twin, with its model. */
  parentOf(path: TwinPath): { path: string; at: TwinPath; model: TwinModel } | null {
    for (let depth = path.depth - 1; depth >= 1; depth--) {
      const candidates = this.byDepth.get(depth);
      if (!candidates) continue;
      const prefix = path.prefix(depth);
      for (const model of candidates) if (model.route.test(prefix)) return { path: prefix.text, at: prefix, model };
    }
    return null;
  }

  /** Which parent join lanes each lane of `child` feeds, or undefined when none. */
  upJoins(child: TwinModel, parent: TwinModel): UpJoins | undefined {
    return this.upJoinTable.get(child)?.get(parent);
  }

  shardKey(path: TwinPath, model: TwinModel | undefined): string {
    return (model?.def.shardKey ?? this.fallbackShardKey)(path);
  }

  /**
   * The shard key of every twin at or below `path`, when one key function applies to all
   * models and it guarantees a shared key there (see {@link subtreeShardKey}); else undefined.
   */
  subtreeShardKey(path: TwinPath): string | undefined {
    const fn = this.fallbackShardKey;
    for (const m of this.models) if (m.def.shardKey !== undefined && m.def.shardKey !== fn) return undefined;
    return subtreeShardKey(fn, path);
  }

  private indexJoins(parent: TwinModel): void {
    for (const joinName of parent.laneNames) {
      const spec = parent.def.lanes[joinName]!;
      if (spec.kind !== 'join') continue;
      const join = spec as JoinSpec<unknown>;
      for (const childName of join.from) {
        const child = this.byName.get(childName);
        if (!child) throw invalid(`join "${parent.name}.${joinName}" names unknown model "${childName}"`);
        const laneIndex = child.laneNames.indexOf(join.lane);
        const kind = child.def.lanes[join.lane]?.kind;
        if (laneIndex < 0 || (kind !== 'value' && kind !== 'demand')) {
          throw invalid(`join "${parent.name}.${joinName}" needs value lane "${join.lane}" on model "${childName}"`);
        }
        if (!parent.route.couldBeAncestorOf(child.route)) {
          throw invalid(
            `join "${parent.name}.${joinName}": routes of "${childName}" are never below ${parent.route.text}`,
          );
        }
        let byParent = this.upJoinTable.get(child);
        if (!byParent) this.upJoinTable.set(child, (byParent = new Map()));
        const table = (byParent.get(parent) ?? new Array<JoinTarget[] | undefined>(child.laneNames.length)) as (
          JoinTarget[] | undefined
        )[];
        table[laneIndex] = [...(table[laneIndex] ?? []), { lane: joinName, project: join.project }];
        byParent.set(parent, table);
      }
    }
  }
}

const SLASH = 47;

/** A model a twin's parent may have: at `depth`, if the path's segments named in `checks` are those literals. */
interface ParentCandidate {
  readonly depth: number;
  readonly model: TwinModel;
  readonly checks: readonly (readonly [number, string])[];
}

/** True when segment `i` of the path text is `literal`, for every `[i, literal]` of `checks`. */
function literalsHold(text: string, checks: readonly (readonly [number, string])[]): boolean {
  for (let k = 0; k < checks.length; k++) {
    const [i, literal] = checks[k]!;
    let start = 1;
    for (let j = 0; j < i; j++) start = text.indexOf('/', start) + 1;
    let stop = text.indexOf('/', start);
    if (stop < 0) stop = text.length;
    if (stop - start !== literal.length || !text.startsWith(literal, start)) return false;
  }
  return true;
}

/** Segments of a path's canonical text (its slashes). */
export function textDepth(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === SLASH) depth++;
  return depth;
}

function invalid(reason: string): TwinError {
  return new TwinError('TWIN_MODEL_INVALID', reason, { reason });
}
