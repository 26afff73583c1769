/** Generators of WARP envelopes (Recon and JSON text) for the fuzz files: valid shapes with edits. */
import fc from 'fast-check';
import { hostileJson, hostileJsonText, mutated, nasty } from './mutate.js';

const TAGS = ['link', 'sync', 'unlink', 'command', 'auth', 'deauth', 'event', 'linked', 'synced', 'unlinked', 'bogus'];
export const NODE = '/org/contoso/site/berlin/building/41/floor/3/unit/j';
const headerText = fc.oneof(fc.constant(NODE), nasty, fc.string({ maxLength: 12 }));
const bodyText = fc.oneof(
  fc.constantFrom('', '1', 'true', '{x:1}', '@update(key:k){v:2}', '@remove(key:k)', '@clear', '"s"', '%AAAA'),
  fc.string({ maxLength: 12 }),
);
export const reconEnvelope = mutated(
  fc
    .tuple(fc.constantFrom(...TAGS), headerText, headerText, fc.option(fc.double(), { nil: undefined }), bodyText)
    .map(
      ([t, n, l, prio, b]) =>
        `@${t}(node:${JSON.stringify(n)},lane:${/^\w+$/.test(l) ? l : JSON.stringify(l)}` +
        `${prio === undefined ? '' : `,prio:${prio}`})${b}`,
    ),
);
export const jsonEnvelope = fc.oneof(
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
