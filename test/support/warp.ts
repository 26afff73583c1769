import { pino } from 'pino';
import { afterEachTest } from './cleanup.js';
import WebSocket, { type ClientOptions } from 'ws';
import { buildingModels } from '../../models/index.js';
import { startNode, type NodeOptions, type TwinflowNode } from '../../src/index.js';

export const UNIT = '/org/contoso/site/berlin/building/41/floor/3/unit/j';
export const ROOM = `${UNIT}/room/4`;

const nodes: TwinflowNode[] = [];
const sockets: WebSocket[] = [];
afterEachTest(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const n of nodes.splice(0)) await n.close();
});

/** A node with the building model on a free port and a silent logger, closed after the test. */
export async function warpNode(options: Partial<NodeOptions> = {}): Promise<TwinflowNode & { ws: string }> {
  const node = await startNode({ models: buildingModels(), port: 0, logger: pino({ level: 'silent' }), ...options });
  nodes.push(node);
  return Object.assign(node, { ws: node.url.replace(/^http/, 'ws') + '/' });
}

/** A raw WebSocket that records every text frame it receives. */
export interface RawClient {
  readonly ws: WebSocket;
  readonly frames: string[];
  /** Envelopes: frames split on newlines (Recon) or JSON arrays flattened (JSON). */
  readonly messages: string[];
  send(text: string): void;
  /** Resolves once `predicate` holds for the messages (polls; rejects after `ms`). */
  until(predicate: (messages: string[]) => boolean, ms?: number): Promise<string[]>;
  closed: Promise<{ code: number; reason: string }>;
}

/** `options`: the `ws` client's, e.g. `{ ca }` for `wss://` with the test CA, `cert`/`key` for a client certificate. */
export async function rawClient(url: string, protocol?: string, options?: ClientOptions): Promise<RawClient> {
  const ws = new WebSocket(url, protocol ? [protocol] : [], options);
  sockets.push(ws);
  const frames: string[] = [];
  const messages: string[] = [];
  ws.on('message', (data) => {
    const text = (data as Buffer).toString(); // a Buffer: ws's default binaryType
    frames.push(text);
    if (protocol === 'warp.json') {
      const json = JSON.parse(text);
      for (const m of Array.isArray(json) ? json : [json]) messages.push(JSON.stringify(m));
    } else if (protocol === 'warp.recon') {
      messages.push(...text.split('\n'));
    } else {
      messages.push(text);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    messages,
    closed,
    send: (text) => ws.send(text),
    async until(predicate, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!predicate(messages)) {
        if (Date.now() > deadline) throw new Error(`timed out; received:\n${messages.join('\n')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return messages;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
