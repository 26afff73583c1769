/**
 * The yardstick of issue 18: the building model's semantics (models/*.ts) for the core
 * scenario's events, written by hand with no framework and no turn machinery. Same work as
 * the runtime, same results (test/unit/lean-yardstick.test.ts and the check in bench/core
 * compare them through the runtime's public API):
 *
 * - per sensor event: twin lookup by path, the dedupe window (8 hashes of source + id, the
 *   runtime's hash), validation of the reading, latest value, lastSeen, status, the
 *   absence deadline (`offline` after 10 min, on the clock), the hourly temperature window;
 * - per step (a batch of events; the runtime's step): join updates coalesced per child and
 *   applied level by level in child path order (room → unit → floor → building → site →
 *   org), temperature sums with the model's compensated arithmetic (bit-identical means),
 *   occupied counts, unoccupied-room lists, alarm source lists up to the site, alarmed sites
 *   in the org, the reactions (hvac.adjust, security.alert, evacuation, sensor.offline) with
 *   their derived events, and dirty marking of every twin and join entry that changed;
 * - timers (offline deadlines, window closes) in one lazy heap, fired in time order.
 *
 * Where it is leaner than the runtime by design: state lives in typed arrays indexed per
 * level, not in objects per twin; nothing is rolled back (a reading is validated before
 * anything changes, so a turn cannot fail half-way); a unit's, floor's or building's list
 * of unoccupied rooms is one bit per room, read from a range of rooms, not a sorted array
 * copied on every change. What it does not do: twins outside the fleet it was built for,
 * passivation, links/observers, journaling, commands other than a unit's `secure`.
 */
import type { EventInput } from '../../src/index.js';
import { defaultParams, HOUR, type BuildingParams } from '../../models/params.js';
import { COUNT, meanOf, mergeStats, SUM } from './sum-count.js';
import { TimerHeap } from './timer-heap.js';
import type { LeanTopology, Level } from './topology.js';

/** One hourly window of a sensor, mutated in place while open (the runtime's WindowResult fields). */
export interface LeanWindow {
  start: number;
  end: number;
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  closed: boolean;
  /** Changed since the last write (persisted variant). */
  dirty: boolean;
}

export const STATUS = ['ok', 'alarm', 'offline'] as const;
const OK = 0;
const ALARM = 1;
const OFFLINE = 2;

const T_OFFLINE = 0;
const T_WINDOW = 1;
const KEEP_WINDOWS = 48;

/** Derived event types, by index in the counts. */
export const DERIVED = [
  'sensor.offline',
  'hvac.adjust',
  'hvac.adjust.cleared',
  'security.alert',
  'security.alert.cleared',
  'evacuation',
  'evacuation.cleared',
] as const;

/** Levels, for dirty marking. */
export const SENSOR = 0;
export const ROOM = 1;
export const UNIT = 2;
export const FLOOR = 3;
export const BUILDING = 4;
export const SITE = 5;
export const ORG = 6;

/** Bits of `upDirty`: which of the parent's join entries for this child changed. */
export const UP_TEMPERATURE = 1; // room → unit roomTemperature; unit/floor → parent childStats
export const UP_OCCUPIED = 2; // roomOccupied; childOccupied
export const UP_UNOCCUPIED = 4; // childUnoccupied (units, floors)
export const UP_ALARMS = 8; // roomAlarms; childAlarms; buildingAlarms; the org's `sites`
export const UP_SUMMARY = 16; // sensor → room `sensors`

/** Twins of one level touched in the current step: a flag per twin and the list of them. */
export class Touched {
  readonly flag: Uint8Array;
  readonly record: Uint8Array;
  readonly up: Uint8Array;
  list: Int32Array;
  n = 0;
  constructor(count: number) {
    this.flag = new Uint8Array(count);
    this.record = new Uint8Array(count);
    this.up = new Uint8Array(count);
    this.list = new Int32Array(Math.max(16, count));
  }
  touch(i: number): void {
    if (this.flag[i] === 0) {
      this.flag[i] = 1;
      this.list[this.n++] = i;
    }
  }
  /** The twin's record (value lanes, timers, dedupe window) changed. */
  dirty(i: number): void {
    this.touch(i);
    this.record[i] = 1;
  }
  /** Its parent's join entry for it changed. */
  dirtyUp(i: number, bit: number): void {
    this.touch(i);
    this.up[i]! |= bit;
  }
  clear(): void {
    for (let k = 0; k < this.n; k++) {
      const i = this.list[k]!;
      this.flag[i] = 0;
      this.record[i] = 0;
      this.up[i] = 0;
    }
    this.n = 0;
  }
}

