import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  ABSENT,
  EXTANT,
  ReconSyntaxError,
  attr,
  fromJs,
  parseRecon,
  record,
  slot,
  valueEquals,
} from '../../src/protocol/recon/index.js';
import type { Value } from '../../src/protocol/recon/index.js';
import {
  WarpProtocolError,
  envelopeFromValue,
  isLaneAddressed,
  mapClear,
  mapUpdate,
  parseEnvelope,
  parseJsonEnvelope,
  writeEnvelope,
  writeJsonEnvelope,
} from '../../src/protocol/warp/index.js';
import type { Envelope, EnvelopeTag } from '../../src/protocol/warp/index.js';

function sameEnvelope(a: Envelope, b: Envelope): boolean {
  return (
    a.tag === b.tag &&
    a.node === b.node &&
    a.lane === b.lane &&
    a.prio === b.prio &&
    a.rate === b.rate &&
    valueEquals(a.body, b.body)
  );
}

function expectEnvelope(actual: Envelope, expected: Envelope): void {
  if (!sameEnvelope(actual, expected)) expect(actual).toEqual(expected);
}

function protocolError(fn: () => unknown): WarpProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WarpProtocolError);
    return e as WarpProtocolError;
  }
  throw new Error('expected a WarpProtocolError');
}

const body = record(slot('x', 1));

/** One envelope per tag, with its canonical Recon and JSON forms. */
const cases: [Envelope, string, string][] = [
  [
    { tag: 'link', node: '/unit/1', lane: 'info', prio: 0.5, rate: 10, body: ABSENT },
    '@link(node:"/unit/1",lane:info,prio:0.5,rate:10)',
    '{"tag":"link","node":"/unit/1","lane":"info","prio":0.5,"rate":10}',
  ],
  [
    { tag: 'sync', node: '/unit/1', lane: 'info', body: ABSENT },
    '@sync(node:"/unit/1",lane:info)',
    '{"tag":"sync","node":"/unit/1","lane":"info"}',
  ],
  [
    { tag: 'command', node: '/unit/1', lane: 'secure', body: true },
    '@command(node:"/unit/1",lane:secure)true',
    '{"tag":"command","node":"/unit/1","lane":"secure","body":true}',
  ],
  [
    { tag: 'unlink', node: '/a', lane: 'b', body: ABSENT },
    '@unlink(node:"/a",lane:b)',
    '{"tag":"unlink","node":"/a","lane":"b"}',
  ],
  [
    { tag: 'linked', node: '/a', lane: 'b', prio: 1, body: ABSENT },
    '@linked(node:"/a",lane:b,prio:1)',
    '{"tag":"linked","node":"/a","lane":"b","prio":1}',
  ],
  [
    { tag: 'synced', node: '/a', lane: 'b', body: ABSENT },
    '@synced(node:"/a",lane:b)',
    '{"tag":"synced","node":"/a","lane":"b"}',
  ],
  [
    { tag: 'event', node: '/unit/1', lane: 'info', body: 'hello' },
    '@event(node:"/unit/1",lane:info)hello',
    '{"tag":"event","node":"/unit/1","lane":"info","body":"hello"}',
  ],
  [
    { tag: 'event', node: '/a', lane: 'm', body: mapUpdate('k', body) },
    '@event(node:"/a",lane:m)@update(key:k){x:1}',
    '{"tag":"event","node":"/a","lane":"m","body":{"update":{"key":"k","value":{"x":1}}}}',
  ],
  [
    { tag: 'unlinked', node: '/a', lane: 'b', body: record(attr('laneNotFound')) },
    '@unlinked(node:"/a",lane:b)@laneNotFound',
    '{"tag":"unlinked","node":"/a","lane":"b","body":{"@laneNotFound":null}}',
  ],
  [{ tag: 'auth', body: record(slot('token', 'abc')) }, '@auth{token:abc}', '{"tag":"auth","body":{"token":"abc"}}'],
  [{ tag: 'authed', body: ABSENT }, '@authed', '{"tag":"authed"}'],
  [{ tag: 'deauth', body: ABSENT }, '@deauth', '{"tag":"deauth"}'],
  [{ tag: 'deauthed', body: 'bye' }, '@deauthed bye', '{"tag":"deauthed","body":"bye"}'],
];

