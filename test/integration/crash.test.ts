/**
 * Crash safety of `twinflow serve` on LMDB: the server runs as a child process, takes
 * HTTP events and MQTT QoS 1 readings, and is killed with SIGKILL at random moments,
 * then restarted on the same data directory. Every acknowledged event (HTTP 202/207 for
 * its index, PUBACK) must have its effect afterwards, and no twin may be corrupt: a room's
 * temperature equals its climate sensor's latest temperature, and a unit's
 * `temperatureStats` equals the sum and count of its rooms' temperatures.
 *
 * Events of one channel go to `ROOMS` rooms in turn (event k → room k mod ROOMS) with
 * temperature k, so a sensor's state names the event that made it: it must be the last
 * acknowledged event of that sensor or one sent after it.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/mqtt.js';
import { serveProcess } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';
import { seededRandom as seeded } from '../../models/fleet.js';

const ROOMS = 160;
const ROOMS_PER_UNIT = 8;
const KILLS = 10;

type Channel = 'http' | 'mqtt';
/** HTTP events go to floor 1, MQTT readings to floor 2: the two never share a sensor. */
const FLOOR: Record<Channel, number> = { http: 1, mqtt: 2 };
const roomPath = (ch: Channel, r: number) =>
  `/org/crash/site/s/building/b/floor/${FLOOR[ch]}/unit/u${Math.floor(r / ROOMS_PER_UNIT)}/room/${r}`;
const unitPath = (ch: Channel, u: number) => `/org/crash/site/s/building/b/floor/${FLOOR[ch]}/unit/u${u}`;
const sensorPath = (ch: Channel, r: number) => `${roomPath(ch, r)}/sensors/climate`;

const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await Promise.race([c.endAsync(true).catch(() => undefined), sleep(2000)]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

/** Starts `twinflow serve` (see serveProcess) and waits until it answers reads. */
async function serve(dataDir: string, mqttPort: number, extra: string[] = []): Promise<Server> {
  const server = await serveProcess([
    '--port',
    '0',
    '--data',
    dataDir,
    '--mqtt-port',
    String(mqttPort),
    '--log-level',
    'info',
    ...extra,
  ]);
  const { child, url } = server;
  // The log line comes when the fronts listen; shard workers may still be starting. A read
  // answered means the runtime takes work, so the random kill moments fall in real traffic.
  const end = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${url}/twins${sensorPath('http', 0)}?lanes=latest`, {
      signal: AbortSignal.timeout(15_000),
    }).catch(() => null);
    if (res?.status === 200) break;
    if (Date.now() > end || child.exitCode !== null)
      throw new Error(`twinflow at ${url} never answered a read: ${server.stderr()}`);
    await sleep(20);
  }
  return { child, url, exited: server.exited };
}

/** What one channel sent and which of its events were acknowledged. */
class Ledger {
  sent = 0;
  acked = 0;
  /** Per room: the highest acknowledged event index (-1: none). */
  readonly lastAcked = new Int32Array(ROOMS).fill(-1);
  /** Rooms that got an acknowledged event since the last check. */
  readonly touched = new Set<number>();

  ack(k: number): void {
    const r = k % ROOMS;
    if (k > this.lastAcked[r]!) this.lastAcked[r] = k;
    this.touched.add(r);
    this.acked++;
  }
}

/** Sends batches of HTTP events (2 requests in flight) until the server dies or `stop` is set. */
async function feedHttp(url: string, ledger: Ledger, stop: { done: boolean }, rnd: () => number): Promise<void> {
  const lane = async (): Promise<void> => {
    while (!stop.done) {
      const size = 1 + Math.floor(rnd() * 20);
      const first = ledger.sent;
      ledger.sent += size;
      const events = Array.from({ length: size }, (_, j) => {
        const k = first + j;
        return {
          specversion: '1.0',
          id: `h${k}`,
          source: 'crash-test',
          type: 'reading',
          subject: sensorPath('http', k % ROOMS),
          data: { temperature: k, humidity: 40 },
        };
      });
      let res: Response;
      try {
        res = await fetch(`${url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents-batch+json' },
          body: JSON.stringify(events),
          signal: AbortSignal.timeout(15_000),
        });
      } catch {
        return; // the server is gone: these events are not acknowledged
      }
      const body = (await res.json().catch(() => null)) as { rejected?: { index: number }[] } | null;
      if (res.status === 202 || res.status === 207) {
        const rejected = new Set((body?.rejected ?? []).map((r) => r.index));
        expect(rejected.size, `server rejected events: ${JSON.stringify(body)}`).toBe(0);
        for (let j = 0; j < size; j++) if (!rejected.has(j)) ledger.ack(first + j);
      } else {
        throw new Error(`POST /events answered ${res.status}: ${JSON.stringify(body)}`);
      }
    }
  };
  await Promise.all([lane(), lane()]);
}

