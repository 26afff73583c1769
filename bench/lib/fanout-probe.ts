/**
 * The parent's handle on bench/fanout's subscriber process (lib/fanout-clients.ts): forks
 * it, measures its clock offset, and runs measurement windows. Clocks: both sides read
 * `performance.timeOrigin + performance.now()`; the offset between the two processes is
 * estimated NTP-style from the IPC round trip with the smallest delay (its error is at
 * most half that round trip, reported as `offsetErrorMs`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { FromClients, ToClients } from './fanout-clients.js';

export interface Window {
  deliveries: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Event-loop utilisation of this (the server's) process over the window, 0–1. */
  serverBusy: number;
  /** CPU time of this process (user + system) over the window's wall time, 0–1 per core. */
  serverCpu: number;
  /** The same for the subscriber process. */
  clientCpu: number;
}

/** The clock every fanout timestamp is taken from (shared by both processes). */
export const sharedNow = (): number => performance.timeOrigin + performance.now();

export class FanoutClients {
  /** Child clock minus ours, and the bound on its error (ms). */
  offsetMs = 0;
  offsetErrorMs = Infinity;
  private waiting: ((msg: FromClients) => void) | null = null;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (msg: FromClients) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(msg);
    });
  }

  /** Forks the subscriber process and calibrates its clock against ours. */
  static async fork(): Promise<FanoutClients> {
    const child = fork(new URL('./fanout-clients.js', import.meta.url), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const clients = new FanoutClients(child);
    await clients.calibrate();
    return clients;
  }

  /**
   * Opens `sockets` sockets; sends each its subscribe frame and waits for `expectSynced` `@synced`.
   * `ca` (PEM): for a `wss://` url of a node whose certificate a private CA issued.
   */
  async open(url: string, sockets: number, subscribe: string[] | null, protocol?: string, ca?: string): Promise<void> {
    const expectSynced = subscribe ? subscribe.reduce((n, f) => n + f.split('\n').length, 0) : 0;
    await this.request({ t: 'open', url, protocol, ca, sockets, subscribe, expectSynced }, 'opened');
  }

  /** Resets the counters, runs `drive`, waits for the tail and reads the window's figures. */
  async window(drive: () => Promise<void>): Promise<Window> {
    await this.request({ t: 'start' }, 'started');
    const t0 = sharedNow();
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    await drive();
    const w = await this.request({ t: 'stop', quietMs: 100, capMs: 5000 }, 'window');
    const busy = performance.eventLoopUtilization(elu).utilization;
    const used = process.cpuUsage(cpu);
    const cpuShare = (used.user + used.system) / 1000 / (sharedNow() - t0);
    const s = w.latencies.sort();
    const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
    return {
      deliveries: w.deliveries,
      perSecond: w.deliveries / ((w.last - t0) / 1000),
      p50: q(0.5),
      p99: q(0.99),
      max: s[s.length - 1] ?? NaN,
      serverBusy: busy,
      serverCpu: cpuShare,
      clientCpu: w.cpuMs / (sharedNow() - t0),
    };
  }

  /** Terminates the sockets (the process stays for the next scenario). */
  async closeSockets(): Promise<void> {
    await this.request({ t: 'close' }, 'closed');
  }

  kill(): void {
    this.child.disconnect();
  }

  private async calibrate(): Promise<void> {
    let best = Infinity;
    for (let i = 0; i < 200; i++) {
      const sent = sharedNow();
      const pong = await this.request({ t: 'ping', sent }, 'pong');
      const back = sharedNow();
      if (back - sent < best) {
        best = back - sent;
        this.offsetMs = pong.at - (sent + back) / 2;
      }
    }
    this.offsetErrorMs = best / 2;
    this.child.send({ t: 'offset', offset: this.offsetMs } satisfies ToClients);
  }

  private request<T extends FromClients['t']>(msg: ToClients, answer: T): Promise<Extract<FromClients, { t: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`fanout clients exited (${code})`));
      this.child.once('exit', onExit);
      this.waiting = (reply) => {
        this.child.off('exit', onExit);
        if (reply.t === answer) resolve(reply as Extract<FromClients, { t: T }>);
        else reject(new Error(`fanout clients answered ${reply.t} to ${msg.t}`));
      };
      this.child.send(msg);
    });
  }
}
