/**
 * Recon: Swim's text data format. Values are plain TS data (see {@link Value});
 * {@link parseRecon} and {@link writeRecon} convert to and from text, and
 * {@link toJs}/{@link fromJs} to and from JSON-like JS. Grammar, JSON mapping and
 * normalisations are described in docs/recon.md.
 *
 * @example
 * ```ts
 * import { parseRecon, writeRecon, get, tag } from './lanes/recon/index.js';
 * const v = parseRecon('@point{x:1,y:2}');
 * tag(v);          // 'point'
 * get(v, 'x');     // 1
 * writeRecon(v);   // '@point{x:1,y:2}'
 * ```
 * @module
 */
export type { Absent, Attr, Extant, Item, Record, Record as ReconRecord, Slot, Value } from './value.js';
export {
  ABSENT,
  EXTANT,
  MAX_DEPTH,
  attr,
  isAttr,
  isRecord,
  isSlot,
  isValue,
  record,
  slot,
  valueEquals,
} from './value.js';
export { body, get, head, tag, withBody } from './access.js';
export { fromJs, toJs } from './js.js';
export { ReconSyntaxError } from './errors.js';
export { parseRecon } from './reader.js';
export { writeRecon } from './writer.js';
