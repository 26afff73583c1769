import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { pack, unpack } from 'msgpackr';
import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';
import { ThrottledWarning } from '../logger.js';
import type { SpaceNames } from './space-names.js';

/** At most one log line this often about outputs that could not be relayed. */
const LOG_EVERY_MS = 10_000;

/**
 * Derived events of a twin space, seen from every node: each node publishes the outputs
 * of the twins it runs (after their commit, so a refused turn has none) on its own
 * core-NATS subject, and hands the other nodes' outputs to `deliver` — the listeners that
 * speak for the whole space, such as this node's embedded MQTT broker and `/signals`.
 * Webhooks and an external broker take each output once, from the node that made it.
 *
 * Core NATS: at most once, like a QoS 0 hop. A node that is disconnected or too slow for
 * its subscription's pending limit misses outputs meanwhile (counted in {@link dropped}).
 */
export class OutputRelay {
  private readonly sub: Subscription;
  private readonly subject: string;
  private readonly failureLog: ThrottledWarning;
  /** Outputs of other nodes that could not be decoded, or that this node failed to publish. */
  dropped = 0;

  constructor(
    private readonly nc: NatsConnection,
    names: SpaceNames,
    private readonly nodeId: string,
    deliver: (event: DerivedEvent) => void,
    log: TwinLogger,
  ) {
    this.failureLog = new ThrottledWarning(log, 'cluster: outputs not relayed between nodes', LOG_EVERY_MS, 'dropped');
    this.subject = names.output(nodeId);
    this.sub = nc.subscribe(names.outputWildcard(), {
      callback: (err, msg) => {
        if (err || msg.subject === this.subject) return;
        let event: DerivedEvent;
        try {
          event = unpack(msg.data) as DerivedEvent;
        } catch (e) {
          return this.note(e);
        }
        // Another writer's bytes that decode to something else: no listener is handed them
        // (a throw in this callback would end the connection's processing).
        if (
          event === null ||
          typeof event !== 'object' ||
          typeof event.type !== 'string' ||
          typeof event.id !== 'string'
        )
          return this.note(new Error('not a derived event'));
        deliver(event);
      },
    });
  }

  /** Sends an output of a twin this node runs to the other nodes. */
  publish(event: DerivedEvent): void {
    try {
      this.nc.publish(this.subject, pack(event));
    } catch (err) {
      this.note(err); // closed or draining connection, or a payload past max_payload
    }
  }

  close(): void {
    this.sub.unsubscribe();
  }

  private note(err: unknown): void {
    this.dropped++;
    this.failureLog.note({ node: this.nodeId, err: (err as Error)?.message });
  }
}
