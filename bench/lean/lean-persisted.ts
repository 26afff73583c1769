/**
 * The lean yardstick's persisted variant: after each step it writes what changed, the
 * same records the runtime's LMDB store holds (same keys, same fields: a record per dirty
 * twin with its value lanes, `$v`, `$e`, `$recent`, `$timers` and `$in`; a parent's join
 * in its record while small, else an entry per changed child; closed windows as entries;
 * the timer index by minute), with lmdb-js's batched asynchronous puts: one transaction
 * per step, up to 4 in flight, and in `strict` durability the step counts as done once its
 * transaction is on disk (`flushed`).
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { EventInput } from '../../src/index.js';
// The runtime's rule for where a join is stored (a size estimate, no state): the lean
// loop must store its joins where the runtime does to write the same records.
import {
  encodedFitsInline,
  INLINE_MAX_BYTES,
  INLINE_MAX_ENTRIES,
  type InlineEntries,
} from '../../src/lanes/inline-entries.js';
import {
  BUILDING,
  FLOOR,
  LeanBuilding,
  ORG,
  ROOM,
  SENSOR,
  SITE,
  STATUS,
  UNIT,
  UP_ALARMS,
  UP_OCCUPIED,
  UP_SUMMARY,
  UP_TEMPERATURE,
  UP_UNOCCUPIED,
  type LeanWindow,
} from './lean-building.js';
import type { Level } from './topology.js';

const SEP = '\u001f';
const BUCKET_MS = 60_000;
const WINDOW_TIMER = '$w:hourlyTemperature';
const IN_FLIGHT = 4;

const nul = (x: number): number | null => (Number.isNaN(x) ? null : x);

function bucketKey(ms: number): string {
  return String(Math.max(0, Math.floor(ms / BUCKET_MS))).padStart(11, '0');
}

function windowValue(w: LeanWindow): Record<string, unknown> {
  return {
    start: w.start,
    end: w.end,
    count: w.count,
    sum: w.sum,
    avg: w.count > 0 ? w.sum / w.count : null,
    min: w.min,
    max: w.max,
    closed: w.closed,
  };
}

/** One join lane of a parent level: what its entry for child `i` holds, and the up bit that says it changed. */
interface JoinSpec {
  readonly lane: string;
  readonly bit: number;
  readonly value: (i: number) => unknown;
}

/** The children of each twin of a level, in path order: `list[start[p] .. start[p + 1])`. */
interface Children {
  readonly start: Int32Array;
  readonly list: Int32Array;
}

export class LeanPersisted {
  readonly root: RootDatabase;
  private readonly records: Database<Record<string, unknown>, string>;
  private readonly entries: Database<unknown, string>;
  private readonly timers: Database<string, string>;
  private readonly timerOf: Database<string, string>;
  private readonly hasRecord: Uint8Array[];
  private readonly indexed: Float64Array;
  private readonly levels: Level[];
  /** By child level: the parent's join lanes it feeds. */
  private readonly joins: JoinSpec[][];
  /** By parent level: its twins' children. */
  private readonly children: Children[];
  /** By child level: the up bits a child ever sent (its parent's joins hold an entry for each). */
  private readonly joined: Uint8Array[];
  /** By parent level: a bit per join lane (index in `joins`) stored as entries rather than in the record. */
  private readonly asEntries: Uint8Array[];
  /** By parent level: a bit per join lane that changed in this step. */
  private readonly joinChanged: Uint8Array[];
  private readonly inFlight: Promise<unknown>[] = [];
  private last: Promise<unknown> | null = null;
  /** Puts and removes queued, in all. */
  writes = 0;

  constructor(
    readonly lean: LeanBuilding,
    path: string,
    readonly durability: 'strict' | 'relaxed' = 'strict',
  ) {
    this.root = open({ path, mapSize: 64 * 2 ** 30, maxDbs: 12 });
    const sharedStructuresKey = Symbol.for('twinflow.structures');
    this.records = this.root.openDB({ name: 'records', encoding: 'msgpack', sharedStructuresKey });
    this.entries = this.root.openDB({ name: 'entries', encoding: 'msgpack', sharedStructuresKey });
    this.timers = this.root.openDB({ name: 'timers', encoding: 'string' });
    this.timerOf = this.root.openDB({ name: 'timer-of', encoding: 'string' });
    this.hasRecord = lean.touched.map((t) => new Uint8Array(t.flag.length));
    const t = lean.topo;
    this.levels = [t.sensors, t.rooms, t.units, t.floors, t.buildings, t.sites, t.orgs];
    this.indexed = new Float64Array(lean.topo.sensors.paths.length).fill(NaN);
    this.joins = this.joinSpecs();
    this.children = this.levels.map((_, level) => (level === SENSOR ? null! : childrenOf(this.levels[level - 1]!)));
    this.joined = this.levels.map((l) => new Uint8Array(l.paths.length));
    this.asEntries = this.levels.map((l) => new Uint8Array(l.paths.length));
    this.joinChanged = this.levels.map((l) => new Uint8Array(l.paths.length));
  }

