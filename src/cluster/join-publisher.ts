import type { JetStreamClient } from '@nats-io/jetstream';
import type { TwinLogger } from '../model/twin-model.js';
import { encodeInput } from './input-codec.js';
import type { SpaceNames } from './space-names.js';

/**
 * Sends a child's join value to a parent in another vshard through the parent's input
 * stream, so the parent's owner applies it in order with its other input and it outlives
 * this node. Each message gets an id unique to its sender (`prefix`: node, and worker in
 * a worker thread), so a publish retried by the client is stored once. A join that cannot
 * be published is logged: the child announces its values again when its vshard starts.
 * It carries the child's vshard epoch: the parent's owner refuses a join from an epoch
 * older than one it took already (see JoinEpochs), so a message that left a frozen node
 * late cannot overwrite what the vshard's next owner announced.
 */
export class JoinPublisher {
  private seq = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly names: SpaceNames,
    private readonly vshardOf: (path: string) => number,
    private readonly prefix: string,
    private readonly log: TwinLogger,
    /** The epoch of this node's lease on the vshard while it is valid now (the lease gate, as for commits). */
    private readonly leaseEpoch: (vshard: number) => number | undefined,
  ) {}

  /**
   * Sends the join unless the child's vshard lease is no longer valid here: a node that
   * wakes from a freeze with turns in flight must not hand a parent a value its own commit
   * will be refused for (the next owner announces the child's stored values anew).
   */
  publish(parent: string, lane: string, child: string, value: unknown): void {
    const epoch = this.leaseEpoch(this.vshardOf(child));
    if (epoch === undefined) {
      this.log.debug({ parent, child }, 'cluster: join not sent: the lease of its vshard ended');
      return;
    }
    // The epoch: the parent's owner refuses a join older than one it already took from that vshard.
    const input = encodeInput({ k: 'j', parent, lane, child, value, e: epoch });
    const msgID = `j${this.prefix}.${++this.seq}`;
    this.js.publish(this.names.input(this.vshardOf(parent)), input, { msgID }).catch((err: Error) => {
      this.log.warn({ parent, err: err.message }, 'cluster: a join could not be published');
    });
  }
}
