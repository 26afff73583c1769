import type { DerivedEvent, TwinLogger } from '../model/twin-model.js';
import { ThrottledWarning } from '../logger.js';
import { OutputGate } from './output-gate.js';

type Listener = (event: DerivedEvent) => void;

/**
 * Who hears a runtime's derived events (Runtime.onOutput): listeners of this node's twins'
 * outputs and listeners of the whole twin space's (`space: true`), behind the
 * {@link OutputGate} that holds events until the first of them subscribes. A listener that
 * throws stops neither the others nor the commit that emitted the event: it is logged, one
 * line per 10 s with the count (a listener bug would otherwise log every event).
 */
export class OutputListeners {
  private readonly own = new Set<Listener>();
  private readonly space = new Set<Listener>();
  private readonly gate: OutputGate;
  private readonly failures: ThrottledWarning;

  constructor(maxHeld: number, log: TwinLogger) {
    this.failures = new ThrottledWarning(log, 'output listener threw', 10_000, 'failures');
    this.gate = new OutputGate(
      maxHeld,
      log,
      () => this.own.size > 0 || this.space.size > 0,
      (e, spaceOnly) => this.deliver(e, spaceOnly),
    );
  }

  /** An event of a twin this runtime runs (`spaceOnly` false), or of another node's (true). */
  output(event: DerivedEvent, spaceOnly: boolean): void {
    this.gate.output(event, spaceOnly);
  }

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: Listener, space: boolean): () => void {
    const listeners = space ? this.space : this.own;
    listeners.add(listener);
    this.gate.subscribed();
    return () => listeners.delete(listener);
  }

  /** See Runtime.holdOutputs. */
  hold(): () => void {
    return this.gate.hold();
  }

  /** Events held now for listeners to come. */
  get held(): number {
    return this.gate.size;
  }

  /** Events dropped (oldest first) because more than the bound were held at once. */
  get dropped(): number {
    return this.gate.dropped;
  }

  /** Forgets what is held (the runtime closed: nobody will subscribe now). */
  clear(): void {
    this.gate.clear();
  }

  private deliver(event: DerivedEvent, spaceOnly: boolean): void {
    if (!spaceOnly) this.each(this.own, event);
    this.each(this.space, event);
  }

  private each(listeners: ReadonlySet<Listener>, event: DerivedEvent): void {
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        this.failures.note({ err, type: event.type });
      }
    }
  }
}
