/**
 * What a lane tells its observers. Value-shaped lanes (value, command, demand, supply,
 * sliding window) emit `value`; keyed lanes (map, join, tumbling/hopping window) emit
 * `update`, `remove` and `clear`. The same shapes are what WARP `@event` bodies carry.
 */
export type LaneEvent =
  | { readonly type: 'value'; readonly value: unknown }
  | { readonly type: 'update'; readonly key: string; readonly value: unknown }
  | { readonly type: 'remove'; readonly key: string }
  | { readonly type: 'clear' };
