import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  ABSENT,
  EXTANT,
  ReconSyntaxError,
  attr,
  parseRecon,
  record,
  slot,
  valueEquals,
  writeRecon,
} from '../../src/protocol/recon/index.js';
import type { Value } from '../../src/protocol/recon/index.js';

/** Asserts structural equality with a readable diff on failure. */
function expectValue(text: string, expected: Value): void {
  const actual = parseRecon(text);
  if (!valueEquals(actual, expected)) {
    expect(writeRecon(actual)).toBe(writeRecon(expected));
    expect(actual).toEqual(expected);
  }
}

function syntaxError(text: string): ReconSyntaxError {
  try {
    parseRecon(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ReconSyntaxError);
    return e as ReconSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseRecon: scalars', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['-7', -7],
    ['3.25', 3.25],
    ['-0.5', -0.5],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['2.5e+2', 250],
    ['0x1F', 31],
    ['0xff', 255],
    ['0xFFFFFFFF', 4294967295],
  ])('number %s', (text, n) => {
    expect(parseRecon(text)).toBe(n);
  });

  it('keeps the sign of negative zero', () => {
    expect(Object.is(parseRecon('-0.0'), -0)).toBe(true);
  });

  it.each(['-', '1.', '1e', '1e+', '01', '0x', '-0x1', '0x' + '1'.repeat(17), '.5', '+1'])(
    'rejects malformed number %j',
    (text) => {
      syntaxError(text);
    },
  );

  it('reads identifiers as text and true/false as booleans', () => {
    expect(parseRecon('info')).toBe('info');
    expect(parseRecon('foo_bar9')).toBe('foo_bar9');
    expect(parseRecon('a-1')).toBe('a-1');
    expect(parseRecon('_x')).toBe('_x');
    expect(parseRecon('héllo')).toBe('héllo');
    expect(parseRecon('\u{1D4B3}x')).toBe('\u{1D4B3}x');
    expect(parseRecon('true')).toBe(true);
    expect(parseRecon('false')).toBe(false);
    expect(parseRecon('True')).toBe('True');
    expect(parseRecon('"true"')).toBe('true');
  });

  it('reads double- and single-quoted strings with escapes', () => {
    expect(parseRecon('"hello"')).toBe('hello');
    expect(parseRecon("'it\"s'")).toBe('it"s');
    expect(parseRecon('"a\\"b\\\\c\\/d"')).toBe('a"b\\c/d');
    expect(parseRecon('"\\b\\f\\n\\r\\t"')).toBe('\b\f\n\r\t');
    expect(parseRecon("'\\''")).toBe("'");
    expect(parseRecon('"\\u00e9\\u00E9"')).toBe('éé');
    expect(parseRecon('"\\@\\$\\{\\}\\[\\]"')).toBe('@${}[]');
    expect(parseRecon('""')).toBe('');
  });

  it('combines escaped surrogate pairs and keeps raw astral characters', () => {
    expect(parseRecon('"\\ud83d\\ude00"')).toBe('😀');
    expect(parseRecon('"😀"')).toBe('😀');
    expect(parseRecon('"\\ud800"')).toBe('\ud800');
  });

  it.each(['"abc', '\'abc"', '"\\q"', '"\\u12"', '"\\u12G4"', '"a\nb"', '"\\', '"\t"'])(
    'rejects bad string %j',
    (text) => {
      syntaxError(text);
    },
  );

  it('reads %base64 data with or without padding', () => {
    expectValue('%AAECAw==', new Uint8Array([0, 1, 2, 3]));
    expectValue('%AAECAw', new Uint8Array([0, 1, 2, 3]));
    expectValue('%AAEC', new Uint8Array([0, 1, 2]));
    expectValue('%AAE=', new Uint8Array([0, 1]));
    expectValue('%+/8=', new Uint8Array([0xfb, 0xff]));
    expectValue('%', new Uint8Array([]));
  });

  it.each(['%A', '%AA=', '%AAA==', '%AA===', '%AA==AA', '%AAAAA'])('rejects bad data %j', (text) => {
    syntaxError(text);
  });

  it('reads empty, blank and comment-only documents as absent', () => {
    expect(parseRecon('')).toBe(ABSENT);
    expect(parseRecon('  \n\t\r\n')).toBe(ABSENT);
    expect(parseRecon('# nothing here\n# nor here')).toBe(ABSENT);
    expect(parseRecon('\ufeff')).toBe(ABSENT);
  });
});