describe('WARP envelopes', () => {
  it.each(cases)('%o in Recon', (env, recon) => {
    expect(writeEnvelope(env)).toBe(recon);
    expectEnvelope(parseEnvelope(recon), env);
  });

  it.each(cases)('%o in JSON', (env, _recon, json) => {
    expect(writeJsonEnvelope(env)).toBe(json);
    expectEnvelope(parseJsonEnvelope(json), env);
  });

  it('covers every tag', () => {
    const tags = new Set(cases.map(([env]) => env.tag));
    const all: EnvelopeTag[] = [
      'link',
      'sync',
      'command',
      'unlink',
      'auth',
      'deauth',
      'linked',
      'synced',
      'event',
      'unlinked',
      'authed',
      'deauthed',
    ];
    expect([...tags].sort()).toEqual(all.sort());
  });

  it('reads the examples of the protocol', () => {
    expectEnvelope(parseEnvelope('@event(node:"/unit/1",lane:info)"hello"'), {
      tag: 'event',
      node: '/unit/1',
      lane: 'info',
      body: 'hello',
    });
    expectEnvelope(parseEnvelope('@link(node:"/a",lane:"b")'), { tag: 'link', node: '/a', lane: 'b', body: ABSENT });
    expectEnvelope(parseEnvelope('@command(node:"/unit/1",lane:secure)true'), {
      tag: 'command',
      node: '/unit/1',
      lane: 'secure',
      body: true,
    });
  });

  it('accepts positional node and lane, and mixes them with named headers', () => {
    expectEnvelope(parseEnvelope('@link("/a", b)'), { tag: 'link', node: '/a', lane: 'b', body: ABSENT });
    expectEnvelope(parseEnvelope('@sync("/a",b,prio:2)'), {
      tag: 'sync',
      node: '/a',
      lane: 'b',
      prio: 2,
      body: ABSENT,
    });
    expectEnvelope(parseEnvelope('@event("/a",lane:b)1'), { tag: 'event', node: '/a', lane: 'b', body: 1 });
  });

  it('ignores unknown headers and link parameters on other envelopes, as Swim does', () => {
    expectEnvelope(parseEnvelope('@event(node:"/a",lane:b,prio:3,trace:x)1'), {
      tag: 'event',
      node: '/a',
      lane: 'b',
      body: 1,
    });
    expectEnvelope(parseEnvelope('@auth(whatever){token:t}'), { tag: 'auth', body: record(slot('token', 't')) });
  });

  it('keeps bodies intact, including ones Recon would otherwise merge into the envelope', () => {
    const bodies: Value[] = [
      record(),
      record(1),
      record(1, 2),
      record(record(1)),
      record(attr('a'), 1),
      new Uint8Array([1, 2]),
      1.5,
      mapClear(),
    ];
    for (const b of bodies) {
      const env: Envelope = { tag: 'command', node: '/n', lane: 'l', body: b };
      expectEnvelope(parseEnvelope(writeEnvelope(env)), env);
    }
    expect(parseEnvelope(writeEnvelope({ tag: 'command', node: '/n', lane: 'l', body: EXTANT })).body).toBe(ABSENT);
  });

  it('narrows with isLaneAddressed', () => {
    const env = parseEnvelope('@event(node:"/a",lane:b)');
    expect(isLaneAddressed(env)).toBe(true);
    expect(isLaneAddressed(parseEnvelope('@auth'))).toBe(false);
    expect(envelopeFromValue(parseRecon('@authed')).tag).toBe('authed');
  });
});