/** The runtime's dedupe hash of (source, id) (src/actors/dedupe.ts), written out. */
export function dedupeHash(source: string, id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ 0x110000, 2654435761);
  h2 = Math.imul(h2 ^ 0x110000, 1597334677);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Inserts `s` into the sorted array `a` (code-unit order); false when present. */
function sortedAdd(a: string[], s: string): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  if (a[lo] !== s) a.splice(lo, 0, s);
}

function sortedDelete(a: string[], s: string): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  if (a[lo] === s) a.splice(lo, 1);
}

const num = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);

/** The model's readingProblem (models/readings.ts) as a yes/no, per kind index. */
function invalid(kind: number, data: unknown): boolean {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return true;
  const r = data as Record<string, unknown>;
  switch (kind) {
    case 0:
      return !num(r.temperature) || !num(r.humidity) || (r.co2 !== undefined && !num(r.co2));
    case 1:
      return typeof r.occupied !== 'boolean' || (r.count !== undefined && !num(r.count));
    case 2:
      return typeof r.alarm !== 'boolean' || (r.smoke !== undefined && !num(r.smoke));
    case 3:
      return typeof r.alarm !== 'boolean' || (r.level !== undefined && !num(r.level));
    default:
      return false;
  }
}

/** NaN stands for null in the number arrays; two nulls are equal, as `Object.is(NaN, NaN)`. */
const same = Object.is;

export class LeanBuilding {
  readonly topo: LeanTopology;
  readonly params: BuildingParams;
  readonly dedupeWindow: number;
  now = 0;
  // ---- counters
  events = 0;
  duplicates = 0;
  rejected = 0;
  readonly derived = new Int32Array(DERIVED.length);
  /** The current step's derived events (type, source path, data), in emission order. */
  outputs: { type: string; source: string; time: number; data: unknown }[] = [];

  // ---- sensors
  readonly latest: unknown[];
  readonly lastSeen: Float64Array;
  readonly status: Uint8Array;
  readonly recent: Float64Array;
  readonly recentLen: Uint8Array;
  /** The reading's summary (what the room joins): temperature (NaN null), occupied, alarm. */
  readonly sTemp: Float64Array;
  readonly sOcc: Uint8Array;
  readonly sAlarm: Uint8Array;
  readonly sAnnounced: Uint8Array;
  readonly offlineDue: Float64Array;
  readonly offlineArmed: Float64Array;
  readonly windows: (LeanWindow[] | null)[];
  readonly windowDue: Float64Array;
  readonly windowArmed: Float64Array;
  /** Closed windows trimmed since the last write, per sensor (persisted variant deletes them). */
  readonly trimmed: (number[] | null)[];
  // ---- the room's join of its sensors (the summary it last applied)
  readonly jKnown: Uint8Array;
  readonly jTemp: Float64Array;
  readonly jOcc: Uint8Array;
  readonly jAlarm: Uint8Array;
  // ---- rooms
  readonly rSum: Float64Array;
  readonly rCount: Float64Array;
  readonly rTemp: Float64Array;
  readonly rOccSensors: Int32Array;
  readonly rOcc: Uint8Array;
  readonly rAlarms: string[][];
  readonly rAnnounced: Uint8Array;
  /** Listed as unoccupied by its unit (and so by the floor and building). */
  readonly rListed: Uint8Array;
  /** The unit's join of room temperatures (NaN null). */
  readonly juKnown: Uint8Array;
  readonly juTemp: Float64Array;
  // ---- units, floors, buildings (temperature stats, occupied/unoccupied counts, alarms)
  readonly agg: {
    sum: Float64Array;
    count: Float64Array;
    temp: Float64Array;
    occ: Int32Array;
    unocc: Int32Array;
    alarms: string[][];
    announced: Uint8Array;
    joinKnown: Uint8Array;
    joinSum: Float64Array;
    joinCount: Float64Array;
  }[];
  readonly secured: Uint8Array;
  readonly securityAlert: Uint8Array;
  readonly hvac: Uint8Array; // 0 null, 1 cool, 2 heat
  // ---- sites, org
  readonly siteAlarms: string[][];
  readonly siteAlarm: Uint8Array;
  readonly siteAnnounced: Uint8Array;
  readonly orgAlarmSites: Int32Array;
  readonly orgSiteKnown: Uint8Array;
  readonly orgSiteAlarm: Uint8Array;