describe('parseRecon: attributes', () => {
  it('reads a bare attribute as a record with an extant attribute', () => {
    expectValue('@a', record(attr('a')));
    expectValue('@a()', record(attr('a', EXTANT)));
    expectValue('@a( )', record(attr('a')));
  });

  it('unwraps single-value arguments and keeps blocks as records', () => {
    expectValue('@a(1)', record(attr('a', 1)));
    expectValue('@a(x:1)', record(attr('a', record(slot('x', 1)))));
    expectValue('@a(1,2)', record(attr('a', record(1, 2))));
    expectValue('@a({1})', record(attr('a', record(1))));
    expectValue('@update(key:"k")', record(attr('update', record(slot('key', 'k')))));
  });

  it('reads quoted attribute names and keeps true/false as names', () => {
    expectValue('@"my attr"', record(attr('my attr')));
    expectValue('@true', record(attr('true')));
  });

  it('nests attributes inside arguments', () => {
    expectValue('@a(@b(@c))', record(attr('a', record(attr('b', record(attr('c')))))));
  });

  it('joins an attribute and its following value into one record', () => {
    expectValue('@update(key:k) 42', record(attr('update', record(slot('key', 'k'))), 42));
    expectValue('@a"x"', record(attr('a'), 'x'));
    expectValue('@a@b', record(attr('a'), attr('b')));
    expectValue('@a 1@b 2', record(attr('a'), 1, attr('b'), 2));
    expectValue('1@a', record(1, attr('a')));
    expectValue('{x:1}@a', record(slot('x', 1), attr('a')));
  });

  it('splices a braced body into the attributed record', () => {
    expectValue(
      '@event(node:"/a",lane:b){x:1}',
      record(attr('event', record(slot('node', '/a'), slot('lane', 'b'))), slot('x', 1)),
    );
    expectValue('@a{}', record(attr('a')));
    expectValue('@a{{x:1}}', record(attr('a'), record(slot('x', 1))));
    expectValue('@a{1,2}', record(attr('a'), 1, 2));
  });

  it.each(['@', '@1', '@(x)', '@a(', '@a(1', '@a(1,', '@a(,)', '@a (1)', '@a(1))'])('rejects %j', (text) => {
    syntaxError(text);
  });
});

