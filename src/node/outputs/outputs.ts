import type { Runtime } from '../../runtime/runtime.js';
import type { Logger } from '../../logger.js';
import type { DeadLetterStore } from '../ingest/dead-letters.js';
import type { TopicMap } from '../ingest/mqtt-message.js';
import { mqttSink, type MqttPublish, type OutputTopicFn } from './mqtt-sink.js';
import { SinkQueue, type Sink, type SinkQueueOptions, type SinkStats } from './sink-queue.js';
import { webhookSink, type WebhookConfig } from './webhook-sink.js';

/** Output settings of a node (`NodeOptions.outputs`). */
export interface OutputOptions {
  /** Webhooks that receive every derived event. */
  webhooks?: (string | WebhookConfig)[];
  /** Publish derived events to MQTT (default true when the node has an MQTT side). */
  mqtt?: boolean;
  /** QoS of MQTT outputs (default 1). */
  mqttQos?: 0 | 1;
  /** Overrides the MQTT topic of a derived event (path form; null skips it). */
  topicFor?: OutputTopicFn;
  /** Queue bound, retries and backoff of every sink. */
  queue?: SinkQueueOptions;
  /** More sinks (tests, custom integrations). */
  sinks?: Sink[];
}

/**
 * Fans the runtime's derived events out to its sinks, each behind its own bounded
 * {@link SinkQueue}, so one slow webhook neither delays another sink nor ingestion.
 *
 * @example
 * ```ts
 * const outputs = new Outputs(rt, deadLetters, log, { webhooks: ['http://127.0.0.1:8080/hook'] }, broker.publish, topics);
 * outputs.stats(); // { mqtt: { delivered, retries, dropped, deadLettered, queued }, … }
 * ```
 */
export class Outputs {
  readonly queues: SinkQueue[] = [];
  private readonly unsubscribe: (() => void)[] = [];

  /**
   * `embeddedBroker`: `publish` goes to this node's own broker, whose subscribers expect the
   * whole twin space's outputs (cluster mode: those of other nodes' twins too, see
   * Runtime.onOutput). Every other sink (webhooks, an external broker every node feeds)
   * takes only the outputs of the twins this node runs, so each output reaches it once.
   */
  constructor(
    private readonly rt: Runtime,
    deadLetters: DeadLetterStore,
    log: Logger,
    options: OutputOptions,
    publish: MqttPublish | null,
    topics: TopicMap,
    embeddedBroker = false,
  ) {
    const queue = (sink: Sink): SinkQueue => {
      const q = new SinkQueue(sink, deadLetters, log, options.queue);
      this.queues.push(q);
      return q;
    };
    const own: SinkQueue[] = [];
    for (const sink of options.sinks ?? []) own.push(queue(sink));
    if (publish && options.mqtt !== false) {
      const q = queue(mqttSink(publish, topics, { qos: options.mqttQos ?? 1, topicFor: options.topicFor }));
      if (embeddedBroker) this.unsubscribe.push(rt.onOutput((event) => q.push(event), { space: true }));
      else own.push(q);
    }
    for (const w of options.webhooks ?? []) own.push(queue(webhookSink(typeof w === 'string' ? { url: w } : w)));
    this.unsubscribe.push(
      rt.onOutput((event) => {
        for (const q of own) q.push(event);
      }),
    );
  }

  /**
   * Counters per sink name. `dropped` includes the derived events the runtime dropped while
   * holding them for listeners still to subscribe (Runtime.outputsHeldDropped): no sink got those.
   */
  stats(): Record<string, SinkStats> {
    const out: Record<string, SinkStats> = {};
    const unheard = this.rt.outputsHeldDropped;
    for (const q of this.queues) {
      // Two webhooks that differ only in what their shown URL hides (a token) keep a count each.
      let name = q.sink.name;
      for (let n = 2; name in out; n++) name = `${q.sink.name} (${n})`;
      out[name] = { ...q.stats, dropped: q.stats.dropped + unheard };
    }
    return out;
  }

  /** Resolves once every sink has delivered (or dead-lettered) what it was given. */
  async idle(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.idle()));
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    for (const q of this.queues) q.close();
  }
}
