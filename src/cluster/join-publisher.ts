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
 */
export class JoinPublisher {
  private seq = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly names: SpaceNames,
    private readonly vshardOf: (path: string) => number,
    private readonly prefix: string,
    private readonly log: TwinLogger,
    /** Whether this node's lease on the vshard is valid now (the lease gate, as for commits). */
    private readonly leaseHeld: (vshard: number) => boolean,
  ) {}

  /**
   * Sends the join unless the child's vshard lease is no longer valid here: a node that
   * wakes from a freeze with turns in flight must not hand a parent a value its own commit
   * will be refused for (the next owner announces the child's stored values anew).
   */
  publish(parent: string, lane: string, child: string, value: unknown): void {
    if (!this.leaseHeld(this.vshardOf(child))) {
      this.log.debug({ parent, child }, 'cluster: join not sent: the lease of its vshard ended');
      return;
    }
    const input = encodeInput({ k: 'j', parent, lane, child, value });
    const msgID = `j${this.prefix}.${++this.seq}`;
    this.js.publish(this.names.input(this.vshardOf(parent)), input, { msgID }).catch((err: Error) => {
      this.log.warn({ parent, err: err.message }, 'cluster: a join could not be published');
    });
  }
}
