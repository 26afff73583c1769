import type { LaneEvent } from '../protocol/lane-events.js';

export type { LaneEvent };

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
