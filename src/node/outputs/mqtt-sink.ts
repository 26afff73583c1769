import type { DerivedEvent } from '../../model/twin-model.js';
import type { TopicMap } from '../ingest/mqtt-message.js';
import { outgoingEvent } from './outgoing-event.js';
import type { Sink } from './sink-queue.js';

/** Publishes a payload to the node's MQTT side (embedded broker or external client). */
export type MqttPublish = (topic: string, payload: Buffer, qos: 0 | 1) => Promise<void>;

/** Picks the path-form topic of a derived event (before the prefix), or null to skip it. */
export type OutputTopicFn = (event: DerivedEvent) => string | null;

/**
 * Where a derived event goes on MQTT, as a path (the topic prefix is added after):
 * - `hvac.adjust` and `hvac.adjust.cleared` → `<floor path>/commands/hvac` (the HVAC
 *   controller of that floor subscribes there);
 * - **device commands**: an event of type `command.<name>` → `<subject>/commands/<name>`.
 *   A model sends a command to a device by emitting it with the device's path as subject,
 *   e.g. `ctx.emit('command.setpoint', { value: 21 }, { subject: thermostatPath })`;
 * - everything else → `<subject>/signals/<type>` (e.g. `…/site/berlin/signals/evacuation`).
 *
 * @example
 * ```ts
 * defaultOutputTopic({ type: 'hvac.adjust', subject: '/org/a/site/b/building/1/floor/2', … });
 * // '/org/a/site/b/building/1/floor/2/commands/hvac'
 * ```
 */
export function defaultOutputTopic(event: DerivedEvent): string | null {
  const type = event.type;
  if (type === 'hvac.adjust' || type === 'hvac.adjust.cleared') return `${event.subject}/commands/hvac`;
  if (type.startsWith('command.') && type.length > 8) return `${event.subject}/commands/${type.slice(8)}`;
  return `${event.subject}/signals/${type}`;
}

/**
 * A sink that publishes each derived event as a structured-mode CloudEvent
 * (`application/cloudevents+json`, the Content Type on MQTT 5) at QoS `qos`.
 *
 * @example
 * ```ts
 * const sink = mqttSink(broker.publish, new TopicMap(''), { qos: 1 });
 * ```
 */
export function mqttSink(
  publish: MqttPublish,
  topics: TopicMap,
  options: { qos?: 0 | 1; topicFor?: OutputTopicFn } = {},
): Sink {
  const topicFor = options.topicFor ?? defaultOutputTopic;
  const qos = options.qos ?? 1;
  return {
    name: 'mqtt',
    async deliver(event) {
      const path = topicFor(event);
      if (path === null) return;
      await publish(topics.topicOf(path), Buffer.from(JSON.stringify(outgoingEvent(event))), qos);
    },
  };
}
