import type { WorkerShardHost } from '../hosting/worker-host.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { VshardControl } from './cluster-worker.js';
import type { NodeVshards, RestoredFrom, StopReason } from './placement.js';

/**
 * The vshards of a node with worker threads, as the main thread sees them: vshard `v`
 * runs on worker `v % workers` (the worker host routes its twins there by the same rule),
 * started and stopped there by a control message (see cluster-worker.ts). Links to its
 * twins move first ({@link onStopping}), as on a node without workers. A worker that died
 * and was restarted gets its vshards started again (same epochs: the leases are still
 * this node's; each restores from its log).
 */
export class WorkerVshards implements NodeVshards {
  /** Running vshards and the epoch each was started under. */
  private readonly epochs = new Map<number, number>();

  constructor(
    private readonly host: WorkerShardHost,
    private readonly workers: number,
    private readonly vshardOf: (path: string) => number,
    private readonly log: TwinLogger,
    private readonly onStopping: (vshard: number) => void,
  ) {}

  owns(path: string): boolean {
    return this.epochs.has(this.vshardOf(path));
  }

  running(vshard: number): boolean {
    return this.epochs.has(vshard);
  }

  async start(vshard: number, epoch: number): Promise<RestoredFrom> {
    const from = (await this.send({ op: 'start', vshard, epoch })) as RestoredFrom;
    this.epochs.set(vshard, epoch);
    return from;
  }

  async stop(vshard: number, epoch: number, reason: StopReason): Promise<void> {
    this.epochs.delete(vshard);
    this.onStopping(vshard);
    await this.send({ op: 'stop', vshard, epoch, reason });
  }

  /** Worker `index` was restarted: its vshards start again there. */
  restarted(index: number): void {
    for (const [vshard, epoch] of this.epochs) {
      if (vshard % this.workers !== index) continue;
      this.send({ op: 'start', vshard, epoch }).catch((err: Error) =>
        this.log.error({ vshard, err: err.message }, 'cluster: vshard did not start again on its restarted worker'),
      );
    }
  }

  private send(message: VshardControl): Promise<unknown> {
    return this.host.extension(message.vshard % this.workers, message);
  }
}
