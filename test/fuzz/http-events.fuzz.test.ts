/**
 * Fuzzing the HTTP front's `POST /events` on a real node (port 0, real sockets): batch
 * mode (many events per request), binary mode (`ce-*` headers) and raw bodies. Every
 * answer is an answer (< 500, a JSON body with a code or counts), the front rejects what
 * the decoder rejects, and a chunk of requests that were all rejected leaves the state
 * digest of every twin unchanged.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBinary, decodeStructured, type TwinflowNode } from '../../src/index.js';
import { FRONT_RUNS, TIMEOUT, reportFront, samples, type FuzzStats } from './runs.js';
import { hostileJson, hostileJsonText, mutated, mutatedBytes } from './mutate.js';
import { SUBJECT, structuredEvent } from './events.js';
import { digest, frontNode, pool } from './front-node.js';

let node: TwinflowNode;
beforeAll(async () => {
  node = await frontNode();
});
afterAll(async () => {
  await node.close();
});

/** Events per batch request (the node's limit is 10 000). */
const BATCH = 500;
/** Requests per chunk between two digests. */
const CHUNK = 25;

interface Answer {
  status: number;
  body: { code?: string; accepted?: number; rejectedTotal?: number };
}

async function post(body: string | Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${node.url}/events`, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: Answer['body'];
  try {
    parsed = JSON.parse(text) as Answer['body'];
  } catch {
    throw new Error(`POST /events answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  expect(res.status, text).toBeLessThan(500);
  expect(parsed.code !== undefined || parsed.accepted !== undefined, text).toBe(true);
  return { status: res.status, body: parsed };
}

/** A rejection: an error status and nothing accepted. */
const rejected = (a: Answer) => a.status >= 400 && !a.body.accepted;

function accepts(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch {
    return false;
  }
}

describe('HTTP POST /events fuzz', () => {
  it(
    'batch mode: decoder-rejected events are all rejected and change no state',
    async () => {
      const s: FuzzStats = { cases: 0, thrown: 0, maxCaseMs: 0, totalMs: 0 };
      const start = performance.now();
      const n = Math.round(FRONT_RUNS * 0.8);
      const events = samples(fc.oneof({ arbitrary: structuredEvent, weight: 6 }, hostileJson), n, 1);
      const bad = events.filter((e) => !accepts(() => decodeStructured(e)));
      const good = events.filter((e) => accepts(() => decodeStructured(e)));
      const headers = { 'content-type': 'application/cloudevents-batch+json' };
      for (let i = 0; i < bad.length; i += BATCH * 4) {
        const before = await digest(node);
        const batches: unknown[][] = [];
        for (let k = i; k < Math.min(i + BATCH * 4, bad.length); k += BATCH) batches.push(bad.slice(k, k + BATCH));
        await pool(batches, 4, async (batch) => {
          const t0 = performance.now();
          const a = await post(JSON.stringify(batch), headers);
          expect(a.status).toBe(400);
          expect(a.body.accepted ?? 0).toBe(0);
          s.maxCaseMs = Math.max(s.maxCaseMs, (performance.now() - t0) / batch.length);
          s.cases += batch.length;
          s.thrown += batch.length;
        });
        expect(await digest(node)).toBe(before);
      }
      for (let i = 0; i < good.length; i += BATCH) {
        const batch = good.slice(i, i + BATCH);
        await post(JSON.stringify(batch), headers); // accepted or refused by path/model: an answer either way
        s.cases += batch.length;
      }
      s.totalMs = performance.now() - start;
      reportFront('http: POST /events batch', s, `${bad.length} decoder-rejected, state unchanged`);
      expect(s.cases).toBe(n);
    },
    TIMEOUT,
  );

  it(
    'binary mode and raw bodies: every answer < 500, all-rejected chunks change no state',
    async () => {
      const s: FuzzStats = { cases: 0, thrown: 0, maxCaseMs: 0, totalMs: 0 };
      const start = performance.now();
      const header = fc.oneof(
        fc.constantFrom('1.0', 'dev/1', 'reading', SUBJECT, '2026-12-05T10:00:00Z'),
        mutated(fc.constantFrom('1.0', 'dev/1', 'reading', SUBJECT, '2026-12-05T10:00:00Z')).filter((v) =>
          /^[\x20-\x7e]*$/.test(v),
        ),
      );
      const binary = fc.record({
        attrs: fc.record(
          { specversion: header, id: header, source: header, type: header, subject: header, time: header },
          { requiredKeys: [] },
        ),
        body: fc.oneof(
          hostileJsonText.map((t) => new Uint8Array(Buffer.from(t))),
          mutatedBytes(fc.constant(new Uint8Array(Buffer.from('{"temperature":21,"humidity":40}')))),
        ),
        type: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/xml'),
      });
      const raw = fc.record({
        body: fc.oneof(hostileJsonText, mutated(structuredEvent.map((e) => JSON.stringify(e)))),
        type: fc.constantFrom('application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'),
      });
      type Case =
        | { kind: 'binary'; c: { attrs: Record<string, string>; body: Uint8Array; type: string } }
        | {
            kind: 'raw';
            c: { body: string; type: string };
          };
      const n = FRONT_RUNS - Math.round(FRONT_RUNS * 0.8);
      const cases: Case[] = [
        ...samples(binary, Math.ceil(n / 2), 2).map((c): Case => ({ kind: 'binary', c })),
        ...samples(raw, Math.floor(n / 2), 3).map((c): Case => ({ kind: 'raw', c })),
      ];
      let checked = 0;
      for (let i = 0; i < cases.length; i += CHUNK) {
        const before = await digest(node);
        let allRejected = true;
        await pool(cases.slice(i, i + CHUNK), 8, async (k) => {
          const t0 = performance.now();
          let a: Answer;
          if (k.kind === 'binary') {
            const { attrs, body, type } = k.c;
            const headers: Record<string, string> = { 'content-type': type };
            for (const [name, v] of Object.entries(attrs)) headers[`ce-${name}`] = v;
            a = await post(body, headers);
            // Binary mode only when specversion is given; the decoder's verdict is the front's.
            if (attrs.specversion !== undefined && !accepts(() => decodeBinary((x) => attrs[x], body, type)))
              expect(rejected(a), JSON.stringify(a)).toBe(true);
          } else a = await post(k.c.body, { 'content-type': k.c.type });
          if (!rejected(a)) allRejected = false;
          else s.thrown++;
          s.maxCaseMs = Math.max(s.maxCaseMs, performance.now() - t0);
          s.cases++;
        });
        if (allRejected) {
          expect(await digest(node)).toBe(before);
          checked++;
        }
      }
      s.totalMs = performance.now() - start;
      reportFront('http: POST /events binary+raw', s, `rejected; ${checked} all-rejected chunks, state unchanged`);
      expect(s.cases).toBe(n);
      expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    },
    TIMEOUT,
  );
});
