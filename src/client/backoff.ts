import type { ReconnectOptions } from './types.js';

/**
 * The delay before reconnect attempt `attempt` (0-based): `initial × factor^attempt`,
 * capped at `max`, plus up to `jitter` of itself at random.
 *
 * @example
 * ```ts
 * backoffDelay(3, { initialDelayMs: 100, jitter: 0 }); // 800
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: ReconnectOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 15_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  const base = Math.min(max, initial * Math.pow(factor, Math.min(attempt, 30)));
  return Math.round(base * (1 + jitter * random()));
}
