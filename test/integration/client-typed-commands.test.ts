/**
 * The typed client refuses, at compile time, a command to a lane that neither is a
 * command lane nor a value lane declared `writable` (issue 14). The `@ts-expect-error`
 * lines below are the test: `tsc` (npm run typecheck) fails if one of them compiles, and
 * so does the first test here, which type-checks this file with the compiler API.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WarpClient, type CommandLaneOf, type LaneTypesOf, type TypedTwin } from '../../src/client/index.js';
import { command, defineTwin, map, startNode, value, type TwinflowNode } from '../../src/index.js';
import { typecheck } from '../support/typecheck.js';

type Mode = 'heat' | 'cool';

const panel = defineTwin({
  name: 'panel',
  route: '/panel/:id',
  lanes: {
    setpoint: value<number>(20, { writable: true }),
    reading: value<number | null>(null),
    mode: command<Mode>({
      parse: (v) => {
        if (v !== 'heat' && v !== 'cool') throw new Error('heat or cool');
        return v;
      },
    }),
    activeMode: value<Mode | null>(null),
    history: map<number>(),
  },
  onCommand: { mode: (ctx, mode) => ctx.lanes.activeMode.set(mode) },
});

type Panel = LaneTypesOf<typeof panel>;

/** Never called: what must not compile, each line refused by the compiler. */
export function refusedAtCompileTime(p: TypedTwin<Panel>): void {
  // @ts-expect-error a value lane the model computes
  p.command('reading', 19);
  // @ts-expect-error a value lane the model computes (set by the mode command's hook)
  p.command('activeMode', 'heat');
  // @ts-expect-error a map lane takes no commands
  p.command('history', 1);
  // @ts-expect-error no such lane
  p.command('nope', 1);
  // @ts-expect-error a command lane, but not with this value
  p.command('mode', 'warm');
  // @ts-expect-error a writable value lane, but not with this value
  p.command('setpoint', '22');
  // @ts-expect-error the type names the same lanes
  const lane: CommandLaneOf<Panel> = 'reading';
  void lane;
}

/** Never called: what must compile. */
export function acceptedAtCompileTime(p: TypedTwin<Panel>, untyped: TypedTwin<{ reading: number | null }>): void {
  p.command('setpoint', 22.5);
  p.command('mode', 'cool');
  p.sync('reading'); // links and syncs reach every lane
  p.sync('history');
  untyped.command('reading', 1); // a hand-written map has no model to ask: every lane, as before
}

let node: TwinflowNode | undefined;
const clients: WarpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await node?.close();
  node = undefined;
});

describe('typed client commands', () => {
  it('this file type-checks: every refused command above still fails to compile', () => {
    const [errors] = [...typecheck([{ fileName: 'test/integration/client-typed-commands.test.ts' }]).values()];
    expect(errors).toEqual([]);
  }, 60_000);

  it('the commands that compile work against a real node: a writable value lane and a command lane', async () => {
    node = await startNode({ models: [panel], port: 0, logger: pino({ level: 'silent' }) });
    const client = new WarpClient({ url: node.url.replace(/^http/, 'ws') + '/', encoding: 'json', WebSocket });
    clients.push(client);
    const p = client.twin<Panel>('/panel/p1');
    const setpoint = p.sync('setpoint');
    const active = p.sync('activeMode');
    await Promise.all([setpoint.synced, active.synced]);
    expect([setpoint.value, active.value]).toEqual([20, null]);
    p.command('setpoint', 22.5);
    p.command('mode', 'cool');
    for await (const { event } of setpoint) if (event.type === 'value' && event.value === 22.5) break;
    for await (const { event } of active) if (event.type === 'value' && event.value === 'cool') break;
    expect(await node.runtime.read('/panel/p1', ['setpoint', 'activeMode', 'reading'])).toMatchObject({
      lanes: { setpoint: 22.5, activeMode: 'cool', reading: null },
    });
  });
});
