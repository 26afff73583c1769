import { TwinError } from '../../errors.js';
import { flagOrEnv, readNumber } from './flags.js';
import { DEFAULT_MAX_PAYLOAD_DEPTH } from '../../store/plain-data.js';
import { DEFAULT_MAX_RATE_KEYS } from '../ingest/ingest-quota.js';

/** Bounds on what one input may cost a node, whatever front it came through (docs/limits.md). */
export interface LimitOptions {
  /** Deepest nesting of an event's data or a command's value (default {@link DEFAULT_MAX_PAYLOAD_DEPTH}). */
  maxPayloadDepth?: number;
  /**
   * Ingest rate per sender (principal, else MQTT client id, else remote address) over HTTP
   * `POST /events`, MQTT PUBLISH and WARP commands; absent: no default limit (a principal's
   * own `rate` in the access file still applies). `burst` defaults to `eventsPerSecond`,
   * `maxKeys` (senders tracked at once) to 100 000. See docs/limits.md, "Ingest rate".
   */
  ingestRate?: { eventsPerSecond: number; burst?: number; maxKeys?: number };
}

export const LIMIT_FLAGS = {
  'max-payload-depth': { type: 'string' },
  'ingest-rate': { type: 'string' },
  'ingest-burst': { type: 'string' },
} as const;

export const LIMITS_HELP = `
  --max-payload-depth <n>  deepest nesting of event data or a command value (default ${DEFAULT_MAX_PAYLOAD_DEPTH}; deeper: 400 / MQTT 0x99)
  --ingest-rate <n>        events per second each sender (principal, else MQTT client id, else address) may
                           ingest over HTTP, MQTT and WARP commands; 0 = off (env TWINFLOW_INGEST_RATE, default off;
                           over it: HTTP 429 + Retry-After, MQTT 5 PUBACK 0x97, MQTT 3.1.1 slowed down)
  --ingest-burst <n>       events a sender may send at once before the rate applies (env TWINFLOW_INGEST_BURST,
                           default: the rate); a principal's own "rate" in the access file overrides both
`;

/** Reads the limit flags (see {@link LIMITS_HELP}), then their TWINFLOW_* variables (blank = unset). */
export function limitsFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv): LimitOptions {
  const setting = (flag: string, envName: string) => flagOrEnv(flag, values[flag] as string | undefined, env, envName);
  const depth = setting('max-payload-depth', 'TWINFLOW_MAX_PAYLOAD_DEPTH');
  const rateSetting = setting('ingest-rate', 'TWINFLOW_INGEST_RATE');
  const burstSetting = setting('ingest-burst', 'TWINFLOW_INGEST_BURST');
  const rate = rateSetting ? readNumber(rateSetting.name, rateSetting.raw) : 0;
  const burst = burstSetting ? readNumber(burstSetting.name, burstSetting.raw) : 0;
  if (burst > 0 && rate === 0)
    throw new Error(`${burstSetting!.name} needs --ingest-rate (TWINFLOW_INGEST_RATE): a burst of what rate?`);
  if (burst > 0 && burst < 1) throw new Error(`${burstSetting!.name} must be 0 (the rate) or >= 1, got ${burst}`);
  return {
    maxPayloadDepth: depth
      ? readNumber(depth.name, depth.raw, { integer: true, min: 1, max: 1000 })
      : DEFAULT_MAX_PAYLOAD_DEPTH,
    ...(rate > 0 && { ingestRate: { eventsPerSecond: rate, burst: burst > 0 ? burst : Math.max(1, rate) } }),
  };
}

/** The quota settings of {@link LimitOptions.ingestRate}, checked (TWIN_CONFIG_INVALID naming the bad one). */
export function resolveIngestRate(option: LimitOptions['ingestRate']): {
  rate?: { eventsPerSecond: number; burst: number };
  maxKeys: number;
} {
  const invalid = (message: string): TwinError => new TwinError('TWIN_CONFIG_INVALID', `ingestRate.${message}`);
  const maxKeys = option?.maxKeys ?? DEFAULT_MAX_RATE_KEYS;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw invalid(`maxKeys must be a positive integer, got ${maxKeys}`);
  if (!option || option.eventsPerSecond === 0) return { maxKeys };
  const { eventsPerSecond } = option;
  const burst = option.burst ?? Math.max(1, eventsPerSecond);
  if (!(eventsPerSecond > 0) || !Number.isFinite(eventsPerSecond))
    throw invalid(`eventsPerSecond must be a number > 0 (or 0: off), got ${eventsPerSecond}`);
  if (!(burst >= 1) || !Number.isFinite(burst)) throw invalid(`burst must be a number >= 1, got ${burst}`);
  return { rate: { eventsPerSecond, burst }, maxKeys };
}