  /** The building model's joins, by the level of the children that feed them. */
  private joinSpecs(): JoinSpec[][] {
    const lean = this.lean;
    const level = (l: number): JoinSpec[] => {
      const a = lean.agg[l]!;
      return [
        { lane: 'childStats', bit: UP_TEMPERATURE, value: (i) => ({ sum: a.joinSum[i], count: a.joinCount[i] }) },
        { lane: 'childOccupied', bit: UP_OCCUPIED, value: (i) => a.occ[i] },
        { lane: 'childUnoccupied', bit: UP_UNOCCUPIED, value: (i) => lean.unoccupiedRooms(l, i) },
        { lane: 'childAlarms', bit: UP_ALARMS, value: (i) => a.alarms[i] },
      ];
    };
    const specs: JoinSpec[][] = [];
    specs[SENSOR] = [
      {
        lane: 'sensors',
        bit: UP_SUMMARY,
        value: (i) => ({ temperature: nul(lean.jTemp[i]!), occupied: lean.jOcc[i] === 1, alarm: lean.jAlarm[i] === 1 }),
      },
    ];
    specs[ROOM] = [
      { lane: 'roomTemperature', bit: UP_TEMPERATURE, value: (i) => nul(lean.juTemp[i]!) },
      { lane: 'roomOccupied', bit: UP_OCCUPIED, value: (i) => lean.rOcc[i] === 1 },
      { lane: 'roomAlarms', bit: UP_ALARMS, value: (i) => lean.rAlarms[i] },
    ];
    specs[UNIT] = level(UNIT);
    specs[FLOOR] = level(FLOOR);
    specs[BUILDING] = [{ lane: 'buildingAlarms', bit: UP_ALARMS, value: (i) => lean.agg[BUILDING]!.alarms[i] }];
    specs[SITE] = [{ lane: 'sites', bit: UP_ALARMS, value: (i) => lean.siteAlarm[i] === 1 }];
    specs[ORG] = [];
    return specs;
  }

