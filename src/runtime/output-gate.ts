import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';

/** Where the gate hands an event: every listener, or (`spaceOnly`) the twin-space ones only. */
export type Deliver = (event: DerivedEvent, spaceOnly: boolean) => void;

/**
 * Holds a runtime's derived events until someone listens (see Runtime.onOutput and
 * Runtime.holdOutputs). Twins emit before anyone could subscribe: timers that came due while
 * a node was down fire as soon as its shards start, on this thread or in the workers, and
 * those events went to no listener at all (a node's webhooks and `/signals` never saw the
 * `sensor.offline` of a silent sensor). So until the first listener subscribes, and while a
 * hold is taken, events wait here, in order, at most `maxHeld` of them (the oldest dropped
 * past it, counted, logged at 1, 10, 100, … drops); then they are handed over, and later ones
 * go straight through. `maxHeld` 0: nothing is ever held.
 *
 * @example
 * ```ts
 * const gate = new OutputGate(10_000, log, () => listeners.size > 0, deliver);
 * gate.output(event, false); // held: nobody listens yet
 * listeners.add(l); gate.subscribed(); // handed to l one microtask later
 * ```
 */
export class OutputGate {
  /** Events no listener has had yet, oldest first from `head`. */
  private held: ({ event: DerivedEvent; spaceOnly: boolean } | undefined)[] = [];
  private head = 0;
  private droppedCount = 0;
  /** Holds taken with {@link hold} and not released yet. */
  private holds = 0;
  /** Once the first listeners had the held events: from then on an output goes to whoever listens. */
  private delivering = false;
  private releaseQueued = false;
  /** Held events dropped past which the next warning is logged. */
  private nextDropLog = 1;

  constructor(
    private readonly maxHeld: number,
    private readonly log: TwinLogger,
    private readonly hasListeners: () => boolean,
    private readonly deliver: Deliver,
  ) {}

  /** Derived events held now. */
  get size(): number {
    return this.held.length - this.head;
  }

  /** Derived events dropped (oldest first) because more than `maxHeld` were held at once. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Where every derived event goes: held while the start (or a {@link hold}) lasts, else delivered. */
  output(event: DerivedEvent, spaceOnly: boolean): void {
    // Behind held ones too, so that listeners get them in the order they were emitted.
    if (this.maxHeld === 0 || (this.delivering && this.holds === 0 && this.head === this.held.length))
      this.deliver(event, spaceOnly);
    else this.keep(event, spaceOnly);
  }

  /**
   * A listener subscribed: the held events go to every listener subscribed by then, one
   * microtask later (so those subscribed right after it get them too, and the caller has its
   * unsubscribe function before its listener is first called).
   */
  subscribed(): void {
    if (this.delivering || this.holds > 0 || this.releaseQueued) return;
    this.releaseQueued = true;
    queueMicrotask(() => {
      this.releaseQueued = false;
      this.release();
    });
  }

  /** Holds every event until the returned function is called (holds nest; a second call does nothing). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.release();
    };
  }

  /** Forgets what is held (the runtime closed). */
  clear(): void {
    this.held = [];
    this.head = 0;
  }

  private keep(event: DerivedEvent, spaceOnly: boolean): void {
    if (this.held.length - this.head >= this.maxHeld) {
      this.held[this.head++] = undefined;
      this.droppedCount++;
      // At 1, 10, 100, … drops: a runtime nobody ever listens to drops one per output from here on.
      if (this.droppedCount >= this.nextDropLog) {
        this.nextDropLog *= 10;
        this.log.warn(
          { dropped: this.droppedCount, heldOutputs: this.maxHeld },
          'derived events held for output listeners that have not subscribed: dropping the oldest',
        );
      }
    }
    this.held.push({ event, spaceOnly });
    if (this.head > 1024 && this.head * 2 > this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
  }

  /** Hands the held events to the listeners, unless a hold is still taken or nobody listens yet. */
  private release(): void {
    if (this.holds > 0) return;
    if (!this.delivering) {
      if (!this.hasListeners()) return; // the first one left again
      this.delivering = true;
    }
    // A listener may take a hold: the rest then waits for its release.
    while (this.head < this.held.length && this.holds === 0) {
      const { event, spaceOnly } = this.held[this.head]!;
      this.held[this.head++] = undefined;
      this.deliver(event, spaceOnly);
    }
    if (this.head === this.held.length) this.clear();
  }
}
