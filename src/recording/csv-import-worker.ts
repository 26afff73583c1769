/**
 * The piscina task of the parallel CSV import (`csv-recording.ts`): encodes events
 * [from, to) of a plan slice into finished recording chunks and hands back their bytes,
 * moved (not copied) to the main thread. Events never leave the worker: that is what
 * makes the offload pay (returning events instead costs more in structured clone than
 * it saves, see bench/README.md "offload").
 */
import { move } from 'piscina';
import { encodePlannedChunks, type EncodeTask } from './csv-chunks.js';

export default function encode(task: EncodeTask): Uint8Array {
  return move(encodePlannedChunks(task)) as Uint8Array;
}