  /** Per level, the twins touched this step (see {@link Touched}). */
  readonly touched: Touched[];
  private readonly heap = new TimerHeap();
  private readonly popped = { due: 0, twin: 0, kind: 0 };
  // join rounds: pending children per level, chained per parent
  private readonly pendingHead: Int32Array[];
  private readonly pendingNext: Int32Array[];
  private readonly pendingFlag: Uint8Array[];
  private readonly parentsTouched: Int32Array[];
  private readonly parentsN = new Int32Array(7);
  private readonly sortScratch = new Int32Array(4096);
  private readonly levels: Level[];
  private readonly unitsToCheck: Touched;
  private readonly sitesToCheck: Touched;

  constructor(topo: LeanTopology, params: BuildingParams = defaultParams, dedupeWindow = 8) {
    this.topo = topo;
    this.params = params;
    this.dedupeWindow = dedupeWindow;
    const S = topo.sensors.paths.length;
    const R = topo.rooms.paths.length;
    this.latest = new Array<unknown>(S).fill(null);
    this.lastSeen = new Float64Array(S).fill(NaN);
    this.status = new Uint8Array(S);
    this.recent = new Float64Array(S * Math.max(1, dedupeWindow));
    this.recentLen = new Uint8Array(S);
    this.sTemp = new Float64Array(S).fill(NaN);
    this.sOcc = new Uint8Array(S);
    this.sAlarm = new Uint8Array(S);
    this.sAnnounced = new Uint8Array(S);
    this.offlineDue = new Float64Array(S).fill(NaN);
    this.offlineArmed = new Float64Array(S).fill(NaN);
    this.windows = new Array<LeanWindow[] | null>(S).fill(null);
    this.windowDue = new Float64Array(S).fill(NaN);
    this.windowArmed = new Float64Array(S).fill(NaN);
    this.trimmed = new Array<number[] | null>(S).fill(null);
    this.jKnown = new Uint8Array(S);
    this.jTemp = new Float64Array(S).fill(NaN);
    this.jOcc = new Uint8Array(S);
    this.jAlarm = new Uint8Array(S);
    this.rSum = new Float64Array(R);
    this.rCount = new Float64Array(R);
    this.rTemp = new Float64Array(R).fill(NaN);
    this.rOccSensors = new Int32Array(R);
    this.rOcc = new Uint8Array(R);
    this.rAlarms = Array.from({ length: R }, () => []);
    this.rAnnounced = new Uint8Array(R);
    this.rListed = new Uint8Array(R);
    this.juKnown = new Uint8Array(R);
    this.juTemp = new Float64Array(R).fill(NaN);
    const aggOf = (n: number) => ({
      sum: new Float64Array(n),
      count: new Float64Array(n),
      temp: new Float64Array(n).fill(NaN),
      occ: new Int32Array(n),
      unocc: new Int32Array(n),
      alarms: Array.from({ length: n }, (): string[] => []),
      announced: new Uint8Array(n),
      joinKnown: new Uint8Array(n),
      joinSum: new Float64Array(n),
      joinCount: new Float64Array(n),
    });
    const U = topo.units.paths.length;
    const F = topo.floors.paths.length;
    const B = topo.buildings.paths.length;
    const Si = topo.sites.paths.length;
    const O = topo.orgs.paths.length;
    this.agg = [];
    this.agg[UNIT] = aggOf(U);
    this.agg[FLOOR] = aggOf(F);
    this.agg[BUILDING] = aggOf(B);
    this.secured = new Uint8Array(U);
    this.securityAlert = new Uint8Array(U);
    this.hvac = new Uint8Array(F);
    this.siteAlarms = Array.from({ length: Si }, () => []);
    this.siteAlarm = new Uint8Array(Si);
    this.siteAnnounced = new Uint8Array(Si);
    this.orgAlarmSites = new Int32Array(O);
    this.orgSiteKnown = new Uint8Array(Si);
    this.orgSiteAlarm = new Uint8Array(Si);
    const sizes = [S, R, U, F, B, Si, O];
    this.touched = sizes.map((n) => new Touched(n));
    this.pendingHead = sizes.map((n) => new Int32Array(n).fill(-1));
    this.pendingNext = sizes.map((n) => new Int32Array(n).fill(-1));
    this.pendingFlag = sizes.map((n) => new Uint8Array(n));
    this.parentsTouched = sizes.map((n) => new Int32Array(n));
    this.levels = [topo.sensors, topo.rooms, topo.units, topo.floors, topo.buildings, topo.sites, topo.orgs];
    this.unitsToCheck = new Touched(U);
    this.sitesToCheck = new Touched(Si);
  }

