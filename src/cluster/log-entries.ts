import type { MsgHdrs } from '@nats-io/transport-node';
import { Packr, Unpackr, unpack } from 'msgpackr';
import type { StateWrite } from '../store/state-store.js';

/**
 * The header a node's state-log messages carry, naming their codec. `2`: records for plain
 * objects and msgpack maps for Maps (`Packr({ useRecords: true })`, read with
 * `mapsAsObjects: false`), so every value a lane may hold comes back as it was: a Map with
 * number or object keys, a Date, bytes. Messages without it were written by builds before
 * it (plain msgpack, where a Map came back as an object, and one with object keys did not
 * decode at all), or by another client of the account.
 */
export const LOG_CODEC_HEADER = 'Twinflow-Log-Codec';
const CODEC = '2';
const packr = new Packr({ useRecords: true, mapsAsObjects: false, moreTypes: true });
const unpackr = new Unpackr({ mapsAsObjects: false, moreTypes: true });

/** The bytes of a node's state-log message (with {@link LOG_CODEC_HEADER} set to its codec). */
export function encodeLogEntry(entry: LogEntry | readonly StateWrite[] | StateWrite): Uint8Array {
  return packr.pack(entry);
}

/** The header value a node's state-log messages carry. */
export function logCodec(): string {
  return CODEC;
}

/**
 * True when a state-log message says a node wrote it (its codec header, whatever the
 * version: a newer build's message must stop a restore here, not be skipped as foreign).
 */
export function isNodeMessage(header: MsgHdrs | undefined): boolean {
  return header?.has(LOG_CODEC_HEADER) === true;
}

/**
 * One message of a vshard's state log: a commit's writes (`c`), a snapshot's (`s`, the
 * whole vshard, after which older messages are purged), or a new owner's claim (`o`).
 * A commit or snapshot too large for one message is split; `end` marks its last part.
 * `w`: the highest input-stream sequence the state includes.
 */
export interface LogEntry {
  readonly k: 'c' | 's' | 'o';
  readonly e: number;
  readonly w: number;
  readonly ops: readonly StateWrite[];
  readonly end: boolean;
  /**
   * The vshard's {@link JoinEpochs} table (sending vshard, epoch), on the last part of a
   * commit after which it changed, and of every snapshot.
   */
  readonly j?: readonly (readonly [number, number])[];
}

/**
 * The entry a state-log message holds, or null when it holds none a node writes: bytes
 * that do not decode, another shape, a write that is no record, entry put or delete. Any
 * client of the space's NATS account may publish on `<space>.state.*`; a message of
 * theirs ended every restore of that vshard (a TypeError on its `ops`, or a record of
 * junk loaded as a twin), and `cluster status` with it. Every reader goes through here: a
 * restore skips an unmarked message it refuses and stops at a marked one (a node's, which
 * it must not lose: see StateLog.restore); status and settle read a refused head as unknown.
 */
export function readLogEntry(data: Uint8Array, header?: MsgHdrs): LogEntry | null {
  let entry: unknown;
  try {
    if (!isNodeMessage(header)) entry = unpack(data);
    else if (header!.get(LOG_CODEC_HEADER) === CODEC) entry = unpackr.unpack(data);
    else return null; // a codec of a newer build: not readable here
  } catch {
    return null;
  }
  if (entry === null || typeof entry !== 'object') return null;
  const { k, e, w, ops, end, j } = entry as Partial<Record<keyof LogEntry, unknown>>;
  if (k !== 'c' && k !== 's' && k !== 'o') return null;
  if (!isCount(e) || !isCount(w) || typeof end !== 'boolean' || !Array.isArray(ops)) return null;
  if (j !== undefined && !Array.isArray(j)) return null;
  for (let i = 0; i < ops.length; i++) if (!isLoggedWrite(ops[i])) return null;
  // A join fence pair that is no (vshard, epoch) is dropped, not the whole entry with its writes.
  return j === undefined || j.every(isEpochPair)
    ? (entry as LogEntry)
    : { ...(entry as LogEntry), j: j.filter(isEpochPair) };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isEpochPair(p: unknown): boolean {
  return Array.isArray(p) && p.length === 2 && isCount(p[0]) && isCount(p[1]);
}

/** A write the log carries: a record, an entry put or an entry delete (journal writes stay on their node). */
function isLoggedWrite(op: unknown): op is StateWrite {
  if (op === null || typeof op !== 'object') return false;
  const w = op as Record<string, unknown>;
  if (typeof w.path !== 'string') return false;
  switch (w.op) {
    case 'record':
      return w.values !== null && typeof w.values === 'object' && !Array.isArray(w.values);
    case 'put':
      return typeof w.lane === 'string' && typeof w.key === 'string';
    case 'del':
      return typeof w.lane === 'string' && (w.key === undefined || typeof w.key === 'string');
    default:
      return false;
  }
}
