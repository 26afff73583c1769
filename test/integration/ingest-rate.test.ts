/**
 * Issue 15, "bounds everywhere": the ingest rate per sender over real sockets on a node
 * with the default 2 worker threads. HTTP answers 429 with Retry-After, MQTT 5 PUBACK 0x97
 * (QoS 0 dropped), MQTT 3.1.1 publishers are slowed but lose nothing, WARP commands are
 * refused `@rateLimited`; a principal's own rate applies without the flag and a reload of
 * the access file changes it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModelSource } from '../../models/index.js';
import { hashPassword, newToken } from '../../src/access/secrets.js';
import type { NodeOptions } from '../../src/index.js';
import { CLIMATE, closeClients, mqttClient, topicOf, waitFor } from '../support/mqtt.js';
import { tempDir } from '../support/tmp.js';
import { rawClient, sleep, UNIT, warpNode } from '../support/warp.js';

afterEach(async () => {
  await closeClients();
});

async function node(options: Partial<NodeOptions>) {
  return warpNode({ workers: 2, modelSource: buildingModelSource(), mqtt: { port: 0 }, ...options });
}

const reading = (temperature: number, id: string) =>
  JSON.stringify({ subject: CLIMATE, id, source: 'rate-test', data: { temperature, humidity: 40, co2: 500 } });
const json = { 'content-type': 'application/json' };

async function metric(url: string, name: string, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

async function latestTemperature(url: string, headers: Record<string, string> = {}): Promise<number | undefined> {
  const r = await fetch(`${url}/twins${CLIMATE}`, { headers });
  return ((await r.json()) as { lanes: { latest: { temperature: number } | null } }).lanes.latest?.temperature;
}

describe('ingest rate over HTTP', () => {
  it('429 with Retry-After past the burst; a batch takes N tokens into debt and the next request waits it off', async () => {
    const n = await node({ ingestRate: { eventsPerSecond: 0.5, burst: 3 } });
    const binary = (t: number, id: string) =>
      fetch(`${n.url}/events`, {
        method: 'POST',
        headers: {
          ...json,
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-source': 'rate-test',
          'ce-type': 'reading',
          'ce-subject': CLIMATE,
        },
        body: JSON.stringify({ temperature: t, humidity: 40, co2: 500 }),
      });
    // Six at once, one of them CloudEvents binary mode: the burst of 3 admits 3, whichever
    // come first (one after the other, each waiting for its commit, the bucket would refill).
    const answers = await Promise.all([
      ...[21, 22, 23, 24, 25].map((t, i) =>
        fetch(`${n.url}/events`, { method: 'POST', headers: json, body: reading(t, `e${i}`) }),
      ),
      binary(26, 'b1'),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([202, 202, 202, 429, 429, 429]);
    const refused = answers.find((r) => r.status === 429)!;
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect([1, 2]).toContain(retryAfter); // a whole token at 0.5/s: at most 2 s, whole seconds, at least 1
    const body = (await refused.json()) as { code: string; details: { retryAfterSeconds: number } };
    expect(body.code).toBe('TWIN_RATE_LIMITED');
    expect(body.details.retryAfterSeconds).toBe(retryAfter);

    // A batch of 8 (more than the burst) is taken whole once a token is back, into debt;
    // until then it is refused whole (and costs nothing).
    const batch = JSON.stringify(Array.from({ length: 8 }, (_, i) => JSON.parse(reading(30 + i, `b${i}`))));
    await waitFor(
      async () => (await fetch(`${n.url}/events`, { method: 'POST', headers: json, body: batch })).status === 202,
      10_000,
      'the batch to be admitted',
    );
    const after = await fetch(`${n.url}/events`, { method: 'POST', headers: json, body: reading(97, 'e9') });
    expect(after.status).toBe(429);
    // About 7 tokens of debt plus one whole token at 0.5/s: up to 16 s, well past one token's 2 s
    // (less what the batch's commit took meanwhile).
    expect(Number(after.headers.get('retry-after'))).toBeGreaterThan(4);
    expect(Number(after.headers.get('retry-after'))).toBeLessThanOrEqual(16);
    expect(await latestTemperature(n.url)).toBe(37); // nothing refused reached the twin
    const limited = await metric(n.url, 'twinflow_rate_limited_total{front="http"}');
    expect(limited).toBeGreaterThanOrEqual(4);
    expect(await metric(n.url, 'twinflow_rejected_total{kind="http.TWIN_RATE_LIMITED"}')).toBeGreaterThanOrEqual(4);
    // Refused for its rate, not for its content: no dead letter.
    expect(((await (await fetch(`${n.url}/dead-letters`)).json()) as { items: unknown[] }).items).toHaveLength(0);
  });

  it("a principal's own rate applies with the flag off, other principals are unlimited, and a reload changes it", async () => {
    const device = newToken();
    const ops = newToken();
    const file = join(tempDir(), 'access.json');
    const rules = (rate: { eventsPerSecond: number; burst: number }) => ({
      principals: {
        device: { tokens: [device.stored], grants: [{ paths: ['/**'], rights: ['ingest'] }], rate },
        ops: { tokens: [ops.stored], grants: [{ paths: ['/**'], rights: ['*'] }] },
      },
    });
    writeFileSync(file, JSON.stringify(rules({ eventsPerSecond: 0.01, burst: 2 })));
    const n = await node({ access: file });
    const as = (t: string) => ({ ...json, authorization: `Bearer ${t}` });
    const post = (t: string, i: number) =>
      fetch(`${n.url}/events`, { method: 'POST', headers: as(t), body: reading(i, `p${i}`) });
    expect((await post(device.token, 1)).status).toBe(202);
    expect((await post(device.token, 2)).status).toBe(202);
    const refused = await post(device.token, 3);
    expect(refused.status).toBe(429);
    // A whole token at 0.01/s: up to 100 s (less the time the two accepted requests took).
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(50);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(100);
    for (let i = 10; i < 30; i++) expect((await post(ops.token, i)).status).toBe(202);

    writeFileSync(file, JSON.stringify(rules({ eventsPerSecond: 1000, burst: 1000 })));
    await n.access.reload();
    for (let i = 40; i < 60; i++) expect((await post(device.token, i)).status).toBe(202);
    expect(await latestTemperature(n.url, as(ops.token))).toBe(59);
  });
});

describe('ingest rate over MQTT (embedded broker)', () => {
  const data = (t: number) => JSON.stringify({ temperature: t, humidity: 40, co2: 500 });
  const codeOf = (e: unknown) => (e as { reasonCode?: number }).reasonCode ?? (e as { code?: number }).code ?? 0;

  it('MQTT 5: PUBACK 0x97 past the rate, QoS 0 dropped; nothing refused reaches a twin', async () => {
    const n = await node({ ingestRate: { eventsPerSecond: 0.05, burst: 2 } });
    const c = await mqttClient(n.ingestion.mqtt!.url, { protocolVersion: 5, clientId: 'dev-5' });
    const answers = await Promise.all(
      [21, 22, 91, 92].map((t) =>
        c.publishAsync(topicOf(CLIMATE), data(t), { qos: 1 }).then(
          (p) => codeOf(p ?? {}),
          (e: unknown) => codeOf(e),
        ),
      ),
    );
    expect(answers).toEqual([0, 0, 0x97, 0x97]);
    await c.publishAsync(topicOf(CLIMATE), data(93), { qos: 0 });
    await waitFor(async () => (await metric(n.url, 'twinflow_rate_limited_total{front="mqtt"}')) === 3);
    // Another client id has its own bucket.
    const other = await mqttClient(n.ingestion.mqtt!.url, { protocolVersion: 5, clientId: 'dev-6' });
    expect(codeOf((await other.publishAsync(topicOf(CLIMATE), data(23), { qos: 1 })) ?? {})).toBe(0);
    expect(await latestTemperature(n.url)).toBe(23);
  });

  it("MQTT 5 with access rules: the principal's rate over all its connections, changed by a reload", async () => {
    const file = join(tempDir(), 'access.json');
    const rules = (rate: { eventsPerSecond: number; burst: number }) => ({
      principals: {
        gateway: { password: hashPassword('pw'), grants: [{ paths: ['/**'], rights: ['ingest', 'read'] }], rate },
      },
    });
    writeFileSync(file, JSON.stringify(rules({ eventsPerSecond: 0.05, burst: 2 })));
    const n = await node({ access: file });
    const url = n.ingestion.mqtt!.url;
    const a = await mqttClient(url, { protocolVersion: 5, clientId: 'gw-a', username: 'gateway', password: 'pw' });
    const b = await mqttClient(url, { protocolVersion: 5, clientId: 'gw-b', username: 'gateway', password: 'pw' });
    const pub = (c: typeof a, t: number) =>
      c.publishAsync(topicOf(CLIMATE), data(t), { qos: 1 }).then(
        (p) => codeOf(p ?? {}),
        (e: unknown) => codeOf(e),
      );
    // One bucket for the principal, whichever connection (client id) it uses.
    expect([await pub(a, 21), await pub(b, 22), await pub(b, 91), await pub(a, 92)]).toEqual([0, 0, 0x97, 0x97]);
    writeFileSync(file, JSON.stringify(rules({ eventsPerSecond: 1000, burst: 1000 })));
    await n.access.reload();
    // Open connections take the reloaded rate (MqttAccess re-checks them on reload).
    await waitFor(async () => (await pub(a, 23)) === 0, 5000, 'the reloaded rate');
    expect(await pub(b, 24)).toBe(0);
  });

  it('MQTT 3.1.1: a publisher over its rate is slowed, not refused: every QoS 1 message is acked and committed, in order, at about the rate', async () => {
    const n = await node({ ingestRate: { eventsPerSecond: 20, burst: 5 } });
    const c = await mqttClient(n.ingestion.mqtt!.url, { protocolVersion: 4, clientId: 'dev-4' });
    const committedBefore = n.ingestion.queue.committed;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 35 }, (_, i) => c.publishAsync(topicOf(CLIMATE), data(i), { qos: 1 })));
    const seconds = (performance.now() - t0) / 1000;
    // 30 messages past the burst at 20/s: 1.5 s (less a little: the bucket refills while the burst goes).
    expect(seconds).toBeGreaterThan(1.3);
    expect(seconds).toBeLessThan(30); // generous: the machine may be busy; the floor is what matters
    expect(n.ingestion.queue.committed - committedBefore).toBe(35);
    expect(await latestTemperature(n.url)).toBe(34);
    expect(await metric(n.url, 'twinflow_rate_limited_total{front="mqtt"}')).toBeGreaterThanOrEqual(25);
  });

  it('MQTT 3.1.1: a client slowed for longer than its keep alive is not closed for it', async () => {
    const n = await node({ ingestRate: { eventsPerSecond: 2, burst: 1 } });
    // aedes closes a client 1.5 keep alives (3 s) after the last packet it parsed; this one's
    // PINGREQs wait unread behind its held PUBLISH packets for ~5.5 s. (The client itself
    // stays content: each PUBACK, every 0.5 s, counts as a sign of life to mqtt.js.)
    const c = await mqttClient(n.ingestion.mqtt!.url, { protocolVersion: 4, clientId: 'slow-4', keepalive: 2 });
    let closed = false;
    c.on('close', () => (closed = true));
    await Promise.all(Array.from({ length: 12 }, (_, i) => c.publishAsync(topicOf(CLIMATE), data(i), { qos: 1 })));
    expect(closed).toBe(false);
    expect(await latestTemperature(n.url)).toBe(11);
    expect(n.rejections.count('mqtt.keepalive_timeout')).toBe(0);
  });
});

describe('ingest rate over WARP', () => {
  it('a command past the rate is refused @unlinked …@rateLimited and not applied', async () => {
    const n = await node({ ingestRate: { eventsPerSecond: 0.1, burst: 1 } });
    const c = await rawClient(n.ws);
    c.send(`@command(node:"${UNIT}",lane:secure)true`);
    c.send(`@command(node:"${UNIT}",lane:secure)false`);
    await c.until((m) => m.some((x) => x.startsWith('@unlinked') && x.includes('@rateLimited')));
    expect(c.messages.find((x) => x.includes('@rateLimited'))).toContain('TWIN_RATE_LIMITED');
    await waitFor(async () => {
      const r = await fetch(`${n.url}/twins${UNIT}`);
      return ((await r.json()) as { lanes: { secured: boolean } }).lanes.secured === true;
    });
    await sleep(200);
    const r = await fetch(`${n.url}/twins${UNIT}`);
    expect(((await r.json()) as { lanes: { secured: boolean } }).lanes.secured).toBe(true);
    expect(await metric(n.url, 'twinflow_rate_limited_total{front="warp"}')).toBe(1);
  });
});