  // ---- steps ------------------------------------------------------------------------

  /**
   * One step at clock time `now`: first the timers due by then (each distinct due time a
   * step of its own, as the runtime's alarm fires them), then events[from, to), then the
   * join rounds. The caller reads {@link touched} and {@link outputs} and calls
   * {@link endStep} (the persisted variant writes in between).
   */
  step(events: readonly EventInput[], from: number, to: number, now: number): void {
    this.advanceTo(now);
    this.now = now;
    for (let i = from; i < to; i++) this.event(events[i]!);
    this.joinRounds();
  }

  /** Fires the timers due at or before `time`, one step per due time; `onStep` runs after each. */
  advanceTo(time: number, onStep?: () => void): void {
    const heap = this.heap;
    const e = this.popped;
    while (heap.peek() <= time) {
      const due = heap.peek();
      this.now = due;
      while (heap.peek() === due) {
        heap.pop(e);
        this.timer(e.twin, e.kind, e.due);
      }
      this.joinRounds();
      if (onStep) onStep();
      else this.endStep();
    }
  }

  /** In-memory use: `events` in steps of `batch` at clock time `now()`, each step's marks then dropped. */
  run(events: readonly EventInput[], batch: number, now: () => number): void {
    for (let from = 0; from < events.length; from += batch) {
      this.step(events, from, Math.min(events.length, from + batch), now());
      this.endStep();
    }
  }

  /** Forgets the step's dirty marks and outputs (after they were written, if persisted). */
  endStep(): void {
    for (let l = 0; l < 7; l++) if (this.touched[l]!.n > 0) this.touched[l]!.clear();
    if (this.outputs.length > 0) this.outputs = [];
  }

  /** The unit command `secure` (one turn in a step of its own). The unit must have state. */
  secure(unit: number, on: boolean, now: number): void {
    this.advanceTo(now);
    this.now = now;
    if (!this.agg[UNIT]!.announced[unit]) throw new Error('lean: secure() of a unit without state');
    if (this.secured[unit] !== Number(on)) {
      this.secured[unit] = Number(on);
      this.touched[UNIT]!.dirty(unit);
      this.checkSecurity(unit);
    }
  }

  // ---- a sensor's event ---------------------------------------------------------------

  private event(e: EventInput): void {
    const s = this.topo.sensorIndex.get(e.subject);
    if (s === undefined) throw new Error(`lean: ${e.subject} is not in the fleet`);
    this.events++;
    const W = this.dedupeWindow;
    let hash = 0;
    if (W > 0) {
      hash = dedupeHash(e.source ?? 'twinflow:api', e.id!);
      const base = s * W;
      const n = this.recentLen[s]!;
      for (let k = 0; k < n; k++)
        if (this.recent[base + k] === hash) {
          this.duplicates++;
          return;
        }
    }
    const data = e.data as Record<string, unknown>;
    if ((e.type !== undefined && e.type !== 'reading') || invalid(this.topo.kind[s]!, data)) {
      this.rejected++;
      return;
    }
    const now = this.now;
    this.latest[s] = data;
    this.lastSeen[s] = typeof e.time === 'number' ? e.time : e.time === undefined ? now : Date.parse(e.time);
    const alarm = data.alarm === true;
    this.status[s] = alarm ? ALARM : OK;
    // Absence deadline: moving it later pushes nothing (the entry is re-checked when due).
    const due = now + this.params.offlineAfter;
    this.offlineDue[s] = due;
    if (!(this.offlineArmed[s]! <= due)) {
      this.offlineArmed[s] = due;
      this.heap.push(due, s, T_OFFLINE);
    }
    const t = data.temperature;
    if (typeof t === 'number') this.sample(s, t);
    if (W > 0) {
      const base = s * W;
      const n = this.recentLen[s]!;
      if (n < W) {
        this.recent[base + n] = hash;
        this.recentLen[s] = n + 1;
      } else {
        this.recent.copyWithin(base, base + 1, base + W);
        this.recent[base + W - 1] = hash;
      }
    }
    this.touched[SENSOR]!.dirty(s);
    // The room's view: sent when the summary changed (or on the sensor's first turn).
    const temp = typeof t === 'number' ? t : NaN;
    const occ = data.occupied === true ? 1 : 0;
    const al = alarm ? 1 : 0;
    if (!this.sAnnounced[s] || !same(temp, this.sTemp[s]!) || occ !== this.sOcc[s] || al !== this.sAlarm[s]) {
      this.sTemp[s] = temp;
      this.sOcc[s] = occ;
      this.sAlarm[s] = al;
      this.sAnnounced[s] = 1;
      this.pend(SENSOR, s, this.topo.sensors.parent[s]!);
    }
  }

