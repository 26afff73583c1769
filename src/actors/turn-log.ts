import type { Lane } from '../lanes/lane.js';
import type { JournalChange } from '../store/state-store.js';
import type { DerivedEvent } from '../model/twin-model.js';
import type { Work } from './work.js';

/** Up to this many entries, a repeat is found by scanning the entries before it (no allocation). */
const SCAN_UP_TO = 32;

/**
 * The changes of the turn in progress, newest last: enough to roll the turn back exactly
 * and, on commit, to tell observers, joins and persistence what changed. One log per
 * shard, reused by every turn (parallel arrays, so a turn allocates nothing here).
 */
export class TurnLog {
  private lanes: Lane[] = [];
  private keys: (string | undefined)[] = [];
  private olds: unknown[] = [];
  private existed: boolean[] = [];
  length = 0;
  /** For a long log, which entries repeat an earlier one (see findRepeats); valid while repeatsOf is the length. */
  private repeats = new Uint8Array(0);
  private repeatsOf = -1;
  /** findRepeats' lanes seen without a key, and keys seen with their lane (or lanes); empty between calls. */
  private readonly seenLanes = new Set<Lane>();
  private readonly seenKeys = new Map<string, Lane | Lane[]>();
  emits: DerivedEvent[] = [];
  commands: Extract<Work, { kind: 'command' }>[] = [];

  begin(): void {
    this.repeatsOf = -1;
    if (this.length > 0) {
      // Drop references to old values so finished turns do not pin them in memory, but
      // keep the arrays' capacity: truncating them would reallocate on the next turn.
      for (let i = 0; i < this.length; i++) {
        this.lanes[i] = undefined as unknown as Lane;
        this.olds[i] = undefined;
      }
      this.length = 0;
    }
    if (this.emits.length > 0) this.emits = [];
    if (this.commands.length > 0) this.commands = [];
  }

  note(lane: Lane, key: string | undefined, old: unknown, existed: boolean): void {
    const i = this.length++;
    this.lanes[i] = lane;
    this.keys[i] = key;
    this.olds[i] = old;
    this.existed[i] = existed;
  }

  lane(i: number): Lane {
    return this.lanes[i]!;
  }

  key(i: number): string | undefined {
    return this.keys[i];
  }

  old(i: number): unknown {
    return this.olds[i];
  }

  existedBefore(i: number): boolean {
    return this.existed[i]!;
  }

  /** True when entry i changes the same lane/key as an earlier entry (observers need it once). */
  isRepeat(i: number): boolean {
    const lane = this.lanes[i]!;
    if (lane.kind === 'supply') return false;
    if (this.length <= SCAN_UP_TO) {
      const key = this.keys[i];
      for (let j = 0; j < i; j++) if (this.lanes[j] === lane && this.keys[j] === key) return true;
      return false;
    }
    if (this.repeatsOf !== this.length) this.findRepeats();
    return this.repeats[i] === 1;
  }

  /**
   * Marks every entry that repeats an earlier one's lane and key, in one pass: a parent's
   * join turn applying thousands of children's updates logs an entry per update and
   * more per aggregate it keeps, and a scan per entry was quadratic in them (a parent of
   * 20 000 children took 82 % of the time in it).
   */
  private findRepeats(): void {
    const n = this.length;
    if (this.repeats.length < n) this.repeats = new Uint8Array(Math.max(n, 2 * this.repeats.length));
    // Reused across turns and emptied after each use (no twin stays pinned by them), so a
    // long turn allocates nothing here past their tables: a set per lane would cost more
    // than the scan it replaces in the many middling turns of a building's join rounds.
    const lanes = this.seenLanes;
    const keys = this.seenKeys;
    for (let i = 0; i < n; i++) {
      const lane = this.lanes[i]!;
      const key = this.keys[i];
      let repeat = false;
      if (key === undefined) {
        if (lanes.has(lane)) repeat = true;
        else lanes.add(lane);
      } else {
        const seen = keys.get(key);
        if (seen === undefined) keys.set(key, lane);
        else if (seen === lane) repeat = true;
        else if (Array.isArray(seen)) {
          if (seen.includes(lane)) repeat = true;
          else seen.push(lane);
        } else keys.set(key, [seen, lane]);
      }
      this.repeats[i] = repeat ? 1 : 0;
    }
    lanes.clear();
    keys.clear();
    this.repeatsOf = n;
  }

  /** Restores every noted change, newest first, and forgets the turn. */
  rollback(): void {
    for (let i = this.length - 1; i >= 0; i--) this.lanes[i]!.revert(this.keys[i], this.olds[i], this.existed[i]!);
    this.afterCommit();
    this.begin();
  }

  afterCommit(): void {
    for (let i = 0; i < this.length; i++) this.lanes[i]!.afterCommit();
  }
}

/**
 * The persistent lane changes of a turn as journal changes `[lane, key, old, new]`,
 * read after the turn committed (new values are the lanes' current ones).
 */
export function journalChanges(turn: TurnLog): JournalChange[] {
  const changes: JournalChange[] = [];
  for (let i = 0; i < turn.length; i++) {
    const lane = turn.lane(i);
    if (!lane.persistent) continue;
    const key = turn.key(i);
    const event = lane.changeEvent(key);
    const next =
      event.type === 'value' || event.type === 'update' ? event.value : event.type === 'clear' ? {} : undefined;
    const rawOld = turn.old(i);
    const old =
      event.type === 'clear' && rawOld instanceof Map
        ? Object.fromEntries(rawOld)
        : turn.existedBefore(i)
          ? rawOld
          : undefined;
    changes.push([lane.name, event.type === 'value' || event.type === 'clear' ? null : (key ?? null), old, next]);
  }
  return changes;
}
