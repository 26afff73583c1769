/**
 * Holds one MQTT 3.1.1 connection's PUBLISH packets until its rate allows them, in the
 * order they came. MQTT 3.1.1 has no negative PUBACK, and acknowledging a message that was
 * not ingested would claim a durability it does not have; so a publisher over its rate is
 * slowed instead: aedes reads the socket on only when every packet of the last read was
 * answered, so holding the answer stops the reads and the publisher meets TCP
 * backpressure. Nothing is lost and nothing is acknowledged early.
 *
 * `take` asks the quota (0: go; else milliseconds to wait); only the head of the line asks,
 * so packets never overtake each other.
 *
 * @example
 * ```ts
 * const throttle = new PublishThrottle(() => quota.take(key, 1, rate), () => quota.limited('mqtt'));
 * throttle.admit(() => ingest.publish(msg, qos, clientId, ack));
 * ```
 */
export class PublishThrottle {
  private readonly waiting: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly take: () => number,
    /** Called once per packet that had to wait. */
    private readonly onHeld: () => void,
  ) {}

  /** Packets waiting for tokens. */
  get held(): number {
    return this.waiting.length;
  }

  /** Runs `go` now if the line is empty and the rate allows, else when its turn and tokens come. */
  admit(go: () => void): void {
    if (this.closed) return;
    if (this.waiting.length === 0) {
      const wait = this.take();
      if (wait === 0) return go();
      this.onHeld();
      this.waiting.push(go);
      this.arm(wait);
      return;
    }
    this.onHeld();
    this.waiting.push(go);
  }

  /** The connection closed: what waits is never run (QoS 1 is not acknowledged, so the client resends it). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.waiting.length = 0;
  }

  private arm(wait: number): void {
    this.timer = setTimeout(this.drain, wait);
    this.timer.unref();
  }

  private readonly drain = (): void => {
    this.timer = undefined;
    while (!this.closed && this.waiting.length > 0) {
      const wait = this.take();
      if (wait > 0) return this.arm(wait);
      this.waiting.shift()!();
    }
  };
}
