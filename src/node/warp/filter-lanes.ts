import { TwinError } from '../../errors.js';
import type { TwinModel } from '../../model/twin-model.js';
import type { PathFilter, RoutePattern } from '../../topology/index.js';

/**
 * Why a wildcard link to `lane` under `filter` can never receive anything, or undefined
 * when it may: TWIN_LANE_NOT_FOUND when models are routed under the filter and none of them
 * has the lane. Twins exist only at routed paths and a model's lanes are fixed, so the
 * models alone decide it (no twin is read). A filter no model is routed under is left to
 * link (it stays empty), as a filter is not a node that can be "not found".
 *
 * @example
 * ```ts
 * laneUnderFilter(rt.catalog.models, PathFilter.parse('/org/a/room/*'), 'hvac');
 * // TwinError TWIN_LANE_NOT_FOUND when no model routed like /org/a/room/:x has a lane "hvac"
 * ```
 */
export function laneUnderFilter(models: readonly TwinModel[], filter: PathFilter, lane: string): TwinError | undefined {
  const parts = filter.text.slice(1).split('/');
  let routed = false;
  for (const model of models) {
    if (!mayMeet(parts, model.route)) continue;
    if (Object.hasOwn(model.def.lanes, lane)) return undefined;
    routed = true;
  }
  if (!routed) return undefined;
  return new TwinError('TWIN_LANE_NOT_FOUND', `no model routed under ${filter.text} has a lane "${lane}"`, {
    node: filter.text,
    lane,
  });
}

/**
 * True when some path matches both the filter (its segments: literals, `*` for one segment,
 * `**` for any number) and the route (literals and one-segment parameters, of fixed depth).
 * A table over (filter segment, route segment), so `**` after `**` stays linear in size.
 */
function mayMeet(parts: readonly string[], route: RoutePattern): boolean {
  const n = parts.length;
  const d = route.depth;
  // can[i * (d + 1) + j]: filter segments i.. can match route segments j..
  const can = new Uint8Array((n + 1) * (d + 1));
  can[n * (d + 1) + d] = 1;
  for (let i = n - 1; i >= 0; i--) {
    const part = parts[i]!;
    for (let j = d; j >= 0; j--) {
      let ok: boolean;
      if (part === '**') ok = can[(i + 1) * (d + 1) + j] === 1 || (j < d && can[i * (d + 1) + j + 1] === 1);
      else if (j === d) ok = false;
      else {
        const literal = route.literalAt(j);
        ok = (part === '*' || literal === undefined || literal === part) && can[(i + 1) * (d + 1) + j + 1] === 1;
      }
      can[i * (d + 1) + j] = ok ? 1 : 0;
    }
  }
  return can[0] === 1;
}
