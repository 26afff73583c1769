/**
 * bench offload: the piscina task of the parallel import (`parallel-import.ts`). Encodes
 * events [from, to) of a plan slice with the product's block encoder and moves the bytes
 * back: the events never leave the worker, the most favourable shape an offload of the
 * import can have.
 */
import { move } from 'piscina';
import { encodePlannedChunks, type EncodeTask } from '../../src/recording/csv-chunks.js';

export default function encode(task: EncodeTask): Uint8Array {
  return move(encodePlannedChunks(task)) as Uint8Array;
}
