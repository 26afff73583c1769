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

/**
 * Receives lane events; `onSynced` marks the end of the initial state of a sync.
 * `path` names the twin the event comes from (what wildcard links need).
 */
export interface LaneObserver {
  onEvent(event: LaneEvent, path: string): void;
  onSynced?(): void;
}

/** The lane kinds twinflow knows. */
export type LaneKind = 'value' | 'map' | 'command' | 'join' | 'demand' | 'supply' | 'window';
