/**
 * The lean yardstick's persisted variant: after each step it writes what changed, the
 * same records the runtime's LMDB store holds (same keys, same fields: a record per dirty
 * twin with its value lanes, `$v`, `$e`, `$recent` and `$timers`; a join entry per changed
 * child; closed windows as entries; the timer index by minute), with lmdb-js's batched
 * asynchronous puts: one transaction per step, up to 4 in flight, and in `strict`
 * durability the step counts as done once its transaction is on disk (`flushed`).
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { EventInput } from '../../src/index.js';
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

export class LeanPersisted {
  readonly root: RootDatabase;
  private readonly records: Database<Record<string, unknown>, string>;
  private readonly entries: Database<unknown, string>;
  private readonly timers: Database<string, string>;
  private readonly timerOf: Database<string, string>;
  private readonly hasRecord: Uint8Array[];
  private readonly indexed: Float64Array;
  private readonly levels: Level[];
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
    const lean = this.lean;
    // The parent's join entries for this twin.
    const bits = up[i]!;
    if (bits !== 0) {
      const path = this.levels[level]!.paths[i]!;
      const parent = this.levels[level + 1]!.paths[this.levels[level]!.parent[i]!]!;
      const key = (lane: string): string => parent + SEP + lane + SEP + path;
      if (level === SENSOR && bits & UP_SUMMARY)
        this.put(this.entries, key('sensors'), {
          temperature: nul(lean.jTemp[i]!),
          occupied: lean.jOcc[i] === 1,
          alarm: lean.jAlarm[i] === 1,
        });
      else if (level === ROOM) {
        if (bits & UP_ALARMS) this.put(this.entries, key('roomAlarms'), lean.rAlarms[i]);
        if (bits & UP_OCCUPIED) this.put(this.entries, key('roomOccupied'), lean.rOcc[i] === 1);
        if (bits & UP_TEMPERATURE) this.put(this.entries, key('roomTemperature'), nul(lean.juTemp[i]!));
      } else if (level === UNIT || level === FLOOR) {
        const a = lean.agg[level]!;
        if (bits & UP_ALARMS) this.put(this.entries, key('childAlarms'), a.alarms[i]);
        if (bits & UP_OCCUPIED) this.put(this.entries, key('childOccupied'), a.occ[i]);
        if (bits & UP_TEMPERATURE)
          this.put(this.entries, key('childStats'), { sum: a.joinSum[i], count: a.joinCount[i] });
        if (bits & UP_UNOCCUPIED) this.put(this.entries, key('childUnoccupied'), lean.unoccupiedRooms(level, i));
      } else if (level === BUILDING && bits & UP_ALARMS)
        this.put(this.entries, key('buildingAlarms'), lean.agg[BUILDING]!.alarms[i]);
      else if (level === SITE && bits & UP_ALARMS) this.put(this.entries, key('sites'), lean.siteAlarm[i] === 1);
    }
    if (level === SENSOR) this.writeWindows(i);
    // The twin's own record: when a value lane, its timers or dedupe window changed, or it has none yet.
    const has = this.hasRecord[level]!;
    if (record[i] === 0 && has[i] === 1) return;
    has[i] = 1;
    const path = this.levels[level]!.paths[i]!;
    this.put(this.records, path, this.recordOf(level, i));
    if (level === SENSOR) this.indexTimers(i, path);
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