describe('WARP envelope errors (Recon)', () => {
  it.each([
    ['', /expected a leading @tag/],
    ['42', /expected a leading @tag/],
    ['{x:1}', /expected a leading @tag/],
    ['@foo(node:"/a",lane:b)', /unknown envelope tag @foo/],
    ['@event(lane:b)', /missing the node header/],
    ['@event(node:"/a")', /missing the lane header/],
    ['@event', /missing the node header/],
    ['@sync("/a")', /missing the lane header/],
    ['@event(node:1,lane:b)', /node header must be text, got number 1/],
    ['@event(node:"/a",lane:{x})', /lane header must be text, got record/],
    ['@link(node:"/a",lane:b,prio:high)', /prio header must be a finite number, got text/],
    ['@link(node:"/a",lane:b,rate:NaN)', /rate header must be a finite number/],
    ['@event(node:"/a",node:"/b",lane:c)', /duplicate node header/],
    ['@event("/a",node:"/b",lane:c)', /duplicate node header/],
    ['@event("/a",b,c)', /unexpected positional header at index 2/],
    ['@event(@x,node:"/a",lane:b)', /node header must be text, got record/],
    ['@event(@x "/a")', /may not contain attributes/],
  ])('rejects %j', (text, reason) => {
    expect(protocolError(() => parseEnvelope(text)).message).toMatch(reason);
  });

  it('wraps Recon syntax errors', () => {
    const e = protocolError(() => parseEnvelope('@event(node:"/a",lane:b'));
    expect(e.message).toMatch(/^malformed Recon: .*line 1, column 24/);
    expect(e.cause).toBeInstanceOf(ReconSyntaxError);
  });

  it('validates envelopes before writing', () => {
    const bad = [
      { tag: 'event', lane: 'b', body: ABSENT },
      { tag: 'event', node: 1, lane: 'b', body: ABSENT },
      { tag: 'event', node: '/a', lane: 'b', prio: 1, body: ABSENT },
      { tag: 'sync', node: '/a', lane: 'b', prio: NaN, body: ABSENT },
      { tag: 'auth', node: '/a', body: ABSENT },
      { tag: 'nope', body: ABSENT },
    ] as unknown as Envelope[];
    for (const env of bad) {
      protocolError(() => writeEnvelope(env));
      protocolError(() => writeJsonEnvelope(env));
    }
  });
});