  /** `events` in steps of `batch` at clock time `now()`, each step's changes written. */
  async run(events: readonly EventInput[], batch: number, now: () => number): Promise<void> {
    const lean = this.lean;
    for (let from = 0; from < events.length; from += batch) {
      const t = now();
      lean.advanceTo(t, () => this.commitStep());
      lean.step(events, from, Math.min(events.length, from + batch), t);
      this.commitStep();
      // Let lmdb-js take this step's puts as one transaction before the next step queues more.
      if (this.inFlight.length >= IN_FLIGHT) await this.inFlight.shift();
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** Fires the timers due by `time` (a step each) and writes what they changed. */
  advanceTo(time: number): void {
    this.lean.advanceTo(time, () => this.commitStep());
  }

  /** Resolves once everything queued is committed (and on disk). */
  async sync(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
    await this.root.flushed;
  }

  async close(): Promise<void> {
    await this.sync();
    await this.root.close();
  }

  /** Queues the step's writes (one transaction) and forgets its dirty marks. */
  private commitStep(): void {
    this.last = null;
    const lean = this.lean;
    for (let level = SENSOR; level <= ORG; level++) {
      const touched = lean.touched[level]!;
      for (let k = 0; k < touched.n; k++) this.writeTwin(level, touched.list[k]!, touched.record, touched.up);
    }
    lean.endStep();
    const committed = this.last as Promise<unknown> | null; // set by put/remove above
    if (committed) {
      this.inFlight.push(this.durability === 'strict' ? committed.then(() => this.root.flushed) : committed);
    }
  }

  private put(db: Database<any, string>, key: string, value: unknown): void {
    this.last = db.put(key, value);
    this.writes++;
  }

  private remove(db: Database<any, string>, key: string): void {
    this.last = db.remove(key);
    this.writes++;
  }

  private writeTwin(level: number, i: number, record: Uint8Array, up: Uint8Array): void {
    // The parent's join entries for this twin: in the parent's record (rewritten below,
    // when the parent's turn comes) or, for a join stored as entries, one put each.
    const bits = up[i]!;
    if (bits !== 0 && level < ORG) {
      const p = this.levels[level]!.parent[i]!;
      const specs = this.joins[level]!;
      this.joined[level]![i]! |= bits;
      for (let j = 0; j < specs.length; j++) {
        const spec = specs[j]!;
        if ((bits & spec.bit) === 0) continue;
        this.joinChanged[level + 1]![p]! |= 1 << j;
        if ((this.asEntries[level + 1]![p]! & (1 << j)) !== 0)
          this.put(this.entries, this.joinKey(level + 1, p, spec.lane, level, i), spec.value(i));
      }
      this.lean.touched[level + 1]!.touch(p);
    }
    if (level === SENSOR) this.writeWindows(i);
    if (level > SENSOR && this.joinChanged[level]![i] !== 0) this.settleJoins(level, i, record);
    // The twin's own record: when a value lane, its timers, dedupe window or a join held in
    // it changed, or it has none yet.
    const has = this.hasRecord[level]!;
    if (record[i] === 0 && has[i] === 1) return;
    has[i] = 1;
    const path = this.levels[level]!.paths[i]!;
    this.put(this.records, path, this.recordOf(level, i));
    if (level === SENSOR) this.indexTimers(i, path);
  }

  /**
   * Where each join of twin `i` that changed in this step is stored now, by the runtime's
   * rule (inline-entries.ts): held in the record while small (the record is rewritten);
   * moved out as an entry per child once too large; moved back (its entries deleted) once
   * it shrank to half.
   */
  private settleJoins(level: number, i: number, record: Uint8Array): void {
    const changed = this.joinChanged[level]![i]!;
    this.joinChanged[level]![i] = 0;
    const specs = this.joins[level - 1]!;
    for (let j = 0; j < specs.length; j++) {
      const bit = 1 << j;
      if ((changed & bit) === 0) continue;
      const encoded = this.encodeJoin(level, i, j);
      if ((this.asEntries[level]![i]! & bit) === 0) {
        record[i] = 1;
        if (encodedFitsInline(encoded, INLINE_MAX_ENTRIES, INLINE_MAX_BYTES)) continue;
        this.asEntries[level]![i]! |= bit;
        this.forEachJoined(level, i, j, (c) =>
          this.put(this.entries, this.joinKey(level, i, specs[j]!.lane, level - 1, c), specs[j]!.value(c)),
        );
      } else if (encodedFitsInline(encoded, INLINE_MAX_ENTRIES / 2, INLINE_MAX_BYTES / 2)) {
        record[i] = 1;
        this.asEntries[level]![i]! &= ~bit;
        this.forEachJoined(level, i, j, (c) =>
          this.remove(this.entries, this.joinKey(level, i, specs[j]!.lane, level - 1, c)),
        );
      }
    }
  }

  /** The children of twin `i` (of `level`) its join `j` holds an entry of, in path order. */
  private forEachJoined(level: number, i: number, j: number, f: (child: number) => void): void {
    const { start, list } = this.children[level]!;
    const bit = this.joins[level - 1]![j]!.bit;
    const joined = this.joined[level - 1]!;
    for (let k = start[i]!; k < start[i + 1]!; k++) if ((joined[list[k]!]! & bit) !== 0) f(list[k]!);
  }

  /** Join `j` of twin `i` in the record's `$in` form: children's paths relative to the twin's. */
  private encodeJoin(level: number, i: number, j: number): InlineEntries {
    const cut = this.levels[level]!.paths[i]!.length + 1;
    const childPaths = this.levels[level - 1]!.paths;
    const spec = this.joins[level - 1]![j]!;
    const out: unknown[] = [1];
    this.forEachJoined(level, i, j, (c) => out.push(childPaths[c]!.slice(cut), spec.value(c)));
    return out;
  }

  /** `$in` of twin `i`: its joins held in the record, by lane; undefined when none holds an entry. */
  private inlineOf(level: number, i: number): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    const specs = this.joins[level - 1]!;
    for (let j = 0; j < specs.length; j++) {
      if ((this.asEntries[level]![i]! & (1 << j)) !== 0) continue;
      const encoded = this.encodeJoin(level, i, j);
      if (encoded.length > 1) (out ??= {})[specs[j]!.lane] = encoded;
    }
    return out;
  }

  private joinKey(level: number, p: number, lane: string, childLevel: number, c: number): string {
    return this.levels[level]!.paths[p]! + SEP + lane + SEP + this.levels[childLevel]!.paths[c]!;
  }

  /** Closed windows become entries; trimmed ones are deleted. */
  private writeWindows(s: number): void {
    const lean = this.lean;
    const path = lean.topo.sensors.paths[s]!;
    const ws = lean.windows[s];
    if (ws)
      for (const w of ws) {
        if (!w.dirty) continue;
        w.dirty = false;
        if (w.closed) this.put(this.entries, path + SEP + 'hourlyTemperature' + SEP + String(w.start), windowValue(w));
      }
    const trimmed = lean.trimmed[s];
    if (trimmed) {
      for (const start of trimmed) this.remove(this.entries, path + SEP + 'hourlyTemperature' + SEP + String(start));
      lean.trimmed[s] = null;
    }
  }

  /** The timer index (minute bucket of the earliest due timer), as LmdbTimerIndex keeps it. */
  private indexTimers(s: number, path: string): void {
    const lean = this.lean;
    const due = Math.min(nul(lean.offlineDue[s]!) ?? Infinity, nul(lean.windowDue[s]!) ?? Infinity);
    const bucket = due === Infinity ? NaN : Math.floor(due / BUCKET_MS);
    const previous = this.indexed[s]!;
    if (Object.is(previous, bucket)) return;
    this.indexed[s] = bucket;
    if (!Number.isNaN(previous)) this.remove(this.timers, bucketKey(previous * BUCKET_MS) + SEP + path);
    if (Number.isNaN(bucket)) this.remove(this.timerOf, path);
    else {
      this.put(this.timers, bucketKey(due) + SEP + path, path);
      this.put(this.timerOf, path, bucketKey(due));
    }
  }

  /** A twin's record, field for field what the runtime's encodeRecord writes. */
  private recordOf(level: number, i: number): Record<string, unknown> {
    const r = this.ownRecordOf(level, i);
    if (level === SENSOR) return r;
    r.$e = this.asEntries[level]![i] !== 0 ? 1 : 0; // a join stored as entries holds at least 17
    const inline = this.inlineOf(level, i);
    if (inline) r.$in = inline;
    return r;
  }

  private ownRecordOf(level: number, i: number): Record<string, unknown> {
    const lean = this.lean;
    switch (level) {
      case SENSOR: {
        const ws = lean.windows[i];
        let open: Record<string, unknown>[] | undefined;
        let closed = 0;
        if (ws)
          for (const w of ws)
            if (w.closed) closed = 1;
            else (open ??= []).push(windowValue(w));
        const r: Record<string, unknown> = {
          $v: 1,
          $e: closed,
          latest: lean.latest[i],
          lastSeen: nul(lean.lastSeen[i]!),
        };
        r.status = STATUS[lean.status[i]!];
        if (open) r.hourlyTemperature = { open };
        const W = lean.dedupeWindow;
        if (W > 0) r.$recent = Array.from(lean.recent.subarray(i * W, i * W + lean.recentLen[i]!));
        const offline = nul(lean.offlineDue[i]!);
        const win = nul(lean.windowDue[i]!);
        if (offline !== null || win !== null) {
          const timers: Record<string, number> = {};
          if (offline !== null) timers.offline = offline;
          if (win !== null) timers[WINDOW_TIMER] = win;
          r.$timers = timers;
        }
        return r;
      }
      case ROOM:
        return {
          $v: 1,
          $e: 1,
          occupied: lean.rOcc[i] === 1,
          temperature: nul(lean.rTemp[i]!),
          alarm: lean.rAlarms[i]!.length > 0,
          alarmSources: lean.rAlarms[i],
          temperatureStats: { sum: lean.rSum[i], count: lean.rCount[i] },
          occupiedSensors: lean.rOccSensors[i],
        };
      case UNIT:
      case FLOOR:
      case BUILDING: {
        const a = lean.agg[level]!;
        const r: Record<string, unknown> = {
          $v: 1,
          $e: 1,
          temperature: nul(a.temp[i]!),
          temperatureStats: { sum: a.sum[i], count: a.count[i] },
          occupiedRooms: a.occ[i],
          alarm: a.alarms[i]!.length > 0,
          alarmSources: a.alarms[i],
        };
        if (level === UNIT) {
          r.secured = lean.secured[i] === 1;
          r.securityAlert = lean.securityAlert[i] === 1;
        }
        if (level === FLOOR) r.hvac = [null, 'cool', 'heat'][lean.hvac[i]!];
        return r;
      }
      case SITE:
        return { $v: 1, $e: 1, alarm: lean.siteAlarm[i] === 1, alarmSources: lean.siteAlarms[i] };
      default:
        return { $v: 1, $e: 1, alarmSites: lean.orgAlarmSites[i], alarm: lean.orgAlarmSites[i]! > 0 };
    }
  }
}

/** The children of each twin of the level above `children` (which gives each child's parent), in index order. */
function childrenOf(children: Level): Children {
  const parents = children.parent;
  let count = 0;
  for (let c = 0; c < parents.length; c++) count = Math.max(count, parents[c]! + 1);
  const start = new Int32Array(count + 1);
  for (let c = 0; c < parents.length; c++) start[parents[c]! + 1]!++;
  for (let p = 0; p < count; p++) start[p + 1]! += start[p]!;
  const fill = start.slice(0, count);
  const list = new Int32Array(parents.length);
  for (let c = 0; c < parents.length; c++) list[fill[parents[c]!]!++] = c;
  return { start, list };
}