/** Publishes QoS 1 readings (plain JSON on the sensor's topic); a PUBACK acknowledges one. */
async function feedMqtt(port: number, ledger: Ledger, stop: { done: boolean }): Promise<void> {
  // Not connectAsync: it never settles when the socket closes before CONNACK (server killed).
  const client = connect(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
    clean: true,
  });
  clients.push(client);
  client.on('error', () => undefined);
  const connected = await new Promise<boolean>((done) => {
    client.once('connect', () => done(true));
    client.once('close', () => done(false));
  });
  if (!connected) {
    client.end(true);
    return;
  }
  let inFlight = 0;
  while (!stop.done && client.connected) {
    if (inFlight >= 50) {
      await sleep(1);
      continue;
    }
    const k = ledger.sent++;
    inFlight++;
    client.publish(
      sensorPath('mqtt', k % ROOMS).slice(1),
      JSON.stringify({ temperature: k, humidity: 40 }),
      { qos: 1 },
      (err) => {
        inFlight--;
        if (!err) ledger.ack(k);
      },
    );
    if (k % 10 === 9) await sleep(2);
  }
  await Promise.race([client.endAsync(true).catch(() => undefined), sleep(2000)]);
}

interface Lanes {
  latest?: { temperature?: number } | null;
  temperature?: number | null;
  temperatureStats?: { sum: number; count: number };
}

