import { randomUUID } from 'node:crypto';
import { TwinError } from '../errors.js';
import type { TwinEvent } from '../model/twin-model.js';
import { normalisePath } from '../topology/index.js';
import { checkPayload, DEFAULT_MAX_PAYLOAD_DEPTH } from '../store/plain-data.js';

/** An event as callers hand it in: CloudEvent attributes, with defaults for the optional ones. */
export interface EventInput {
  /** The twin path (CloudEvents `subject`). */
  subject: string;
  /** Event type; the building model's sensors take `reading`. Default `reading`. */
  type?: string;
  data?: unknown;
  /** With `source`, the dedupe key. Generated when absent. */
  id?: string;
  source?: string;
  /** Epoch ms or an RFC 3339 string; default: the runtime clock's now. */
  time?: number | string;
}

/** Longest `type`, `source` and `id` of an event (characters). */
export const MAX_ID_LENGTH = 256;

/**
 * Turns untrusted input into a {@link TwinEvent} or throws a TwinError naming the field.
 * Paths are normalised through a bounded cache: devices repeat the same subjects, and
 * parsing each once keeps the hot path to a map lookup.
 */
export class EventNormaliser {
  private readonly paths = new Map<string, string>();
  private seq = 0;
  /**
   * Generated ids are `<boot>-<n>`: a counter alone would restart at 1 with the process,
   * and the persisted dedupe windows would then drop new id-less events as redeliveries.
   */
  private readonly boot = randomUUID().slice(0, 8);

  constructor(
    private readonly now: () => number,
    private readonly maxDepth = DEFAULT_MAX_PAYLOAD_DEPTH,
    private readonly cacheLimit = 200_000,
  ) {}

  path(raw: string): string {
    const hit = this.paths.get(raw);
    if (hit !== undefined) return hit;
    const text = normalisePath(raw);
    if (this.paths.size >= this.cacheLimit) this.paths.clear();
    this.paths.set(raw, text);
    return text;
  }

  event(input: EventInput): TwinEvent {
    if (input === null || typeof input !== 'object') throw invalid('an event must be an object');
    if (typeof input.subject !== 'string') throw invalid('"subject" (the twin path) is required and must be a string');
    const subject = this.path(input.subject);
    const type = input.type ?? 'reading';
    if (typeof type !== 'string' || type.length === 0 || type.length > MAX_ID_LENGTH)
      throw invalid(attributeFault('type', type));
    const source = input.source ?? 'twinflow:api';
    if (typeof source !== 'string' || source.length === 0 || source.length > MAX_ID_LENGTH)
      throw invalid(attributeFault('source', source));
    const id = input.id ?? this.nextId();
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) throw invalid(attributeFault('id', id));
    // Bounded before the event is queued for a shard (see checkPayload): one rule for every front.
    checkPayload(input.data, this.maxDepth, 'the event data');
    return { id, source, type, subject, time: this.time(input.time), data: input.data ?? null };
  }

  /** A fresh id, unique across restarts of this process (see `boot`). */
  nextId(): string {
    return `${this.boot}-${++this.seq}`;
  }

  private time(t: number | string | undefined): number {
    if (t === undefined) return this.now();
    const ms = typeof t === 'number' ? t : Date.parse(t);
    if (!Number.isFinite(ms)) throw invalid(`"time" is not a valid timestamp: ${JSON.stringify(t)}`);
    return ms;
  }
}

/** Why `id`, `source` or `type` was refused: which bound it broke. */
function attributeFault(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) return `"${name}" must be a non-empty string`;
  return `"${name}" must be at most ${MAX_ID_LENGTH} characters long (it has ${v.length})`;
}

function invalid(reason: string): TwinError {
  return new TwinError('TWIN_EVENT_INVALID', `invalid event: ${reason}`, { reason });
}
