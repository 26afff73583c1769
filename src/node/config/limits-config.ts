import { flagOrEnv, readNumber } from './flags.js';
import { DEFAULT_MAX_PAYLOAD_DEPTH } from '../../store/plain-data.js';

/** Bounds on what one input may cost a node, whatever front it came through (docs/limits.md). */
export interface LimitOptions {
  /** Deepest nesting of an event's data or a command's value (default {@link DEFAULT_MAX_PAYLOAD_DEPTH}). */
  maxPayloadDepth?: number;
}

export const LIMIT_FLAGS = {
  'max-payload-depth': { type: 'string' },
} as const;

export const LIMITS_HELP = `
  --max-payload-depth <n>  deepest nesting of event data or a command value (default ${DEFAULT_MAX_PAYLOAD_DEPTH}; deeper: 400 / MQTT 0x99)
`;

/** Reads the limit flags (see {@link LIMITS_HELP}), then their TWINFLOW_* variables (blank = unset). */
export function limitsFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv): LimitOptions {
  const depth = flagOrEnv(
    'max-payload-depth',
    values['max-payload-depth'] as string | undefined,
    env,
    'TWINFLOW_MAX_PAYLOAD_DEPTH',
  );
  return {
    maxPayloadDepth: depth
      ? readNumber(depth.name, depth.raw, { integer: true, min: 1, max: 1000 })
      : DEFAULT_MAX_PAYLOAD_DEPTH,
  };
}
