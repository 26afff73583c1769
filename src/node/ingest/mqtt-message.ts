import { randomBytes } from 'node:crypto';
import { TwinError } from '../../errors.js';
import { MAX_ID_LENGTH, type EventInput } from '../../actors/event-input.js';
import { decodeBinary, decodeStructured } from './cloudevent.js';

/** Content type of CloudEvents structured mode. */
export const CE_JSON = 'application/cloudevents+json';

/** What precedes the client id in the `source` of a plain reading (`mqtt://<client id>`). */
const SOURCE_SCHEME = 'mqtt://';

/**
 * Longest MQTT client id (characters) whose plain readings have a valid `source`:
 * `mqtt://<client id>` within the event source limit. The embedded broker refuses a
 * longer one at CONNECT (3.1.1 return code 2, MQTT 5 0x85), since every reading it sent
 * would be refused (docs/ingestion.md, "Limits of the embedded broker").
 */
export const MAX_CLIENT_ID_LENGTH = MAX_ID_LENGTH - SOURCE_SCHEME.length;

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

/**
 * Most levels a topic filter may have: aedes' matcher (qlobber) takes at most 100 words, and
 * aedes refuses deeper topics (its `maxTopicLevels`, default and ceiling 100).
 */
export const MAX_TOPIC_FILTER_LEVELS = 100;

/**
 * Why a SUBSCRIBE / UNSUBSCRIBE topic filter is not valid (MQTT 5 §4.7, 3.1.1 §4.7), or null
 * when it is: it must not be empty or contain U+0000, `#` must be alone in the last level, `+`
 * alone in its level; and it may have at most {@link MAX_TOPIC_FILTER_LEVELS} levels.
 * mqtt-packet decodes a filter that is not well-formed UTF-8 without a word, so the embedded
 * broker's wire marks it with U+0000 first (see FilterUtf8Marker): refused here like one sent
 * with U+0000 (MQTT §1.5.4 forbids both). Both protocol levels of the embedded broker
 * check every filter with it before anything is recorded: aedes' own check misses some
 * (`a#`, `a+/b`, U+0000), and its matcher throws on an empty one.
 *
 * @example
 * ```ts
 * topicFilterError('org/+/site/#'); // null
 * topicFilterError('#/x');          // '"#" must be the last level, alone in it'
 * ```
 */
export function topicFilterError(filter: string): string | null {
  if (filter.length === 0) return 'empty topic filter';
  if (filter.includes('\u0000')) return 'U+0000 or bytes that are not UTF-8 in a topic filter (MQTT 1.5.4)';
  const levels = filter.split('/');
  if (levels.length > MAX_TOPIC_FILTER_LEVELS) return `more than ${MAX_TOPIC_FILTER_LEVELS} levels`;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return '"#" must be the last level, alone in it';
    if (level.includes('+') && level !== '+') return '"+" must be alone in its level';
  }
  return null;
}

/** At most the first 200 characters of a client id or topic, for a log line (either may be 64 KiB). */
export function clientText(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
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
    // MQTT 5 user properties are UTF-8 strings as they are: the MQTT binding does not percent-encode them.
    const ceOptions = { fallbackPath: path, pathAttribute: this.options.pathAttribute, percentEncoded: false };
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
    return {
      subject: path,
      source: SOURCE_SCHEME + clientId,
      id: `${this.boot}.${(++this.seq).toString(36)}`,
      data: body,
    };
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
