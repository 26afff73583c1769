/**
 * Outgoing binary-mode webhooks: the `ce-*` header values are percent-encoded as the
 * CloudEvents HTTP binding (1.0.2, 3.1.3.2) has senders do, so a twin path with any Unicode
 * reaches a real receiver as printable ASCII and decodes back to the same path. The SDK's
 * HTTP.binary does not encode: `ä` went out as a raw latin1 byte, `€` made fetch throw.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DerivedEvent } from '../../src/model/twin-model.js';
import { decodeBinary, decodeStructured } from '../../src/node/ingest/cloudevent.js';
import { webhookSink } from '../../src/node/outputs/webhook-sink.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A webhook receiver on port 0 keeping each request's raw header lines, headers and body. */
async function receiver(): Promise<{
  url: string;
  hits: { raw: string[]; headers: IncomingHttpHeaders; body: Buffer }[];
}> {
  const hits: { raw: string[]; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      hits.push({ raw: req.rawHeaders, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, hits };
}

function derived(path: string, type: string): DerivedEvent {
  return {
    specversion: '1.0',
    id: `${path}#${type}@0`,
    source: path,
    type,
    subject: path,
    time: new Date(0).toISOString(),
    datacontenttype: 'application/json',
    data: { at: path },
  };
}

describe('webhook sink', () => {
  it('binary mode percent-encodes the ce-* header values (UTF-8 bytes as %XX, and space, " and %): a receiver decodes the same event', async () => {
    const hook = await receiver();
    const sink = webhookSink({ url: hook.url, mode: 'binary' });
    const paths = ['/org/ä', '/org/€ "100%"/site/🏭', '/org/plain'];
    for (const path of paths) await sink.deliver(derived(path, `alarm ${path.slice(5)}`));
    expect(hook.hits).toHaveLength(paths.length);

    const first = hook.hits[0]!;
    expect(first.headers['ce-subject']).toBe('/org/%C3%A4');
    // `source` must be a URI-reference: the path's UTF-8 escaped, then escaped again as a header.
    expect(first.headers['ce-source']).toBe('/org/%25C3%25A4');
    expect(first.headers['ce-id']).toBe('/org/%C3%A4#alarm%20%C3%A4@0');
    expect(first.headers['ce-specversion']).toBe('1.0');
    expect(first.headers['content-type']).toBe('application/json');
    expect(hook.hits[2]!.headers['ce-subject']).toBe('/org/plain'); // printable ASCII is sent as it is

    for (const [i, hit] of hook.hits.entries()) {
      // Every header value on the wire is printable ASCII.
      for (let k = 1; k < hit.raw.length; k += 2) expect(hit.raw[k]).toMatch(/^[\x20-\x7e]*$/);
      const e = decodeBinaryOf(hit);
      expect(e).toMatchObject({ subject: paths[i], type: `alarm ${paths[i]!.slice(5)}`, data: { at: paths[i] } });
      expect(decodeURIComponent(e.source)).toBe(paths[i]);
    }
    expect(hook.hits.map((h) => decodeBinaryOf(h).source)).toEqual([
      '/org/%C3%A4',
      '/org/%E2%82%AC%20%22100%25%22/site/%F0%9F%8F%AD',
      '/org/plain',
    ]);
  });

  it('sends a twin path that is no URI-reference in structured mode too (the SDK refused such a source)', async () => {
    const hook = await receiver();
    await webhookSink({ url: hook.url }).deliver(derived('/org/ä', 'alarm'));
    const body = JSON.parse(hook.hits[0]!.body.toString('utf8'));
    expect(body).toMatchObject({ subject: '/org/ä', source: '/org/%C3%A4', type: 'alarm', data: { at: '/org/ä' } });
    expect(decodeStructured(body)).toMatchObject({ subject: '/org/ä', source: '/org/%C3%A4' });
  });
});

function decodeBinaryOf(hit: { headers: IncomingHttpHeaders; body: Buffer }) {
  return decodeBinary((name) => hit.headers[`ce-${name}`] as string | undefined, hit.body, hit.headers['content-type']);
}
