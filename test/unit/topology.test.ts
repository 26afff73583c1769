import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PathFilter,
  RoutePattern,
  TwinError,
  TwinPath,
  defaultShardKey,
  shardIndex,
  shardKeyUpTo,
  subtreeShardKey,
} from '../../src/index.js';
import { utf8Length } from '../../src/topology/path.js';

const ROOM = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';

describe('TwinPath', () => {
  it('normalises a missing leading slash and one trailing slash', () => {
    expect(TwinPath.parse('org/contoso/site/berlin/').text).toBe('/org/contoso/site/berlin');
    expect(TwinPath.parse('/org/contoso').segments).toEqual(['org', 'contoso']);
  });

  it.each([
    ['', 'at least one segment'],
    ['/', 'at least one segment'],
    ['/a//b', 'empty segment'],
    ['/a/./b', "'.' segments"],
    ['/a/../b', "'..' segments"],
    ['/a/b\u0000c', 'control character U+0000'],
    ['/a/b\nc', 'control character U+000a'],
    ['/a/*/b', 'reserved'],
    ['/a/#', 'reserved'],
    ['/' + 'x'.repeat(200), 'segment longer than 128'],
    ['/a'.repeat(40), 'more than 32 segments'],
    ['/' + 'ab/'.repeat(400), 'longer than 900 bytes'],
    // 756 characters, 2,156 bytes: its record key did not fit LMDB's (a pinned snapshot, a growing file).
    ['/org/' + Array.from({ length: 6 }, () => '中'.repeat(125)).join('/'), 'longer than 900 bytes'],
    ['/' + Array.from({ length: 8 }, () => 'x'.repeat(120)).join('/'), 'longer than 900 bytes'],
  ])('rejects %j with a clear reason', (input, reason) => {
    let caught: unknown;
    try {
      TwinPath.parse(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TwinError);
    expect((caught as TwinError).code).toBe('TWIN_PATH_INVALID');
    expect((caught as TwinError).message).toContain(reason);
  });

  it('applies NFC so composed and decomposed names are one twin', () => {
    expect(TwinPath.parse('/site/Mu\u0308nchen').text).toBe(TwinPath.parse('/site/M\u00fcnchen').text);
  });

  it('derives parents, prefixes and ancestry', () => {
    const p = TwinPath.parse(ROOM);
    expect(p.parent()?.text).toBe('/org/contoso/site/berlin/building/41/floor/3/unit/j/room');
    expect(p.prefix(6).text).toBe('/org/contoso/site/berlin/building/41');
    expect(TwinPath.parse('/org').parent()).toBeNull();
    expect(TwinPath.parse('/org/contoso').isAncestorOf(p)).toBe(true);
    expect(TwinPath.parse('/org/contos').isAncestorOf(p)).toBe(false);
    expect(p.isAncestorOf(p)).toBe(false);
    expect(p.child('sensors').text).toBe(ROOM + '/sensors');
  });

  it('normalising is idempotent for any accepted input (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }), (segs) => {
        let text: string;
        try {
          text = TwinPath.parse('/' + segs.join('/')).text;
        } catch (e) {
          expect((e as TwinError).code).toBe('TWIN_PATH_INVALID');
          return;
        }
        expect(TwinPath.parse(text).text).toBe(text);
        expect(TwinPath.of(TwinPath.parse(text).segments).text).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('RoutePattern', () => {
  const room = RoutePattern.parse('/org/:org/site/:site/building/:building/floor/:floor/unit/:unit/room/:room');

  it('binds parameters of a matching path', () => {
    expect(room.match(TwinPath.parse(ROOM))).toEqual({
      org: 'contoso',
      site: 'berlin',
      building: '41',
      floor: '3',
      unit: 'j',
      room: '4',
    });
  });

  it('matches only paths of its own depth and literals', () => {
    expect(room.match(TwinPath.parse(ROOM + '/sensors/climate'))).toBeNull();
    expect(room.match(TwinPath.parse(ROOM.replace('/room/', '/hall/')))).toBeNull();
  });

  it('rejects malformed patterns', () => {
    expect(() => RoutePattern.parse('org/:org')).toThrow(/starts with/);
    expect(() => RoutePattern.parse('/a/:x/b/:x')).toThrow(/appears twice/);
    expect(() => RoutePattern.parse('/a/:1x')).toThrow(/bad parameter/);
    expect(() => RoutePattern.parse('/a//b')).toThrow(/empty segment/);
  });

  it('knows which routes can lie below it', () => {
    const site = RoutePattern.parse('/org/:org/site/:site');
    expect(site.couldBeAncestorOf(room)).toBe(true);
    expect(room.couldBeAncestorOf(site)).toBe(false);
    expect(RoutePattern.parse('/org/:org/depot/:d').couldBeAncestorOf(room)).toBe(false);
  });
});

describe('PathFilter', () => {
  it('matches one segment with * and any depth with **', () => {
    const f = PathFilter.parse('/org/contoso/site/berlin/building/41/floor/3/unit/j/room/*/sensors/climate');
    expect(f.matches(TwinPath.parse(ROOM + '/sensors/climate'))).toBe(true);
    expect(f.matches(TwinPath.parse(ROOM + '/sensors/fire'))).toBe(false);
    expect(f.matches(TwinPath.parse(ROOM + '/x/sensors/climate'))).toBe(false);
    const deep = PathFilter.parse('/org/contoso/**/sensors/fire');
    expect(deep.matches(TwinPath.parse(ROOM + '/sensors/fire'))).toBe(true);
    expect(deep.matches(TwinPath.parse('/org/contoso/sensors/fire'))).toBe(true);
    expect(deep.matches(TwinPath.parse('/org/other/sensors/fire'))).toBe(false);
    expect(PathFilter.parse('/org/**').matches(TwinPath.parse('/org'))).toBe(true);
  });

  it('reports its literal prefix for subtree lookups', () => {
    expect(PathFilter.parse('/org/contoso/site/*/building').literalPrefix?.text).toBe('/org/contoso/site');
    expect(PathFilter.parse('/**/climate').literalPrefix).toBeNull();
    expect(PathFilter.parse('/a/b').isExact).toBe(true);
  });

  it('rejects partial wildcards and bad segments', () => {
    expect(() => PathFilter.parse('/room/4*')).toThrow(/must stand alone/);
    expect(() => PathFilter.parse('/a//b')).toThrow(TwinError);
  });

  it('agrees with a regex oracle on generated paths (property)', () => {
    const seg = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '*', '**'), { minLength: 1, maxLength: 5 }),
        fc.array(seg, { minLength: 1, maxLength: 6 }),
        (pattern, segs) => {
          const re = new RegExp(
            '^' + pattern.map((p) => (p === '**' ? '(/[^/]+)*' : p === '*' ? '/[^/]+' : '/' + p)).join('') + '$',
          );
          const path = '/' + segs.join('/');
          expect(PathFilter.parse('/' + pattern.join('/')).matches(TwinPath.parse(path))).toBe(re.test(path));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('shard keys', () => {
  it('defaults to the path up to the building', () => {
    expect(defaultShardKey(TwinPath.parse(ROOM))).toBe('/org/contoso/site/berlin/building/41');
    expect(defaultShardKey(TwinPath.parse('/org/contoso/site/berlin'))).toBe('/org/contoso/site/berlin');
    expect(defaultShardKey(TwinPath.parse('/org/contoso/site/berlin/building/41'))).toBe(
      '/org/contoso/site/berlin/building/41',
    );
  });

  it('can cut at another segment', () => {
    expect(shardKeyUpTo('floor')(TwinPath.parse(ROOM))).toBe('/org/contoso/site/berlin/building/41/floor/3');
  });

  it('knows when a whole subtree shares one key (a building or below), and says nothing otherwise', () => {
    const building = '/org/contoso/site/berlin/building/41';
    expect(subtreeShardKey(defaultShardKey, TwinPath.parse(building))).toBe(building);
    expect(subtreeShardKey(defaultShardKey, TwinPath.parse(ROOM))).toBe(building);
    expect(subtreeShardKey(defaultShardKey, TwinPath.parse('/org/contoso/site/berlin'))).toBeUndefined();
    expect(subtreeShardKey(defaultShardKey, TwinPath.parse('/org/contoso/site/berlin/building'))).toBeUndefined();
    // A building named like the marker does not fool it: the first marker decides.
    expect(subtreeShardKey(defaultShardKey, TwinPath.parse('/org/o/building/building'))).toBe(
      '/org/o/building/building',
    );
    expect(subtreeShardKey((p) => p.text, TwinPath.parse(ROOM))).toBeUndefined(); // a function it cannot reason about
  });

  it('hashes keys stably and spreads them', () => {
    expect(shardIndex('/org/contoso/site/berlin/building/41', 4)).toBe(
      shardIndex('/org/contoso/site/berlin/building/41', 4),
    );
    const counts = [0, 0, 0, 0];
    for (let b = 0; b < 4000; b++) counts[shardIndex(`/org/o/site/s/building/${b}`, 4)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});

describe('utf8Length', () => {
  it('counts what Buffer encodes, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        expect(utf8Length(s)).toBe(Buffer.byteLength(s));
      }),
      { numRuns: 2000 },
    );
    for (const s of ['\ud800', 'a\udc00b', '\ud83d\ude00', '\ud83d']) expect(utf8Length(s)).toBe(Buffer.byteLength(s));
  });
});
