import { randomBytes } from 'node:crypto';
import { TwinError } from '../../errors.js';
import type { EventInput } from '../../runtime/event-input.js';
import { decodeBinary, decodeStructured } from './cloudevent.js';

/** Content type of CloudEvents structured mode. */
export const CE_JSON = 'application/cloudevents+json';

/** Default largest accepted MQTT payload (bytes). */
export const DEFAULT_MAX_PAYLOAD = 256 * 1024;

/**
 * Maps MQTT topics to twin paths and back: topic `<prefix>org/contoso/…/sensors/climate`
 * is path `/org/contoso/…/sensors/climate`.
 *
 * Topics outside the prefix, `$`-topics and the runtime's own output namespace
 * (`…/signals/<type>`, `…/commands/<name>`) are not ingested: a runtime subscribed to `#`
 * would otherwise read back its own outputs. Results are cached because devices repeat
 * the same few topics, and a string-keyed Map hit is far cheaper than re-slicing.
 *
 * @example
 * ```ts
 * const topics = new TopicMap('tf/');
 * topics.pathOf('tf/org/contoso/site/berlin'); // '/org/contoso/site/berlin'
 * topics.topicOf('/org/contoso/site/berlin');  // 'tf/org/contoso/site/berlin'
 * ```
 */
export class TopicMap {
  private readonly cache = new Map<string, string | null>();

  constructor(
    readonly prefix = '',
    private readonly cacheLimit = 100_000,
  ) {}

  /** The twin path of an inbound topic, or null when the topic is not for ingestion. */
  pathOf(topic: string): string | null {
    const hit = this.cache.get(topic);
    if (hit !== undefined) return hit;
    const path = this.compute(topic);
    if (this.cache.size >= this.cacheLimit) this.cache.clear();
    this.cache.set(topic, path);
    return path;
  }

  /**
   * The error for a topic that names a twin with a leading `/` (`/org/…`): topics are paths
   * without it (docs/ingestion.md), and path validation would report `//org/…`, a path the
   * sender never wrote. Null for any other topic (other malformed paths are the runtime's).
   */
  leadingSlash(topic: string): TwinError | null {
    if (topic.charCodeAt(this.prefix.length) !== 0x2f || !topic.startsWith(this.prefix)) return null;
    const after = this.prefix === '' ? '' : ` after the prefix "${this.prefix}"`;
    const fixed = this.prefix + topic.slice(this.prefix.length).replace(/^\/+/, '');
    return new TwinError(
      'TWIN_PATH_INVALID',
      `MQTT topic "${topic}" must not start with "/"${after}: topic "${fixed}" is the twin "/${fixed.slice(this.prefix.length)}"`,
      { topic },
    );
  }

  /** The topic of a path (`/a/b` → `<prefix>a/b`). */
  topicOf(path: string): string {
    return this.prefix + (path.charCodeAt(0) === 0x2f ? path.slice(1) : path);
  }

  private compute(topic: string): string | null {
    if (topic.charCodeAt(0) === 0x24 /* $ */ || !topic.startsWith(this.prefix)) return null;
    const rest = topic.slice(this.prefix.length);
    const last = rest.lastIndexOf('/');
    const kind = rest.slice(rest.lastIndexOf('/', last - 1) + 1, last);
    if (kind === 'signals' || kind === 'commands') return null;
    // Malformed paths (empty segments, wildcards) are left for the runtime's path
    // validation, which rejects them with TWIN_PATH_INVALID and a dead letter.
    return '/' + rest;
  }
}

/** An MQTT PUBLISH as the fronts see it (mqtt-packet's shape, reduced). */
export interface MqttMessage {
  topic: string;
  payload: Buffer;
  properties?: { contentType?: string; userProperties?: Record<string, string | string[]> } | undefined;
}

export interface MqttDecodeOptions {
  /** CloudEvent attribute naming the twin path (default `subject`); the topic's path when absent. */
  pathAttribute?: string;
  maxPayloadBytes?: number;
}

/**
 * Turns one MQTT message into an event, or throws a TwinError (`TWIN_PAYLOAD_TOO_LARGE`,
 * `TWIN_PAYLOAD_INVALID`, `TWIN_CLOUDEVENT_INVALID`). Payload modes, per the CloudEvents
 * MQTT binding:
 * - binary (MQTT 5): a `specversion` user property; attributes are user properties,
 *   `datacontenttype` is the Content Type, the payload is the data;
 * - structured: Content Type `application/cloudevents+json`, or (for MQTT 3.1.1, which
 *   has no content type) a JSON object with a `specversion` member;
 * - plain JSON: anything else is a `reading` of the topic's twin, with source
 *   `mqtt://<client id>`, a generated id and the arrival time.
 *
 * @example
 * ```ts
 * const decode = new MqttDecoder();
 * const input = decode.message({ topic: 'org/a/site/b/sensors/x', payload: Buffer.from('{"v":1}') }, '/org/a/site/b/sensors/x', 'dev-1');
 * ```
 */
export class MqttDecoder {
  private readonly boot = randomBytes(6).toString('base64url');
  private seq = 0;
  private readonly maxPayload: number;

  constructor(private readonly options: MqttDecodeOptions = {}) {
    this.maxPayload = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD;
  }

  message(msg: MqttMessage, path: string, clientId: string): EventInput {
    const payload = msg.payload;
    if (payload.length > this.maxPayload)
      throw new TwinError(
        'TWIN_PAYLOAD_TOO_LARGE',
        `payload of ${payload.length} bytes exceeds the limit of ${this.maxPayload}`,
        { size: payload.length, limit: this.maxPayload },
      );
    const props = msg.properties;
    const user = props?.userProperties;
    const ceOptions = { fallbackPath: path, pathAttribute: this.options.pathAttribute };
    if (user !== undefined && user.specversion !== undefined) {
      return decodeBinary((n) => single(user[n]), payload, props?.contentType, ceOptions);
    }
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      throw new TwinError('TWIN_PAYLOAD_INVALID', `payload is not valid JSON: ${(err as Error).message}`);
    }
    if (props?.contentType !== undefined && props.contentType.startsWith(CE_JSON))
      return decodeStructured(body, ceOptions);
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'specversion' in body)
      return decodeStructured(body, ceOptions);
    // The boot prefix keeps generated ids unique across restarts: the dedupe window is
    // persisted, and a counter restarting at 1 would make new readings look redelivered.
    return { subject: path, source: `mqtt://${clientId}`, id: `${this.boot}.${(++this.seq).toString(36)}`, data: body };
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
