/**
 * The HTTP error contract of docs/http-api.md ("Every error is JSON { code, message,
 * details? } with the HTTP status of its code") on the paths fastify answers itself:
 * malformed bodies and URLs, unknown routes, and command bodies that are not JSON.
 */
import { connect, createServer } from 'node:net';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels } from '../../models/index.js';
import { ErrorCodes, startNode, type TwinflowNode } from '../../src/index.js';
import { freePort } from '../support/mqtt.js';

const UNIT = 'org/contoso/site/berlin/building/41/floor/3/unit/j';
let node: TwinflowNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

async function start(): Promise<string> {
  node = await startNode({ models: buildingModels(), port: 0, logger: pino({ level: 'silent' }) });
  return node.url;
}

async function error(res: Response): Promise<{ status: number; code: string }> {
  const body = (await res.json()) as { code: string; message: string };
  expect(typeof body.message).toBe('string');
  // The code is one of the table and its status is the table's.
  expect(ErrorCodes[body.code as keyof typeof ErrorCodes]?.status).toBe(res.status);
  return { status: res.status, code: body.code };
}

describe('HTTP errors fastify raises keep the twinflow contract', () => {
  it('names bad JSON and oversized command bodies like POST /events does', async () => {
    const url = await start();
    const command = (body: string, type = 'application/json') =>
      fetch(`${url}/twins/${UNIT}/commands/secure`, { method: 'POST', headers: { 'content-type': type }, body });
    expect(await error(await command('{bad'))).toEqual({ status: 400, code: 'TWIN_PAYLOAD_INVALID' });
    expect(await error(await command(JSON.stringify('x'.repeat(2 * 1024 * 1024))))).toEqual({
      status: 413,
      code: 'TWIN_PAYLOAD_TOO_LARGE',
    });
    expect(await error(await command('a=b', 'application/x-www-form-urlencoded'))).toEqual({
      status: 415,
      code: 'TWIN_CONTENT_TYPE',
    });
  });

  it('refuses a text/plain command instead of sending it as a string', async () => {
    const url = await start();
    const res = await fetch(`${url}/twins/${UNIT}/commands/secure`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'true',
    });
    expect(await error(res)).toEqual({ status: 415, code: 'TWIN_CONTENT_TYPE' });
    // JSON with a charset, and `+json` types, are JSON.
    const ok = await fetch(`${url}/twins/${UNIT}/commands/secure`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: 'true',
    });
    expect(ok.status).toBe(202);
    expect((await node!.runtime.read(`/${UNIT}`, ['secured'])).lanes.secured).toBe(true);
  });

  it('answers unknown routes and undecodable URLs with a twinflow code', async () => {
    const url = await start();
    expect(await error(await fetch(`${url}/nope`))).toEqual({ status: 404, code: 'TWIN_ROUTE_NOT_FOUND' });
    expect(await error(await fetch(`${url}/twins/${UNIT}`, { method: 'DELETE' }))).toEqual({
      status: 404,
      code: 'TWIN_ROUTE_NOT_FOUND',
    });
    expect(await error(await fetch(`${url}/twins/org/%ZZ`))).toEqual({ status: 400, code: 'TWIN_PATH_INVALID' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers requests Node refuses before routing (headers too large, not HTTP) with a status line that matches the code', async () => {
    const url = await start();
    const { port } = new URL(url);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(request));
        let text = '';
        socket.on('data', (b: Buffer) => (text += b.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    // Past Node's 16 KiB header bound, and small enough to be read whole (no unread bytes: no RST).
    const big = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(big).toContain('"code":"TWIN_PAYLOAD_TOO_LARGE"');
    const garbage = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(garbage).toContain('"code":"TWIN_PAYLOAD_INVALID"');
  });
});

describe('startNode that fails to start', () => {
  it('closes what it had started (the MQTT broker) before it rejects', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const mqttPort = await freePort();
    try {
      await expect(
        startNode({
          models: buildingModels(),
          port: taken,
          mqtt: { port: mqttPort },
          logger: pino({ level: 'silent' }),
        }),
      ).rejects.toThrow(/HTTP port \d+ on 127.0.0.1 is already in use/);
      // The broker it had opened is closed again: a caller that handles the error can exit.
      await expect(
        connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, connectTimeout: 2000 }),
      ).rejects.toThrow();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