async function readLanes(url: string, path: string, lanes: string): Promise<Lanes> {
  const res = await fetch(`${url}/twins${path}?lanes=${lanes}`, { signal: AbortSignal.timeout(15_000) }).catch(
    (err: Error) => {
      throw new Error(`GET /twins${path}: ${err.message}`);
    },
  );
  const body = (await res.json()) as { lanes?: Lanes };
  if (res.status !== 200 || !body.lanes)
    throw new Error(`GET /twins${path} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.lanes;
}

/** Maps `fn` over `items` with at most `width` calls in flight. */
async function pool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/**
 * Checks the rooms of every unit that holds one of `rooms`: acknowledged effects present,
 * sensor/room agreement, unit aggregates. Returns the problems found (empty: all good).
 */
async function check(url: string, ch: Channel, ledger: Ledger, rooms: Iterable<number>): Promise<string[]> {
  const units = [...new Set([...rooms].map((r) => Math.floor(r / ROOMS_PER_UNIT)))];
  const problems: string[] = [];
  await pool(units, 8, async (u) => {
    const members = Array.from({ length: ROOMS_PER_UNIT }, (_, i) => u * ROOMS_PER_UNIT + i).filter((r) => r < ROOMS);
    const sensors = await Promise.all(members.map((r) => readLanes(url, sensorPath(ch, r), 'latest')));
    const roomLanes = await Promise.all(members.map((r) => readLanes(url, roomPath(ch, r), 'temperature')));
    const unit = await readLanes(url, unitPath(ch, u), 'temperatureStats');
    let sum = 0;
    let count = 0;
    members.forEach((r, i) => {
      const t = sensors[i]!.latest?.temperature ?? null;
      const roomT = roomLanes[i]!.temperature ?? null;
      const acked = ledger.lastAcked[r]!;
      if (acked >= 0 && (t === null || t < acked))
        problems.push(`${ch} room ${r}: acknowledged event ${acked} lost (sensor shows ${t})`);
      if (t !== null && (t % ROOMS !== r || t >= ledger.sent))
        problems.push(`${ch} room ${r}: sensor shows ${t}, which was never sent to it`);
      if (t !== roomT) problems.push(`${ch} room ${r}: room temperature ${roomT} but its sensor shows ${t}`);
      if (roomT !== null) {
        sum += roomT;
        count++;
      }
    });
    const stats = unit.temperatureStats ?? { sum: 0, count: 0 };
    if (stats.count !== count || Math.abs(stats.sum - sum) > 1e-6 * Math.max(1, Math.abs(sum))) {
      problems.push(
        `${ch} unit ${u}: temperatureStats ${JSON.stringify(stats)} but its rooms give ${JSON.stringify({ sum, count })}`,
      );
    }
  });
  return problems;
}

/**
 * Kills and restarts the server `KILLS` times while both channels feed it, checking the
 * rooms acknowledged in each life after the next start, then every room at the end.
 */
async function crashLoop(
  extra: string[],
  atEnd?: (url: string) => Promise<void>,
): Promise<{ ledgers: Record<Channel, Ledger>; kills: number }> {
  const dataDir = tempDir('tf-crash-');
  const mqttPort = await freePort();
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1e9);
  const rnd = seeded(seed);
  const ledgers: Record<Channel, Ledger> = { http: new Ledger(), mqtt: new Ledger() };
  let server = await serve(dataDir, mqttPort, extra);
  let kills = 0;
  for (; kills < KILLS; kills++) {
    const stop = { done: false };
    const feeding = Promise.all([
      feedHttp(server.url, ledgers.http, stop, rnd),
      feedMqtt(mqttPort, ledgers.mqtt, stop),
    ]);
    const life = Date.now();
    // A random moment: sometimes right after start, usually mid-stream.
    await sleep(rnd() < 0.2 ? rnd() * 50 : 100 + rnd() * 700);
    server.child.kill('SIGKILL');
    await server.exited;
    stop.done = true;
    await Promise.race([
      feeding,
      sleep(20_000).then(() => {
        throw new Error(`feeders did not stop within 20 s of kill ${kills + 1} (life of ${Date.now() - life} ms)`);
      }),
    ]);
    server = await serve(dataDir, mqttPort, extra);
    for (const ch of ['http', 'mqtt'] as const) {
      const problems = await check(server.url, ch, ledgers[ch], ledgers[ch].touched);
      expect(problems, `after kill ${kills + 1} (CRASH_SEED=${seed})`).toEqual([]);
      ledgers[ch].touched.clear();
    }
  }
  // Finally every room and unit, after one more kill right away.
  server.child.kill('SIGKILL');
  await server.exited;
  server = await serve(dataDir, mqttPort, extra);
  const all = Array.from({ length: ROOMS }, (_, r) => r);
  for (const ch of ['http', 'mqtt'] as const)
    expect(await check(server.url, ch, ledgers[ch], all), `final check (CRASH_SEED=${seed})`).toEqual([]);
  await atEnd?.(server.url);
  server.child.kill('SIGTERM');
  await server.exited;
  return { ledgers, kills: kills + 1 };
}

describe('crash safety (SIGKILL, restart, check)', () => {
  it('keeps every acknowledged HTTP event and QoS 1 reading across 10+ kills, and no twin is corrupt', async () => {
    const { ledgers, kills } = await crashLoop([]);
    expect(kills).toBeGreaterThanOrEqual(10);
    // The run must have exercised both channels, else it proves nothing.
    expect(ledgers.http.acked).toBeGreaterThan(100);
    expect(ledgers.mqtt.acked).toBeGreaterThan(100);
  }, 240_000);

  it('does the same while twins passivate and reactivate (--max-active 20 --idle-timeout 200)', async () => {
    let active = Infinity;
    const { ledgers, kills } = await crashLoop(['--max-active', '20', '--idle-timeout', '200'], async (url) => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      active = Number(/^twinflow_twins_active (\d+)$/m.exec(metrics)?.[1]);
    });
    // The final check alone touched 2 × (160 sensors + 160 rooms + 20 units) twins.
    expect(active).toBeLessThan(150);
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(ledgers.http.acked).toBeGreaterThan(100);
    expect(ledgers.mqtt.acked).toBeGreaterThan(100);
  }, 240_000);
});
