/**
 * WARP: Swim's WebSocket protocol. Envelopes are plain objects ({@link Envelope}) that
 * travel as Recon ({@link parseEnvelope}/{@link writeEnvelope}) or, for web apps, as JSON
 * ({@link parseJsonEnvelope}/{@link writeJsonEnvelope}). Map-lane bodies are built and
 * decoded with {@link writeMapBody}/{@link parseMapBody}.
 *
 * @example
 * ```ts
 * import { parseEnvelope, writeJsonEnvelope, parseMapBody } from './lanes/warp/index.js';
 * const env = parseEnvelope('@event(node:"/a",lane:m)@update(key:k){x:1}');
 * parseMapBody(env.body);   // { kind: 'update', key: 'k', value: {x:1} }
 * writeJsonEnvelope(env);   // '{"tag":"event","node":"/a","lane":"m","body":{"update":{"key":"k","value":{"x":1}}}}'
 * ```
 * @module
 */
export type {
  Envelope,
  EnvelopeTag,
  HostEnvelope,
  HostTag,
  LaneEnvelope,
  LaneTag,
  LinkEnvelope,
  LinkTag,
} from './envelope.js';
export {
  checkEnvelope,
  envelopeFromValue,
  envelopeKind,
  envelopeToValue,
  isLaneAddressed,
  parseEnvelope,
  writeEnvelope,
} from './envelope.js';
export type { MapAction } from './map-body.js';
export { MAP_ACTIONS, isMapBody, mapClear, mapRemove, mapUpdate, parseMapBody, writeMapBody } from './map-body.js';
export { bodyFromJson, bodyToJson, parseJsonEnvelope, writeJsonEnvelope } from './json.js';
export { WarpProtocolError } from './errors.js';
export { laneEventFromBody, laneEventFromJson, laneEventToBody, laneEventToJson } from './lane-event.js';
export type { FramePart, WarpEncoding } from './frames.js';
export { WARP_SUBPROTOCOLS, encodingOfSubprotocol, joinFrame, parseFrame, writeFrameEnvelope } from './frames.js';
