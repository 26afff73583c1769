import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { TwinError } from '../errors.js';
import type { StateWrite } from '../store/state-store.js';
import { JoinEpochs } from './join-epochs.js';
import { lastOf } from './stream-reads.js';
import {
  encodeLogEntry,
  isNodeMessage,
  LOG_CODEC_HEADER,
  logCodec,
  readLogEntry,
  type LogEntry,
} from './log-entries.js';
import type { SpaceNames } from './space-names.js';

/** What a new owner restores: the vshard's writes, folded in order, and where the log and input stand. */
export interface RestoredLog {
  readonly ops: StateWrite[];
  /** Stream sequence of the log's last message (0: empty): the next append expects it. */
  readonly lastSeq: number;
  /** Highest input sequence the state includes: input replays after it. */
  readonly watermark: number;
  /** Messages since the last snapshot (compaction is due past a bound). */
  readonly sinceSnapshot: number;
  /** The vshard's join epochs (see JoinEpochs) as its log recorded them. */
  readonly joinEpochs: readonly (readonly [number, number])[];
  /** Messages of the log that held no entry a node writes (see readLogEntry): skipped. */
  readonly unreadable?: number;
}

/** Largest message payload we write (nats-server's default max_payload is 1 MiB). */
const MAX_MESSAGE_BYTES = 512 * 1024;

/**
 * The state of every vshard as a log in JetStream: each commit of an owner is appended to
 * the vshard's subject with "expected last subject sequence" set to what this owner last
 * wrote or read, so the append fails once anyone else wrote there: a new owner claims the
 * log (`o`) before it acts, and from then on a zombie's late commit is refused by the
 * server. That compare-and-set is the fence; the lease only keeps zombies rare.
 */