  /** The hourly window's sample at the clock's time (WindowLane.add, tumbling, keep 48). */
  private sample(s: number, v: number): void {
    if (!Number.isFinite(v)) return;
    const start = Math.floor(this.now / HOUR) * HOUR;
    let ws = this.windows[s];
    if (!ws) this.windows[s] = ws = [];
    let w: LeanWindow | undefined;
    for (let k = ws.length - 1; k >= 0; k--)
      if (ws[k]!.start === start) {
        w = ws[k];
        break;
      }
    if (!w) {
      w = { start, end: start + HOUR, count: 0, sum: 0, min: null, max: null, closed: false, dirty: false };
      let at = ws.length;
      while (at > 0 && ws[at - 1]!.start > start) at--;
      ws.splice(at, 0, w);
    }
    if (!w.closed) {
      w.count++;
      w.sum += v;
      if (w.min === null || v < w.min) w.min = v;
      if (w.max === null || v > w.max) w.max = v;
      w.dirty = true;
    }
    this.trim(s, ws);
    this.armWindow(s, ws);
  }

  private trim(s: number, ws: LeanWindow[]): void {
    while (ws.length > KEEP_WINDOWS) {
      const old = ws.shift()!;
      (this.trimmed[s] ??= []).push(old.start);
    }
  }

  private armWindow(s: number, ws: LeanWindow[]): void {
    let due = Infinity;
    for (let k = 0; k < ws.length; k++) if (!ws[k]!.closed && ws[k]!.end < due) due = ws[k]!.end;
    if (due === Infinity) {
      this.windowDue[s] = NaN;
      return;
    }
    this.windowDue[s] = due;
    if (!(this.windowArmed[s]! <= due)) {
      this.windowArmed[s] = due;
      this.heap.push(due, s, T_WINDOW);
    }
  }

  // ---- timers -------------------------------------------------------------------------

  private timer(s: number, kind: number, entryDue: number): void {
    const dueArr = kind === T_OFFLINE ? this.offlineDue : this.windowDue;
    const armedArr = kind === T_OFFLINE ? this.offlineArmed : this.windowArmed;
    if (armedArr[s] !== entryDue) return; // stale entry
    armedArr[s] = NaN;
    const due = dueArr[s]!;
    if (Number.isNaN(due)) return; // cancelled
    if (due > entryDue) {
      armedArr[s] = due; // moved later
      this.heap.push(due, s, kind);
      return;
    }
    dueArr[s] = NaN;
    this.touched[SENSOR]!.dirty(s);
    if (kind === T_WINDOW) {
      const ws = this.windows[s]!;
      for (const w of ws)
        if (!w.closed && w.end <= this.now) {
          w.closed = true;
          w.dirty = true;
        }
      this.trim(s, ws);
      this.armWindow(s, ws);
      return;
    }
    if (this.status[s] === OFFLINE) return;
    this.status[s] = OFFLINE;
    this.emit(0, this.topo.sensors.paths[s]!, {
      lastSeen: Number.isNaN(this.lastSeen[s]) ? null : this.lastSeen[s],
      silentFor: this.params.offlineAfter,
    });
  }

  private emit(type: number, source: string, data: unknown): void {
    this.derived[type]!++;
    this.outputs.push({ type: DERIVED[type]!, source, time: this.now, data });
  }

  // ---- join rounds --------------------------------------------------------------------

  /** Child `i` of `level` has a join update for parent `p` this step (coalesced). */
  private pend(level: number, i: number, p: number): void {
    const flag = this.pendingFlag[level]!;
    if (flag[i]) return;
    flag[i] = 1;
    const head = this.pendingHead[level + 1]!;
    if (head[p] === -1) this.parentsTouched[level + 1]![this.parentsN[level + 1]!++] = p;
    this.pendingNext[level]![i] = head[p]!;
    head[p] = i;
  }

