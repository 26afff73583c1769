/** Fuzzing WARP envelopes (Recon and JSON) and frames: envelopes or WarpProtocolError, fast. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WarpProtocolError,
  parseEnvelope,
  parseFrame,
  parseJsonEnvelope,
  parseMapBody,
} from '../../src/protocol/warp/index.js';
import { NOTHING, TIMEOUT, errorClass, fuzz } from './runs.js';
import { hostileJson, hostileJsonText, mutated, nasty } from './mutate.js';

const TAGS = ['link', 'sync', 'unlink', 'command', 'auth', 'deauth', 'event', 'linked', 'synced', 'unlinked', 'bogus'];
const NODE = '/org/contoso/site/berlin/building/41/floor/3/unit/j';
const headerText = fc.oneof(fc.constant(NODE), nasty, fc.string({ maxLength: 12 }));
const bodyText = fc.oneof(
  fc.constantFrom('', '1', 'true', '{x:1}', '@update(key:k){v:2}', '@remove(key:k)', '@clear', '"s"', '%AAAA'),
  fc.string({ maxLength: 12 }),
);
const reconEnvelope = mutated(
  fc
    .tuple(fc.constantFrom(...TAGS), headerText, headerText, fc.option(fc.double(), { nil: undefined }), bodyText)
    .map(
      ([t, n, l, prio, b]) =>
        `@${t}(node:${JSON.stringify(n)},lane:${/^\w+$/.test(l) ? l : JSON.stringify(l)}` +
        `${prio === undefined ? '' : `,prio:${prio}`})${b}`,
    ),
);
const jsonEnvelope = fc.oneof(
  mutated(
    fc
      .record(
        {
          tag: fc.oneof({ arbitrary: fc.constantFrom(...TAGS), weight: 8 }, hostileJson),
          node: fc.oneof({ arbitrary: headerText, weight: 8 }, hostileJson),
          lane: fc.oneof({ arbitrary: headerText, weight: 8 }, hostileJson),
          body: hostileJson,
          prio: fc.oneof(fc.double(), fc.string()),
          rate: fc.oneof(fc.integer(), hostileJson),
        },
        { requiredKeys: ['tag', 'node', 'lane'] },
      )
      .map((o) => JSON.stringify(o)),
  ),
  hostileJsonText,
);

describe('WARP envelope fuzz', () => {
  it(
    'parseEnvelope (Recon) returns an envelope or throws WarpProtocolError',
    () => {
      fuzz('warp: recon envelope', reconEnvelope, (s) => parseEnvelope(s), errorClass(WarpProtocolError));
    },
    TIMEOUT,
  );

  it(
    'parseJsonEnvelope returns an envelope or throws WarpProtocolError',
    () => {
      fuzz('warp: json envelope', jsonEnvelope, (s) => parseJsonEnvelope(s), errorClass(WarpProtocolError));
    },
    TIMEOUT,
  );

  it(
    'parseFrame never throws: every part is an envelope or a WarpProtocolError',
    () => {
      const frame = fc.oneof(
        fc
          .tuple(fc.constantFrom<'swim' | 'recon'>('swim', 'recon'), fc.array(reconEnvelope, { maxLength: 4 }))
          .map(([enc, xs]) => [enc, xs.join('\n')] as const),
        fc.array(jsonEnvelope, { maxLength: 4 }).map((xs) => ['json', `[${xs.join(',')}]`] as const),
        jsonEnvelope.map((s) => ['json', s] as const),
      );
      fuzz(
        'warp: frame',
        frame,
        ([enc, text]) => {
          for (const part of parseFrame(text, enc)) {
            if (!part.ok) expect(part.error).toBeInstanceOf(WarpProtocolError);
            else if (part.envelope.tag === 'command' || part.envelope.tag === 'event') {
              // Map-lane bodies are decoded from the same untrusted envelope.
              try {
                parseMapBody(part.envelope.body);
              } catch (e) {
                if (!(e instanceof WarpProtocolError)) throw e;
              }
            }
          }
        },
        NOTHING,
      );
    },
    TIMEOUT,
  );
});
