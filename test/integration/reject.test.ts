/**
 * `reject(reason)` (issue 14): narrows like an `if (…) throw`, and answers exactly as
 * `ctx.reject(reason)` does: TWIN_PAYLOAD_REJECTED with the twin's path, the turn rolled back.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { defineTwin, reject, startNode, value, type TwinflowNode } from '../../src/index.js';
import { simulatedRuntime } from '../support/runtime.js';

interface Order {
  qty: number;
}
const isOrder = (data: unknown): data is Order =>
  typeof data === 'object' && data !== null && typeof (data as { qty?: unknown }).qty === 'number';

const shop = defineTwin({
  name: 'shop',
  route: '/shop/:id',
  lanes: { ordered: value(0), touched: value(false) },
  on: {
    // No cast, no `return`: `event.data` is an Order after the check only because reject() returns never
    // through a name declared with an explicit type (a function), which TypeScript requires to narrow.
    order(ctx, event) {
      ctx.lanes.touched.set(true); // rolled back with the turn when the order is rejected
      if (!isOrder(event.data)) reject('an order is { qty: number }');
      if (event.data.qty <= 0) reject(`qty must be positive, got ${event.data.qty}`);
      ctx.lanes.ordered.set(ctx.lanes.ordered.get() + event.data.qty);
    },
    orderViaCtx(ctx, event) {
      ctx.lanes.touched.set(true);
      if (!isOrder(event.data)) return ctx.reject('an order is { qty: number }');
      ctx.lanes.ordered.set(ctx.lanes.ordered.get() + event.data.qty);
    },
  },
});

let node: TwinflowNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe('reject()', () => {
  it('answers like ctx.reject: same code, message and details, and the turn is rolled back', async () => {
    const { rt } = simulatedRuntime({ models: [shop] });
    const report = await rt.ingest([
      { subject: '/shop/1', type: 'order', data: 'two please' },
      { subject: '/shop/1', type: 'orderViaCtx', data: 'two please' },
      { subject: '/shop/1', type: 'order', data: { qty: -1 } },
      { subject: '/shop/1', type: 'order', data: { qty: 2 } },
    ]);
    expect(report.accepted).toBe(1);
    const [free, viaCtx, negative] = report.rejected.map((r) => r.error.toJSON());
    expect(free).toEqual({
      code: 'TWIN_PAYLOAD_REJECTED',
      message: 'an order is { qty: number }',
      details: { path: '/shop/1' },
    });
    expect(viaCtx).toEqual(free);
    expect(negative).toMatchObject({ code: 'TWIN_PAYLOAD_REJECTED', message: 'qty must be positive, got -1' });
    expect(report.rejected.map((r) => r.error.status)).toEqual([422, 422, 422]);
    expect((await rt.read('/shop/1')).lanes).toEqual({ ordered: 2, touched: true });
    const untouched = await rt.ingest({ subject: '/shop/2', type: 'order', data: null });
    expect(untouched.rejected).toHaveLength(1);
    expect(await rt.get('/shop/2', 'touched')).toBe(false);
  });

  it('reaches an HTTP client as 422 with the twin in the details, as ctx.reject does', async () => {
    node = await startNode({ models: [shop], port: 0, logger: pino({ level: 'silent' }) });
    const post = async (type: string) => {
      const res = await fetch(`${node!.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject: '/shop/9', type, data: 'nope' }),
      });
      return { status: res.status, body: await res.json() };
    };
    const free = await post('order');
    expect(free).toEqual({
      status: 422,
      body: { code: 'TWIN_PAYLOAD_REJECTED', message: 'an order is { qty: number }', details: { path: '/shop/9' } },
    });
    expect(await post('orderViaCtx')).toEqual(free);
  });
});