  /** The pending children of parent `p`, sorted by path, into sortScratch; returns how many. */
  private takeChildren(level: number, p: number): number {
    const head = this.pendingHead[level + 1]!;
    const next = this.pendingNext[level]!;
    const flag = this.pendingFlag[level]!;
    const rank = this.levelOf(level).rank;
    const out = this.sortScratch;
    let n = 0;
    for (let i = head[p]!; i !== -1; i = next[i]!) {
      flag[i] = 0;
      let j = n++;
      while (j > 0 && rank[out[j - 1]!]! > rank[i]!) {
        out[j] = out[j - 1]!;
        j--;
      }
      out[j] = i;
    }
    head[p] = -1;
    return n;
  }

  private levelOf(level: number): Level {
    return this.levels[level]!;
  }

  private joinRounds(): void {
    for (let level = ROOM; level <= BUILDING; level++) {
      const parents = this.parentsTouched[level]!;
      const n = this.parentsN[level]!;
      this.parentsN[level] = 0;
      for (let k = 0; k < n; k++) {
        const p = parents[k]!;
        if (level === ROOM) this.roomTurn(p);
        else this.levelTurn(level, p);
      }
    }
    const units = this.unitsToCheck;
    for (let k = 0; k < units.n; k++) this.checkSecurity(units.list[k]!);
    units.clear();
    const sites = this.sitesToCheck;
    for (let k = 0; k < sites.n; k++) this.siteTurnEnd(sites.list[k]!);
    sites.clear();
  }

  /** A room applies its sensors' summaries (models/room.ts), then tells its unit. */
  private roomTurn(r: number): void {
    const n = this.takeChildren(SENSOR, r);
    const sensors = this.sortScratch;
    const tempBefore = this.rTemp[r]!;
    const occBefore = this.rOcc[r]!;
    const rooms = this.touched[ROOM]!;
    const sensorTouched = this.touched[SENSOR]!;
    for (let k = 0; k < n; k++) {
      const s = sensors[k]!;
      const known = this.jKnown[s] === 1;
      const nt = this.sTemp[s]!;
      const no = this.sOcc[s]!;
      const na = this.sAlarm[s]!;
      if (known && same(this.jTemp[s]!, nt) && this.jOcc[s] === no && this.jAlarm[s] === na) continue;
      const before = known ? this.jTemp[s]! : NaN;
      if (!same(nt, before)) {
        mergeStats(this.rSum[r]!, this.rCount[r]!, !Number.isNaN(before), before, 1, !Number.isNaN(nt), nt, 1);
        if (!same(SUM, this.rSum[r]!) || COUNT !== this.rCount[r]) {
          this.rSum[r] = SUM;
          this.rCount[r] = COUNT;
          rooms.dirty(r);
        }
        const mean = meanOf(SUM, COUNT);
        if (!same(mean, this.rTemp[r]!)) {
          this.rTemp[r] = mean;
          rooms.dirty(r);
        }
      }
      const delta = no - (known ? this.jOcc[s]! : 0);
      if (delta !== 0) {
        const m = (this.rOccSensors[r] = this.rOccSensors[r]! + delta);
        this.rOcc[r] = m > 0 ? 1 : 0;
        rooms.dirty(r);
      }
      if (na !== (known ? this.jAlarm[s]! : 0)) this.alarmChanged(s, r, na === 1);
      this.jKnown[s] = 1;
      this.jTemp[s] = nt;
      this.jOcc[s] = no;
      this.jAlarm[s] = na;
      sensorTouched.dirtyUp(s, UP_SUMMARY);
      rooms.touch(r);
    }
    const u = this.topo.rooms.parent[r]!;
    if (!this.rAnnounced[r]) {
      // First turn: the unit learns the room's temperature, occupancy and alarm list.
      this.rAnnounced[r] = 1;
      rooms.dirtyUp(r, UP_TEMPERATURE | UP_OCCUPIED | UP_ALARMS);
      this.occupancyChanged(r, u, true);
      this.pend(ROOM, r, u);
      return;
    }
    if (this.rOcc[r] !== occBefore) {
      rooms.dirtyUp(r, UP_OCCUPIED);
      this.occupancyChanged(r, u, false);
    }
    if (!same(this.rTemp[r]!, tempBefore)) this.pend(ROOM, r, u);
  }