describe('parseRecon: records and blocks', () => {
  it('reads empty and flat records', () => {
    expectValue('{}', record());
    expectValue('{ }', record());
    expectValue('{1,2;3\n4\r\n5}', record(1, 2, 3, 4, 5));
    expectValue('{1,}', record(1));
    expectValue('{\n  a: 1\n  b: 2\n}', record(slot('a', 1), slot('b', 2)));
  });

  it('reads slots with any key and empty values as extant', () => {
    expectValue('{a:}', record(slot('a', EXTANT)));
    expectValue('{a: ,b:1}', record(slot('a'), slot('b', 1)));
    expectValue(
      '{"a b":1,2:3,true:4,{k}:5,%AA==:6}',
      record(slot('a b', 1), slot(2, 3), slot(true, 4), slot(record('k'), 5), slot(new Uint8Array([0]), 6)),
    );
    expectValue('{:1}', record(slot(EXTANT, 1)));
    expectValue('{@a:1}', record(slot(record(attr('a')), 1)));
  });

  it('reads empty items before an explicit separator as extant, as Swim does', () => {
    expectValue('{,}', record(EXTANT));
    expectValue('{1,,2}', record(1, EXTANT, 2));
    expectValue('{1,,}', record(1, EXTANT));
  });

  it('skips comments', () => {
    expectValue('{a:1 # one\n b:2} # trailing', record(slot('a', 1), slot('b', 2)));
    expectValue('# head\n@a(x:1 # arg\n)', record(attr('a', record(slot('x', 1)))));
  });

  it('treats a top-level block like record contents, unwrapping a lone value', () => {
    expectValue('a:1,b:2', record(slot('a', 1), slot('b', 2)));
    expectValue('1,2', record(1, 2));
    expectValue('1\n', 1);
    expectValue('{x:1}', record(slot('x', 1)));
    expectValue('x:', record(slot('x')));
  });

  it('nests records', () => {
    expectValue('{{},{{}}}', record(record(), record(record())));
    expectValue('{a:{b:{c:1}}}', record(slot('a', record(slot('b', record(slot('c', 1)))))));
  });

  it.each(['{', '}', '{1', '{1 2}', '{a:1:2}', '1 2', '{1;;', ')', '[x]', '`raw`', '$x', '(1)', '!x', '~x', '1-2'])(
    'rejects %j',
    (text) => {
      syntaxError(text);
    },
  );
});

describe('parseRecon: errors', () => {
  it('reports offset, line and column', () => {
    const e = syntaxError('{a:1,\n  b:?}');
    expect(e.offset).toBe(10);
    expect(e.line).toBe(2);
    expect(e.column).toBe(5);
    expect(e.message).toBe("unexpected '?', expected ',', ';', newline or '}' at line 2, column 5");
    expect(e.name).toBe('ReconSyntaxError');
    expect(e).toBeInstanceOf(Error);
  });

  it('counts CRLF as one line break', () => {
    expect(syntaxError('{\r\n\r\n?}').line).toBe(3);
  });

  it('names unsupported sub-languages', () => {
    expect(syntaxError('[markup]').reason).toMatch(/markup/);
  });

  it('accepts 256 levels of nesting and rejects 257', () => {
    expect(parseRecon('{'.repeat(256) + '}'.repeat(256))).toBeTruthy();
    expect(syntaxError('{'.repeat(257) + '}'.repeat(257)).reason).toMatch(/nesting/);
    expect(syntaxError('@a('.repeat(257) + ')'.repeat(257)).reason).toMatch(/nesting/);
    expect(syntaxError('{'.repeat(100_000)).reason).toMatch(/nesting/);
  });
});

describe('parseRecon: robustness', () => {
  const alphabet = fc.constantFrom(...'{}()@:,;"\'\\#%=0123456789abcxyzEe-+._ \n\r\t/uU$[]`!~'.split(''));
  const reconish = fc.array(alphabet, { maxLength: 60 }).map((cs) => cs.join(''));

  function onlySyntaxErrors(text: string): void {
    try {
      parseRecon(text);
    } catch (e) {
      if (!(e instanceof ReconSyntaxError)) throw e;
    }
  }

  it('throws nothing but ReconSyntaxError on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), onlySyntaxErrors), { numRuns: 2000 });
  });

  it('throws nothing but ReconSyntaxError on Recon-like text', () => {
    fc.assert(fc.property(reconish, onlySyntaxErrors), { numRuns: 5000 });
  });

  it('parses a large document quickly', () => {
    const row = '@event(node:"/unit/1",lane:info){temp:21.5,label:"sensor \\"A\\"",tags:{a,b,c},raw:%AAECAw==}';
    const text = `{${Array.from({ length: 20_000 }, () => row).join(',')}}`;
    const t0 = performance.now();
    const v = parseRecon(text);
    const ms = performance.now() - t0;
    expect(typeof v === 'object' && 'items' in v && v.items.length).toBe(20_000);
    expect(ms).toBeLessThan(2000);
  });
});
