import type { Lane } from '../lanes/lane.js';
import type { JournalChange } from '../store/state-store.js';
import type { DerivedEvent } from '../model/twin-model.js';
import type { Work } from './work.js';

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
  emits: DerivedEvent[] = [];
  commands: Extract<Work, { kind: 'command' }>[] = [];

  begin(): void {
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
    const lane = this.lanes[i];
    const key = this.keys[i];
    if (lane!.kind === 'supply') return false;
    for (let j = 0; j < i; j++) if (this.lanes[j] === lane && this.keys[j] === key) return true;
    return false;
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