describe('WARP envelope errors (JSON)', () => {
  it.each([
    ['{', /^malformed JSON/],
    ['[]', /must be an object/],
    ['null', /must be an object/],
    ['{"node":"/a","lane":"b"}', /"tag" must be a string/],
    ['{"tag":"nope"}', /unknown envelope tag "nope"/],
    ['{"tag":"event","node":"/a","lane":"b","extra":1}', /unknown field "extra"/],
    ['{"tag":"event","lane":"b"}', /"node" must be a string/],
    ['{"tag":"event","node":"/a","lane":2}', /"lane" must be a string/],
    ['{"tag":"event","node":"/a","lane":"b","prio":1}', /event envelope cannot carry "prio"/],
    ['{"tag":"link","node":"/a","lane":"b","rate":"fast"}', /"rate" must be a number/],
    ['{"tag":"auth","node":"/a"}', /auth envelope cannot carry "node"/],
    ['{"tag":"event","node":"/a","lane":"b","body":{"update":{"value":1}}}', /missing "key"/],
    ['{"tag":"event","node":"/a","lane":"b","body":{"update":5}}', /must be an object/],
    ['{"tag":"event","node":"/a","lane":"b","body":{"update":{"key":1,"val":2}}}', /unknown field "val"/],
    ['{"tag":"event","node":"/a","lane":"b","body":{"remove":{"key":1,"value":2}}}', /unknown field "value"/],
    ['{"tag":"event","node":"/a","lane":"b","body":{"clear":1}}', /"clear" map body must be true/],
    ['{"tag":"event","node":"/a","lane":"b","body":{"take":-1}}', /non-negative integer/],
    [`{"tag":"event","node":"/a","lane":"b","body":${'['.repeat(300)}${']'.repeat(300)}}`, /invalid JSON body/],
  ])('rejects %s', (text, reason) => {
    expect(protocolError(() => parseJsonEnvelope(text)).message).toMatch(reason);
  });

  it('escapes plain bodies that look like map actions', () => {
    const env: Envelope = { tag: 'event', node: '/a', lane: 'b', body: record(slot('update', 5)) };
    const json = writeJsonEnvelope(env);
    expect(json).toBe('{"tag":"event","node":"/a","lane":"b","body":{"$value":{"update":5}}}');
    expectEnvelope(parseJsonEnvelope(json), env);
    const escaped: Envelope = { tag: 'event', node: '/a', lane: 'b', body: record(slot('$value', 1)) };
    expectEnvelope(parseJsonEnvelope(writeJsonEnvelope(escaped)), escaped);
  });

  it('writes what JSON cannot hold as text', () => {
    const env: Envelope = {
      tag: 'event',
      node: '/a',
      lane: 'b',
      body: record(slot('d', new Uint8Array([0, 1, 2, 3])), slot('n', NaN)),
    };
    expect(writeJsonEnvelope(env)).toBe('{"tag":"event","node":"/a","lane":"b","body":{"d":"AAECAw==","n":"NaN"}}');
    expect(writeJsonEnvelope({ tag: 'command', node: '/a', lane: 'b', body: EXTANT })).toBe(
      '{"tag":"command","node":"/a","lane":"b","body":null}',
    );
  });
});

describe('WARP properties', () => {
  const tags: EnvelopeTag[] = [
    'link',
    'sync',
    'command',
    'unlink',
    'auth',
    'deauth',
    'linked',
    'synced',
    'event',
    'unlinked',
    'authed',
    'deauthed',
  ];
  const envelope = fc
    .record({
      tag: fc.constantFrom(...tags),
      node: fc.string({ maxLength: 12 }),
      lane: fc.string({ maxLength: 8 }),
      prio: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
      rate: fc.option(fc.integer(), { nil: undefined }),
      json: fc.option(fc.jsonValue(), { nil: undefined }),
    })
    .map(({ tag, node, lane, prio, rate, json }): Envelope => {
      const b = json === undefined ? ABSENT : fromJs(JSON.parse(JSON.stringify(json)));
      if (tag === 'auth' || tag === 'authed' || tag === 'deauth' || tag === 'deauthed') return { tag, body: b };
      if (tag === 'link' || tag === 'sync' || tag === 'linked')
        return { tag, node, lane, prio: Object.is(prio, -0) ? 0 : prio, rate, body: b };
      return { tag, node, lane, body: b };
    });
  const expected = (env: Envelope): Envelope => (env.body === EXTANT ? { ...env, body: ABSENT } : env);

  it('Recon encoding round-trips', () => {
    fc.assert(
      fc.property(envelope, (env) => sameEnvelope(parseEnvelope(writeEnvelope(env)), expected(env))),
      { numRuns: 1000 },
    );
  });

  it('JSON encoding round-trips', () => {
    fc.assert(
      fc.property(envelope, (env) => sameEnvelope(parseJsonEnvelope(writeJsonEnvelope(env)), env)),
      { numRuns: 1000 },
    );
  });

  it('parsers throw only WarpProtocolError on arbitrary input', () => {
    const only = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (!(e instanceof WarpProtocolError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.jsonValue(), (s, j) => {
        only(() => parseEnvelope('@event(node:"/a",lane:b)' + s));
        only(() => parseEnvelope(s));
        only(() => parseJsonEnvelope(s));
        only(() => parseJsonEnvelope(JSON.stringify({ tag: 'event', node: '/a', lane: 'b', body: j })));
      }),
      { numRuns: 1000 },
    );
  });
});