export class StateLog {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: SpaceNames,
  ) {}

  /**
   * The sequence of the log's last message, and whether a node wrote it (decoded only when
   * `unless` is not its sequence: the usual answer of an owner's check is "my own append").
   */
  async lastWriter(vshard: number, unless: number): Promise<{ seq: number; foreign: boolean } | null> {
    const last = await lastOf(this.jsm, this.names.stateStream, this.names.state(vshard));
    if (last === null || last.seq === unless) return last && { seq: last.seq, foreign: false };
    return { seq: last.seq, foreign: !isNodeMessage(last.header) && readLogEntry(last.data, last.header) === null };
  }

  /** The log's last message (sequence and epoch), or null for an empty log. */
  async head(vshard: number): Promise<{ seq: number; epoch: number } | null> {
    const last = await this.jsm.streams
      .getMessage(this.names.stateStream, { last_by_subj: this.names.state(vshard) })
      .catch((err: Error) => {
        if (/no message found|not found/i.test(err.message)) return null;
        throw err;
      });
    if (last === null) return null;
    // A last message no node wrote has no epoch: -1 matches no local copy's mark, so the log is read.
    return { seq: last.seq, epoch: readLogEntry(last.data, last.header)?.e ?? -1 };
  }

  /** Identifies the state stream itself: a space deleted and made again starts its sequences over. */
  async streamId(): Promise<string> {
    return (await this.jsm.streams.info(this.names.stateStream)).created;
  }

  /** Reads the vshard's log from its first message: a claim drops a commit its writer never finished. */
  async restore(vshard: number): Promise<RestoredLog> {
    const subject = this.names.state(vshard);
    const last = await this.jsm.streams
      .getMessage(this.names.stateStream, { last_by_subj: subject })
      .catch((err: Error) => {
        if (/no message found|not found/i.test(err.message)) return null;
        throw err;
      });
    if (last === null) return { ops: [], lastSeq: 0, watermark: 0, sinceSnapshot: 0, joinEpochs: [] };
    const ops: StateWrite[] = [];
    let pending: StateWrite[] = [];
    let snapshot: StateWrite[] | null = null;
    let watermark = 0;
    let sinceSnapshot = 0;
    let joins = new Map<number, number>();
    let unreadable = 0;
    // Message by message (each ~0.3 ms), not through a consumer: nats-server 2.9 times out
    // consumer creation again and again while a server of the cluster is down, and a
    // restore is exactly what runs then. The log is short: a snapshot every SNAPSHOT_EVERY.
    for (let seq = 0; seq < last.seq;) {
      const m = await this.jsm.streams
        .getMessage(this.names.stateStream, { seq: seq + 1, next_by_subj: subject } as unknown as { seq: number })
        .catch((err: Error) => {
          if (/no message found|not found/i.test(err.message)) return null;
          throw err;
        });
      if (m === null || m.seq <= seq)
        throw new TwinError(
          'TWIN_CLUSTER_UNAVAILABLE',
          `state log of vshard ${vshard} stopped at ${seq} of ${last.seq}`,
        );
      seq = m.seq;
      const entry = readLogEntry(m.data, m.header);
      if (entry === null) {
        // A node's own message that does not read back is state this restore would lose:
        // stop loudly (the vshard stays unowned here) rather than go on without it.
        if (isNodeMessage(m.header))
          throw new TwinError(
            'TWIN_CLUSTER_UNAVAILABLE',
            `state log of vshard ${vshard}: message ${m.seq}, written by a node, does not read back; the vshard is not restored`,
          );
        unreadable++; // another client's message: the owner's next append after it failed and claimed again
        continue;
      }
      sinceSnapshot++;
      if (entry.k !== 's') snapshot = null; // a snapshot cut short by its writer's failure
      if (entry.k === 'o') {
        pending = []; // a commit left unfinished by the owner before
      } else if (entry.k === 's') {
        (snapshot ??= []).push(...entry.ops);
        if (entry.end) {
          ops.length = 0;
          ops.push(...snapshot);
          snapshot = null;
          pending = [];
          watermark = entry.w;
          sinceSnapshot = 0;
          joins = new Map();
          JoinEpochs.fold(joins, entry.j);
        }
      } else {
        pending.push(...entry.ops);
        if (entry.end) {
          ops.push(...pending);
          pending = [];
          if (entry.w > watermark) watermark = entry.w;
          JoinEpochs.fold(joins, entry.j);
        }
      }
    }
    return { ops, lastSeq: last.seq, watermark, sinceSnapshot, joinEpochs: [...joins], unreadable };
  }

  /**
   * Appends one commit (or snapshot, or claim) after `expected`; resolves with the
   * sequences of its first and last message. Rejects with TWIN_FENCED when someone else wrote after
   * `expected` (this node is no longer the owner).
   */
  async append(
    vshard: number,
    kind: LogEntry['k'],
    epoch: number,
    watermark: number,
    ops: readonly StateWrite[],
    expected: number,
    joinEpochs?: readonly (readonly [number, number])[],
  ): Promise<{ first: number; last: number }> {
    let seq = expected;
    let first = 0;
    const parts = split(ops);
    for (let i = 0; i < parts.length; i++) {
      const end = i === parts.length - 1;
      const j = end && joinEpochs !== undefined && joinEpochs.length > 0 ? joinEpochs : undefined;
      const entry: LogEntry = { k: kind, e: epoch, w: watermark, ops: parts[i]!, end, ...(j && { j }) };
      try {
        const hdrs = headers();
        hdrs.set(LOG_CODEC_HEADER, logCodec());
        const ack = await this.js.publish(this.names.state(vshard), encodeLogEntry(entry), {
          expect: { lastSubjectSequence: seq },
          headers: hdrs,
        });
        seq = ack.seq;
        if (i === 0) first = seq;
      } catch (err) {
        if (/wrong last sequence/i.test((err as Error).message))
          throw new TwinError('TWIN_FENCED', `vshard ${vshard}: another owner wrote its state log (epoch ${epoch})`, {
            vshard,
          });
        throw new TwinError(
          'TWIN_CLUSTER_UNAVAILABLE',
          `vshard ${vshard}: state log append failed: ${(err as Error).message}`,
        );
      }
    }
    return { first, last: seq };
  }

  /** Drops the log's messages before `firstKept` (the first part of a snapshot). */
  async compact(vshard: number, firstKept: number): Promise<void> {
    await this.jsm.streams.purge(this.names.stateStream, { filter: this.names.state(vshard), seq: firstKept });
  }
}

/** The writes cut into parts that each encode under {@link MAX_MESSAGE_BYTES} (at least one part). */
function split(ops: readonly StateWrite[]): StateWrite[][] {
  // Most commits are small: one estimate of the whole, and only a large one is measured op by op.
  if (ops.length < 64 && encodeLogEntry(ops).length <= MAX_MESSAGE_BYTES) return [ops as StateWrite[]];
  const parts: StateWrite[][] = [[]];
  let size = 0;
  for (const op of ops) {
    const bytes = encodeLogEntry(op).length;
    if (size + bytes > MAX_MESSAGE_BYTES && parts[parts.length - 1]!.length > 0) {
      parts.push([]);
      size = 0;
    }
    parts[parts.length - 1]!.push(op);
    size += bytes;
  }
  return parts;
}