  /** Sensor `s` of room `r` went into or out of alarm: every list from the room to the site. */
  private alarmChanged(s: number, r: number, on: boolean): void {
    const path = this.topo.sensors.paths[s]!;
    const t = this.topo;
    const u = t.rooms.parent[r]!;
    const f = t.units.parent[u]!;
    const b = t.floors.parent[f]!;
    const site = t.buildings.parent[b]!;
    const lists = [
      this.rAlarms[r]!,
      this.agg[UNIT]!.alarms[u]!,
      this.agg[FLOOR]!.alarms[f]!,
      this.agg[BUILDING]!.alarms[b]!,
      this.siteAlarms[site]!,
    ];
    for (const list of lists) {
      if (on) sortedAdd(list, path);
      else sortedDelete(list, path);
    }
    this.touched[ROOM]!.dirty(r);
    this.touched[ROOM]!.dirtyUp(r, UP_ALARMS);
    this.touched[UNIT]!.dirty(u);
    this.touched[UNIT]!.dirtyUp(u, UP_ALARMS);
    this.touched[FLOOR]!.dirty(f);
    this.touched[FLOOR]!.dirtyUp(f, UP_ALARMS);
    this.touched[BUILDING]!.dirty(b);
    this.touched[BUILDING]!.dirtyUp(b, UP_ALARMS);
    this.touched[SITE]!.dirty(site);
    this.sitesToCheck.touch(site);
  }

  /** Room `r` became known to its unit (`first`) or flipped occupied: counts and lists up to the building. */
  private occupancyChanged(r: number, u: number, first: boolean): void {
    const occ = this.rOcc[r] === 1;
    const t = this.topo;
    const f = t.units.parent[u]!;
    const b = t.floors.parent[f]!;
    const dOcc = occ ? 1 : first ? 0 : -1;
    const dUnocc = occ ? (first ? 0 : -1) : 1;
    this.rListed[r] = occ ? 0 : 1;
    const ids = [u, f, b];
    for (let l = UNIT; l <= BUILDING; l++) {
      const a = this.agg[l]!;
      const i = ids[l - UNIT]!;
      const touched = this.touched[l]!;
      if (dOcc !== 0) {
        a.occ[i]! += dOcc;
        touched.dirty(i);
        touched.dirtyUp(i, UP_OCCUPIED);
      }
      if (dUnocc !== 0) {
        a.unocc[i]! += dUnocc;
        touched.dirtyUp(i, UP_UNOCCUPIED);
      }
    }
    if (dOcc !== 0) this.unitsToCheck.touch(u);
  }

  /** A unit, floor or building merges its children's temperature stats (models/level.ts). */
  private levelTurn(level: number, p: number): void {
    const n = this.takeChildren(level - 1, p);
    const children = this.sortScratch;
    const a = this.agg[level]!;
    const touched = this.touched[level]!;
    const tempBefore = a.temp[p]!;
    const fromRooms = level === UNIT;
    const c = fromRooms ? null : this.agg[level - 1]!;
    for (let k = 0; k < n; k++) {
      const i = children[k]!;
      let hadOld: boolean;
      let oldSum: number;
      let oldCount: number;
      let hasNext: boolean;
      let nextSum: number;
      let nextCount: number;
      if (fromRooms) {
        const known = this.juKnown[i] === 1;
        const nt = this.rTemp[i]!;
        if (known && same(this.juTemp[i]!, nt)) continue;
        const old = known ? this.juTemp[i]! : NaN;
        hadOld = !Number.isNaN(old);
        oldSum = old;
        oldCount = 1;
        hasNext = !Number.isNaN(nt);
        nextSum = nt;
        nextCount = 1;
        this.juKnown[i] = 1;
        this.juTemp[i] = nt;
        this.touched[ROOM]!.dirtyUp(i, UP_TEMPERATURE);
      } else {
        const known = c!.joinKnown[i] === 1;
        if (known && same(c!.joinSum[i]!, c!.sum[i]!) && c!.joinCount[i] === c!.count[i]) continue;
        hadOld = known;
        oldSum = c!.joinSum[i]!;
        oldCount = c!.joinCount[i]!;
        hasNext = true;
        nextSum = c!.sum[i]!;
        nextCount = c!.count[i]!;
        c!.joinKnown[i] = 1;
        c!.joinSum[i] = nextSum;
        c!.joinCount[i] = nextCount;
        this.touched[level - 1]!.dirtyUp(i, UP_TEMPERATURE);
      }
      touched.touch(p);
      mergeStats(a.sum[p]!, a.count[p]!, hadOld, oldSum, oldCount, hasNext, nextSum, nextCount);
      if (!same(SUM, a.sum[p]!) || COUNT !== a.count[p]) {
        a.sum[p] = SUM;
        a.count[p] = COUNT;
        touched.dirty(p);
      }
      const mean = meanOf(SUM, COUNT);
      if (!same(mean, a.temp[p]!)) {
        a.temp[p] = mean;
        touched.dirty(p);
      }
    }
    if (level === FLOOR && !same(a.temp[p]!, tempBefore)) this.hvacCheck(p);
    const parent = this.levelOf(level).parent[p]!;
    if (!a.announced[p]) {
      a.announced[p] = 1;
      touched.dirtyUp(p, UP_TEMPERATURE | UP_OCCUPIED | UP_UNOCCUPIED | UP_ALARMS);
      if (level === BUILDING) this.sitesToCheck.touch(parent);
      else this.pend(level, p, parent);
      return;
    }
    if (level < BUILDING && !(same(a.joinSum[p]!, a.sum[p]!) && a.joinCount[p] === a.count[p]))
      this.pend(level, p, parent);
  }

