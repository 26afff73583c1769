/** Fuzzing the Recon reader: it returns a value or throws ReconSyntaxError, fast. */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  ABSENT,
  EXTANT,
  ReconSyntaxError,
  attr,
  parseRecon,
  record,
  slot,
  writeRecon,
  type Item,
  type Value,
} from '../../src/protocol/recon/index.js';
import { TIMEOUT, errorClass, fuzz } from './runs.js';
import { mutated, nasty } from './mutate.js';

const text = fc.oneof(nasty, fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 6 }));
const scalar: fc.Arbitrary<Value> = fc.oneof(
  text,
  fc.double(),
  fc.integer(),
  fc.constantFrom(1e308, -1e-308, 2 ** 64, -0),
  fc.boolean(),
  fc.uint8Array({ maxLength: 7 }),
  fc.constant(ABSENT),
  fc.constant(EXTANT),
);
const { value: arbValue } = fc.letrec<{ value: Value; record: Value; item: Item }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('record')),
  record: fc.array(tie('item'), { maxLength: 5 }).map((items) => record(...items)),
  item: fc.oneof(
    tie('value'),
    fc.tuple(text, tie('value')).map(([k, v]) => attr(k, v)),
    fc.tuple(tie('value'), tie('value')).map(([k, v]) => slot(k, v)),
  ),
}));

const alphabet = fc.constantFrom(...'{}()@:,;"\'\\#%=0123456789abcxyzEe-+._ \n\r\t/uU$[]`!~'.split(''));
/** Written Recon with edits, Recon-alphabet soup, deep nesting of each bracket kind, long scalars. */
const reconish = fc.oneof(
  mutated(arbValue.map((v) => writeRecon(v))),
  fc.array(alphabet, { maxLength: 80 }).map((cs) => cs.join('')),
  fc
    .tuple(fc.integer({ min: 200, max: 3000 }), fc.constantFrom('{', '[', '(', '@a(', '@a{', 'a:', '@a'))
    .map(([n, open]) => open.repeat(n)),
  fc.integer({ min: 1, max: 20 }).map((n) => '"' + '\\u'.repeat(n) + 'D800'),
  fc.integer({ min: 1, max: 5000 }).map((n) => '9'.repeat(n) + '.' + '9'.repeat(n) + 'e99999'),
  fc.integer({ min: 1, max: 4000 }).map((n) => '%' + 'A'.repeat(n) + '='),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

describe('Recon reader fuzz', () => {
  it(
    'returns a value or throws ReconSyntaxError, within the case bound',
    () => {
      fuzz('recon-reader', reconish, (s) => parseRecon(s), errorClass(ReconSyntaxError));
    },
    TIMEOUT,
  );
});
