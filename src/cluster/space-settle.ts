import type { JetStreamManager } from '@nats-io/jetstream';
import { TwinError } from '../errors.js';
import type { SpaceNames } from './space-names.js';
import { readLogEntry } from './log-entries.js';
import { inParallel, lastOf } from './stream-reads.js';

/** How often the vshards still behind are read again. */
const POLL_MS = 100;

/**
 * Resolves once every input the twin space had stored when it was called is applied (or
 * refused for good) by its vshard's owner, and so is what that input caused in other
 * vshards (joins to parents elsewhere are input too): the cluster's `GET /settled`.
 *
 * An input is applied when its vshard's state log says so: the low-water mark `w` of the
 * log's last message is at or past it (an owner records the mark within ~200 ms of its
 * input settling, see ChangelogStore.settled). So: take the last input sequence of each
 * vshard, wait until every `w` reached it, then look again; done when nothing new arrived
 * meanwhile. Under traffic that never stops it does not end: the caller bounds it (the
 * route's timeout aborts `signal`), as a single node's settle.
 *
 * Only the space's `vshards` subjects count: a message on `<space>.in.300` of a space of
 * 256 (or on `<space>.in.x`), which only a foreign writer makes, has no owner to apply it
 * and would hold every settle until its timeout.
 */
export async function settleSpace(
  jsm: JetStreamManager,
  names: SpaceNames,
  vshards: number,
  signal?: AbortSignal,
): Promise<void> {
  let target = await inputHeads(jsm, names, vshards);
  for (;;) {
    let behind = [...target.keys()];
    while (behind.length > 0) {
      if (signal?.aborted) throw new TwinError('TWIN_NOT_SETTLED', 'the twin space did not settle in time');
      const marks = await inParallel(behind, (v) => watermark(jsm, names, v));
      behind = behind.filter((v, i) => marks[i]! < target.get(v)!);
      if (behind.length > 0) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const next = await inputHeads(jsm, names, vshards);
    if ([...next].every(([v, seq]) => seq <= (target.get(v) ?? 0))) return;
    target = next;
  }
}

/** The last input sequence of every vshard of the space that has input in the stream. */
async function inputHeads(jsm: JetStreamManager, names: SpaceNames, count: number): Promise<Map<number, number>> {
  const prefix = `${names.space}.in.`;
  const info = await jsm.streams.info(names.inputStream, { subjects_filter: names.inputWildcard() });
  const vshards = Object.keys(info.state.subjects ?? {})
    .map((s) => Number(s.slice(prefix.length)))
    .filter((v) => Number.isInteger(v) && v >= 0 && v < count);
  const seqs = await inParallel(vshards, async (v) => (await lastOf(jsm, names.inputStream, names.input(v)))?.seq ?? 0);
  return new Map(vshards.map((v, i) => [v, seqs[i]!]));
}

/**
 * `w` of the vshard's state log's last message: every input up to it settled (0: none, or a
 * last message no node wrote, until its owner's next commit claims the log again).
 */
async function watermark(jsm: JetStreamManager, names: SpaceNames, vshard: number): Promise<number> {
  const last = await lastOf(jsm, names.stateStream, names.state(vshard));
  return last === null ? 0 : (readLogEntry(last.data, last.header)?.w ?? 0);
}
