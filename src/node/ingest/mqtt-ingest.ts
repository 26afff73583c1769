import { isRetryable, toTwinError, type TwinError } from '../../errors.js';
import type { GrantSet } from '../../access/path-grants.js';
import { ingestRefusal } from '../auth/forbidden.js';
import type { InputNote } from './bad-input.js';
import type { IngestQueue } from './ingest-queue.js';
import type { MqttDecoder, MqttMessage, TopicMap } from './mqtt-message.js';

/** MQTT 5 PUBACK reason codes twinflow answers with (MQTT 5.0 §3.4.2.1). */
export const ReasonCode = {
  SUCCESS: 0x00,
  UNSPECIFIED_ERROR: 0x80,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  NOT_AUTHORIZED: 0x87,
  TOPIC_NAME_INVALID: 0x90,
  QUOTA_EXCEEDED: 0x97,
  PAYLOAD_FORMAT_INVALID: 0x99,
} as const;

/**
 * The PUBACK reason code for an ingest error. `retry` is true when the event was not
 * processed through no fault of its own (store failure, shutdown, overload): the
 * sender should resend it, so an MQTT 3.1.1 front must not acknowledge it at all.
 */
export function reasonFor(error: TwinError): { code: number; retry: boolean } {
  switch (error.code) {
    case 'TWIN_PATH_INVALID':
    case 'TWIN_NO_ROUTE':
      return { code: ReasonCode.TOPIC_NAME_INVALID, retry: false };
    case 'TWIN_PAYLOAD_INVALID':
    case 'TWIN_PAYLOAD_TOO_DEEP':
    case 'TWIN_CLOUDEVENT_INVALID':
    case 'TWIN_EVENT_INVALID':
    case 'TWIN_EVENT_UNHANDLED':
    case 'TWIN_PAYLOAD_REJECTED':
      return { code: ReasonCode.PAYLOAD_FORMAT_INVALID, retry: false };
    case 'TWIN_PAYLOAD_TOO_LARGE':
      return { code: ReasonCode.IMPLEMENTATION_SPECIFIC_ERROR, retry: false };
    case 'TWIN_FORBIDDEN':
    case 'TWIN_UNAUTHENTICATED':
      return { code: ReasonCode.NOT_AUTHORIZED, retry: false };
    case 'TWIN_QUEUE_FULL':
      return { code: ReasonCode.QUOTA_EXCEEDED, retry: true };
    case 'TWIN_STORE_FAILED':
    case 'TWIN_RUNTIME_CLOSED':
      return { code: ReasonCode.UNSPECIFIED_ERROR, retry: true };
    default:
      // The node cannot take it now (the cluster unavailable, the twin's owner moving, over a
      // rate): not acknowledged on 3.1.1, so the device sends it again, as HTTP answers 503.
      if (isRetryable(error.code))
        return {
          code: error.status === 429 ? ReasonCode.QUOTA_EXCEEDED : ReasonCode.UNSPECIFIED_ERROR,
          retry: true,
        };
      // A handler that threw is a bug in the model, not in the message: do not loop on it.
      return { code: ReasonCode.IMPLEMENTATION_SPECIFIC_ERROR, retry: false };
  }
}

/** Topics whose routing {@link MqttIngest.namesTwin} remembers (as many as TopicMap caches paths for). */
const ROUTED_CACHE_LIMIT = 100_000;

/** How a front answers one PUBLISH: `error` null means committed (or not for us). */
export type MqttAck = (error: TwinError | null) => void;

/**
 * The MQTT ingest step every front shares (embedded aedes, the MQTT 5 sessions, the
 * external-broker client): topic → path, payload → event, into the ingest queue.
 * QoS 1 (and 2) are answered after the commit; QoS 0 at once, unless the queue is full,
 * in which case the answer waits (and with it the front's socket reads).
 *
 * @example
 * ```ts
 * mqttIngest.publish({ topic, payload, properties }, 1, clientId, (err) => puback(err ? reasonFor(err).code : 0));
 * ```
 */
export class MqttIngest {
  private readonly routed = new Map<string, boolean>();
  constructor(
    private readonly queue: IngestQueue,
    private readonly topics: TopicMap,
    private readonly decoder: MqttDecoder,
  ) {}

  /**
   * True when a topic names a twin a model is routed to (ingest owns what is published there).
   * Asked of every PUBLISH on a node with access rules (outputs are the node's to publish), so
   * answers are cached per topic: routes do not change while a node runs.
   */
  namesTwin(topic: string): boolean {
    const hit = this.routed.get(topic);
    if (hit !== undefined) return hit;
    const path = this.topics.pathOf(topic);
    const names = path !== null && this.queue.isRouted(path);
    if (this.routed.size >= ROUTED_CACHE_LIMIT) this.routed.clear();
    this.routed.set(topic, names);
    return names;
  }

  /**
   * Ingests one PUBLISH. With `grants` (a node with access rules), the decoded event's
   * subject must be one the sender may `ingest`: a device bound to its own path cannot write
   * another twin, not even by naming it in a CloudEvent `subject`.
   */
  publish(msg: MqttMessage, qos: number, clientId: string, ack: MqttAck, grants?: GrantSet): void {
    const path = this.topics.pathOf(msg.topic);
    if (path === null) return ack(null);
    const note: InputNote = { origin: 'mqtt', where: msg.topic, sender: clientId, payload: msg.payload };
    let input;
    try {
      input = this.decoder.message(msg, path, clientId);
      // Only when the topic names the twin (not a CloudEvent's subject) is its form the message's fault.
      const topicError = input.subject === path ? this.topics.leadingSlash(msg.topic) : null;
      if (topicError) throw topicError;
      const refusal = grants ? ingestRefusal(grants, input.subject) : undefined;
      if (refusal) throw refusal;
    } catch (err) {
      const error = toTwinError(err, 'TWIN_PAYLOAD_INVALID');
      if (qos === 0) {
        this.queue.pushRejected(error, note);
        return ack(null);
      }
      return this.queue.pushRejected(error, note, ack);
    }
    if (qos > 0) return this.queue.push(input, note, ack);
    this.queue.push(input, note);
    this.queue.whenNotFull(() => ack(null));
  }
}
