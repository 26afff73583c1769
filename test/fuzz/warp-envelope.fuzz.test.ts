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
import { jsonEnvelope, reconEnvelope } from './warp-gen.js';

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