  /** The floor's onSet(temperature): hvac.adjust / hvac.adjust.cleared (models/floor.ts). */
  private hvacCheck(f: number): void {
    const average = this.agg[FLOOR]!.temp[f]!;
    if (Number.isNaN(average)) return;
    const { setpoint, hvacBand, hvacClearBand } = this.params;
    const mode = this.hvac[f]!;
    const wanted = average > setpoint + hvacBand ? 1 : average < setpoint - hvacBand ? 2 : 0;
    const path = this.topo.floors.paths[f]!;
    if (wanted !== 0 && wanted !== mode) {
      this.hvac[f] = wanted;
      this.touched[FLOOR]!.dirty(f);
      this.emit(1, path, { mode: wanted === 1 ? 'cool' : 'heat', average, setpoint });
    } else if (mode !== 0 && Math.abs(average - setpoint) <= hvacClearBand) {
      this.hvac[f] = 0;
      this.touched[FLOOR]!.dirty(f);
      this.emit(2, path, { average, setpoint });
    }
  }

  /** The unit's checkSecurity (models/unit.ts). */
  private checkSecurity(u: number): void {
    const occupied = this.agg[UNIT]!.occ[u]!;
    const breach = this.secured[u] === 1 && occupied > 0 ? 1 : 0;
    if (breach === this.securityAlert[u]) return;
    this.securityAlert[u] = breach;
    this.touched[UNIT]!.dirty(u);
    this.emit(breach ? 3 : 4, this.topo.units.paths[u]!, { occupiedRooms: occupied });
  }

  /** A site's turn ends: its alarm may have flipped (evacuation), and the org counts it. */
  private siteTurnEnd(site: number): void {
    const touched = this.touched[SITE]!;
    touched.touch(site);
    const alarm = this.siteAlarms[site]!.length > 0 ? 1 : 0;
    const first = !this.siteAnnounced[site];
    this.siteAnnounced[site] = 1;
    if (alarm !== this.siteAlarm[site]) {
      this.siteAlarm[site] = alarm;
      touched.dirty(site);
      const path = this.topo.sites.paths[site]!;
      if (alarm) this.emit(5, path, { alarmSources: this.siteAlarms[site]!.slice() });
      else this.emit(6, path, {});
    }
    // The org's join of the site's alarm.
    const known = this.orgSiteKnown[site] === 1;
    if (first || !known || this.orgSiteAlarm[site] !== alarm) {
      const o = this.topo.sites.parent[site]!;
      const n = this.orgAlarmSites[o]! + alarm - (known ? this.orgSiteAlarm[site]! : 0);
      if (n !== this.orgAlarmSites[o]) this.touched[ORG]!.dirty(o);
      this.orgAlarmSites[o] = n;
      this.orgSiteKnown[site] = 1;
      this.orgSiteAlarm[site] = alarm;
      touched.dirtyUp(site, UP_ALARMS);
      this.touched[ORG]!.touch(o);
    }
  }

  // ---- reads (for the equivalence check and records) --------------------------------

  /** Rooms listed as unoccupied under a unit, floor or building (path order). */
  unoccupiedRooms(level: number, i: number): string[] {
    const range = (
      level === UNIT
        ? this.topo.roomRange.unit
        : level === FLOOR
          ? this.topo.roomRange.floor
          : this.topo.roomRange.building
    )[i]!;
    const out: string[] = [];
    for (let r = range[0]!; r < range[1]!; r++) if (this.rListed[r]) out.push(this.topo.rooms.paths[r]!);
    return out;
  }

  /** The alarm flag of a unit, floor or building. */
  alarmOf(level: number, i: number): boolean {
    return this.agg[level]!.alarms[i]!.length > 0;
  }

  /** Derived-event counts by type. */
  derivedCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    DERIVED.forEach((t, i) => (out[t] = this.derived[i]!));
    return out;
  }
}
