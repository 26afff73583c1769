/**
 * What `POST /events` makes of attribute values and data, through a real node on a free port:
 * - binary mode reads `ce-*` headers as the CloudEvents HTTP binding (3.1.3.2) sends them,
 *   percent-encoded UTF-8: `ce-subject: /org/%C3%A4/…` is the twin `/org/ä/…` that a
 *   structured event reaches, not a second one; a raw UTF-8 header (which Node reads as
 *   latin1, `/org/Ã¤/…`) and malformed escapes are 400 TWIN_CLOUDEVENT_INVALID naming the header;
 * - data with a `"__proto__"` key is refused (400 TWIN_EVENT_INVALID): the store's decoder
 *   would read it back as `"__proto_"` after a restart;
 * - an `id`, `source` or `type` past 256 characters is refused with a message naming that bound.
 */
import { describe, expect, it } from 'vitest';
import { warpNode } from '../support/warp.js';

const TAIL = '/site/s/building/1/floor/1/unit/a/room/1/sensors/climate';
const UMLAUT = `/org/ä${TAIL}`;

interface Answer {
  status: number;
  body: { code?: string; message?: string; accepted?: number };
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${url}/events`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

function binary(url: string, subject: string, id: string, temperature: number): Promise<Answer> {
  return post(url, JSON.stringify({ temperature, humidity: 40 }), {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': 'dev/1',
    'ce-type': 'reading',
    // fetch sends each character of a header value as one byte (latin1), as curl sends what it is given.
    'ce-subject': subject,
  });
}

/** The paths of every sensor twin under /org. */
async function sensorPaths(url: string): Promise<string[]> {
  const res = await fetch(`${url}/twins?under=/org&model=sensor&limit=100`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { path: string }[] }).items.map((t) => t.path).sort();
}

describe('POST /events: binary-mode headers are percent-decoded UTF-8', () => {
  it('a percent-encoded ce-subject reaches the twin a structured event names; raw UTF-8 and bad escapes are 400', async () => {
    const node = await warpNode();
    const structured = await post(
      node.url,
      JSON.stringify({ subject: UMLAUT, id: 'p1', source: 'dev/1', data: { temperature: 1, humidity: 40 } }),
      { 'content-type': 'application/json' },
    );
    expect(structured.status).toBe(202);
    expect((await binary(node.url, `/org/%C3%A4${TAIL}`, 'p2', 2)).status).toBe(202);
    // Lower-case hex digits are escapes too.
    expect((await binary(node.url, `/org/%c3%a4${TAIL}`, 'p3', 3)).status).toBe(202);
    expect(await sensorPaths(node.url)).toEqual([UMLAUT]);

    // The UTF-8 bytes of "ä" sent raw: Node decodes header bytes as latin1 ("Ã¤").
    const raw = await binary(node.url, Buffer.from(UMLAUT, 'utf8').toString('latin1'), 'p4', 4);
    expect(raw.status).toBe(400);
    expect(raw.body.code).toBe('TWIN_CLOUDEVENT_INVALID');
    expect(raw.body.message).toMatch(/"ce-subject" header .*outside printable ASCII.*percent-encode/);

    for (const [subject, why] of [
      [`/org/%C3%G4${TAIL}`, /"ce-subject" header has a malformed percent-escape "%G4"/],
      [`/org/%C${TAIL}`, /"ce-subject" header has a malformed percent-escape "%C\/"/],
      [`/org/%C3${TAIL}`, /"ce-subject" header's percent-escapes do not decode to valid UTF-8/],
      [`/org/%FF${TAIL}`, /"ce-subject" header's percent-escapes do not decode to valid UTF-8/],
    ] as const) {
      const bad = await binary(node.url, subject, 'p5', 5);
      expect(bad.status, subject).toBe(400);
      expect(bad.body.code).toBe('TWIN_CLOUDEVENT_INVALID');
      expect(bad.body.message).toMatch(why);
    }
    // Every attribute is decoded, not only the subject: "%2F" in ce-source is "/".
    const source = await post(node.url, JSON.stringify({ temperature: 6, humidity: 40 }), {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'p6',
      'ce-source': 'dev%2F%C3%A4',
      'ce-type': 'reading',
      'ce-subject': `/org/%C3%A4${TAIL}`,
    });
    // "dev/ä" is not a URI-reference (a non-ASCII character), as it is not in structured mode.
    expect(source.status).toBe(400);
    expect(source.body.message).toMatch(/"source" is not a URI-reference: "dev\/ä"/);

    // One twin, holding the last accepted reading.
    expect(await sensorPaths(node.url)).toEqual([UMLAUT]);
    expect(await node.runtime.get(UMLAUT, 'latest')).toMatchObject({ temperature: 3 });
  });
});

describe('POST /events: data and attribute rules', () => {
  it('data with a "__proto__" key, at the top or nested, is 400 TWIN_EVENT_INVALID and stores nothing', async () => {
    const node = await warpNode();
    const path = `/org/proto${TAIL}`;
    for (const [id, data] of [
      ['top', '{"temperature":1,"humidity":2,"__proto__":{"x":1}}'],
      ['nested', '{"temperature":1,"humidity":2,"meta":[{"a":{"__proto__":1}}]}'],
    ]) {
      const a = await post(node.url, `{"subject":"${path}","id":"${id}","source":"dev/1","data":${data}}`, {
        'content-type': 'application/json',
      });
      expect(a.status, id).toBe(400);
      expect(a.body.code).toBe('TWIN_EVENT_INVALID');
      expect(a.body.message).toMatch(/the event data has an object key "__proto__"/);
    }
    expect(await sensorPaths(node.url)).toEqual([]);
    // The same reading without it is fine.
    const ok = await post(
      node.url,
      `{"subject":"${path}","id":"ok","source":"dev/1","data":{"temperature":1,"humidity":2,"proto":{"x":1}}}`,
      { 'content-type': 'application/json' },
    );
    expect(ok.status).toBe(202);
  });

  it('an id, source or type past 256 characters is 400 TWIN_EVENT_INVALID saying so', async () => {
    const node = await warpNode();
    const event = { subject: `/org/long${TAIL}`, id: 'l1', source: 'dev/1', type: 'reading', data: {} };
    for (const name of ['id', 'source', 'type'] as const) {
      const a = await post(node.url, JSON.stringify({ ...event, [name]: 'x'.repeat(257) }), {
        'content-type': 'application/json',
      });
      expect(a.status, name).toBe(400);
      expect(a.body.code).toBe('TWIN_EVENT_INVALID');
      expect(a.body.message).toBe(`invalid event: "${name}" must be at most 256 characters long (it has 257)`);
    }
    const empty = await post(node.url, JSON.stringify({ ...event, source: '' }), {
      'content-type': 'application/json',
    });
    expect(empty.body.message).toBe('invalid event: "source" must be a non-empty string');
  });
});
