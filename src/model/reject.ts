import { TwinError } from '../errors.js';

/**
 * Rejects the input the current hook is handling as invalid: the turn rolls back and the
 * sender gets `TWIN_PAYLOAD_REJECTED` with `reason` (HTTP 422, MQTT 5 PUBACK 0x99), exactly
 * as with `ctx.reject(reason)`.
 *
 * Prefer it to `ctx.reject` where the check should narrow types. Both return `never`, but
 * TypeScript narrows after a never-returning call only when every name in the callee was
 * declared with an explicit type, and a hook's `ctx` parameter is typed from its context:
 * after `if (!ok) ctx.reject(…)` nothing is narrowed (a TypeScript design limitation,
 * microsoft/TypeScript#37885), after `if (!ok) reject(…)` it is. Call it only from a hook:
 * thrown elsewhere it is an ordinary error.
 *
 * @example
 * ```ts
 * import { reject } from 'twinflow';
 * on: {
 *   reading(ctx, event) {
 *     if (!isReading(event.data)) reject('a reading is a JSON object');
 *     ctx.lanes.latest.set(event.data); // event.data is a Reading here
 *   },
 * }
 * ```
 */
export function reject(reason: string): never {
  // The twin's path is added by the turn runner, which knows which twin ran the hook.
  throw new TwinError('TWIN_PAYLOAD_REJECTED', reason);
}
