/**
 * The parking-garage example (examples/parking-garage) the way its README tells users to
 * run it: `twinflow serve --models ./examples/parking-garage/index.ts` as a real process,
 * readings over HTTP and MQTT, a WARP client following the aggregates, the derived events
 * on the MQTT output topics; then a generated recording of the set replayed and what-if'd
 * with --models at 0 and 2 workers.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WarpClient } from '../../src/client/index.js';
import { closeClients, freePort, mqttClient, waitFor } from '../support/mqtt.js';
import { commandFor, REPO, serveProcess } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';

const SET = './examples/parking-garage/index.ts';
const GARAGE = '/garage/g1';
const LEVEL1 = `${GARAGE}/level/1`;

interface Counts {
  free: number;
  occupied: number;
  stale: number;
}

const clients: WarpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await closeClients();
});

/** `twinflow <args>` as a child process, to its end (from source when --models names the TypeScript set: see commandFor). */
function twinflow(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, commandFor(args), {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

async function json<T>(args: string[]): Promise<T> {
  const r = await twinflow(args);
  expect(r, r.stderr).toMatchObject({ code: 0 });
  return JSON.parse(r.stdout) as T;
}

describe.each([0, 2])('the parking-garage example served with %i workers', (workers) => {
  it('aggregates spot readings from HTTP and MQTT into levels and the garage, and emits garage.full / garage.available', async () => {
    const serve = await serveProcess([
      '--models',
      SET,
      '--port',
      '0',
      '--mqtt-port',
      String(await freePort()),
      '--memory',
      '--workers',
      String(workers),
    ]);
    const serving = JSON.parse(serve.log().find((l) => l.includes('twinflow is serving'))!) as {
      msg: string;
      mqtt: string;
      models: string;
    };
    expect(serving).toMatchObject({
      msg: expect.stringMatching(
        /^twinflow is serving the parking-garage model; dashboard at http:\/\/127\.0\.0\.1:\d+\/$/,
      ),
      models: 'parking-garage',
    });

    const warp = new WarpClient({ url: serve.url.replace(/^http/, 'ws') + '/', encoding: 'json', WebSocket });
    clients.push(warp);
    const garageSeen: Counts[] = [];
    const garage = warp.sync<Counts>(GARAGE, 'counts', {
      onEvent: (e) => e.type === 'value' && garageSeen.push(e.value),
    });
    const level = warp.sync<Counts>(LEVEL1, 'counts');
    await Promise.all([garage.synced, level.synced]);

    const outputs: { topic: string; event: { type: string; data: unknown } }[] = [];
    const sub = await mqttClient(serving.mqtt);
    sub.on('message', (topic, payload) => outputs.push({ topic, event: JSON.parse(payload.toString()) }));
    await sub.subscribeAsync('garage/+/signals/#', { qos: 1 });

    const post = (spot: string, data: unknown): Promise<Response> =>
      fetch(`${serve.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject: `${GARAGE}/level/${spot}`, data }),
      });
    const publish = (spot: string, occupied: boolean): Promise<unknown> =>
      sub.publishAsync(`garage/g1/level/${spot}`, JSON.stringify({ occupied }), { qos: 1 });

    expect((await post('1/spot/1', { occupied: false })).status).toBe(202);
    expect((await post('1/spot/2', { occupied: true })).status).toBe(202);
    await publish('2/spot/1', true);
    await waitFor(
      () => garage.value?.occupied === 2 && garage.value.free === 1,
      10_000,
      'the garage to count 1 free, 2 taken',
    );
    // The spot model refuses what is not a reading, with the model's reason.
    const bad = await post('1/spot/3', { occupied: 'yes' });
    expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([422, 'TWIN_PAYLOAD_REJECTED']);

    expect((await post('1/spot/1', { occupied: true })).status).toBe(202);
    await waitFor(
      () => outputs.some((o) => o.topic === 'garage/g1/signals/garage.full'),
      10_000,
      'garage.full on MQTT',
    );
    expect(outputs.find((o) => o.topic.endsWith('garage.full'))!.event).toMatchObject({
      type: 'garage.full',
      data: { free: 0, occupied: 3, reserved: 0 },
    });
    await waitFor(() => level.value?.occupied === 2 && level.value.free === 0, 10_000, 'level 1 to count 2 taken');
    // Level 1 went from (at most) half taken to all taken: its one-hour window holds both.
    const { lanes } = (await (await fetch(`${serve.url}/twins${LEVEL1}?lanes=occupancy,lastHour`)).json()) as {
      lanes: { occupancy: number; lastHour: { min: number; max: number } };
    };
    expect([lanes.occupancy, lanes.lastHour.max, lanes.lastHour.min <= 0.5]).toEqual([1, 1, true]);

    await publish('2/spot/1', false);
    await waitFor(
      () => outputs.some((o) => o.topic === 'garage/g1/signals/garage.available'),
      10_000,
      'garage.available on MQTT',
    );
    expect(outputs.map((o) => o.event.type)).toEqual(['garage.full', 'garage.available']);
    await waitFor(() => garage.value?.free === 1, 10_000, 'the garage to count 1 free again');
    // The WARP link saw the aggregate move (it may skip intermediate values: links conflate).
    expect(garageSeen).toContainEqual({ free: 0, occupied: 3, stale: 0 });
    expect(garageSeen.at(-1)).toEqual({ free: 1, occupied: 2, stale: 0 });

    serve.child.kill('SIGINT');
    expect(await serve.exited).toMatchObject({ code: 0 });
  }, 60_000);
});

describe('the parking-garage example on a recording', () => {
  it('generates its fleet, and replays and what-ifs it with --models to the same digests at 0 and 2 workers', async () => {
    const file = join(tempDir(), 'garage.tfr');
    const generated = await twinflow([
      'generate',
      '--models',
      SET,
      '--seed',
      '3',
      '--levels',
      '2',
      '--spots',
      '5',
      '--events',
      '2400',
      '--start',
      '2026-01-05T08:00:00Z',
      '--out',
      file,
    ]);
    expect(generated).toMatchObject({ code: 0, stdout: `wrote 2,400 events of 10 sources to ${file}\n` });

    type Replay = { digest: string; twins: number; derivedByType: Record<string, number> };
    type WhatIf = {
      baseline: Replay;
      whatIf: Replay;
      diff: { same: number; changes: { side: string; event: { type: string }; explanation?: string }[] };
    };
    // One step per minute of event time: 240 steps instead of 2,400 (each one a round trip to the workers).
    const flags = ['--models', SET, '--tick', '60000', '--tail', '1800000', '--json'];
    const [replay0, replay2, whatif0, whatif2] = await Promise.all([
      json<Replay>(['replay', file, ...flags, '--workers', '0']),
      json<Replay>(['replay', file, ...flags, '--workers', '2']),
      json<WhatIf>(['whatif', file, ...flags, '--param', 'reserved=2', '--workers', '0']),
      json<WhatIf>(['whatif', file, ...flags, '--param', 'reserved=2', '--workers', '2']),
    ]);
    expect(replay2.digest).toBe(replay0.digest);
    // Without --models the building set replays it: said on stderr, not only seen in the digest.
    const wrongSet = await twinflow(['replay', file, '--tick', '60000', '--json', '--workers', '0']);
    expect(wrongSet.stderr).toContain(
      `${file} was recorded with the model set "parking-garage", replaying it with "building"`,
    );
    // 1 garage, 2 levels, 10 spots; every spot goes stale in the 30 minutes after the last reading.
    expect(replay0.twins).toBe(13);
    expect(replay0.derivedByType['spot.stale']).toBe(10);
    expect(replay0.derivedByType['garage.full']).toBeGreaterThan(0);

    expect(whatif2.baseline.digest).toBe(whatif0.baseline.digest);
    expect(whatif2.whatIf.digest).toBe(whatif0.whatIf.digest);
    expect(whatif0.baseline.digest).toBe(replay0.digest);
    expect(whatif2.diff).toEqual(whatif0.diff);
    // Reserving 2 spots makes the garage full at 2 free: more episodes, each explained by the set's explainer.
    expect(whatif0.whatIf.derivedByType['garage.full']).not.toBe(whatif0.baseline.derivedByType['garage.full']);
    const explained = whatif0.diff.changes
      .filter((c) => c.side === 'whatIf' && c.event.type === 'garage.full')
      .map((c) => c.explanation);
    expect(explained).toContainEqual(expect.stringMatching(/^[12] free: full with 2 reserved, available with 0$/));
  }, 180_000);
});
