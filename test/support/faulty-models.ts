/**
 * A model whose handlers fail the way a bug does (a TypeError, not a TwinError), importable
 * by shard workers (see {@link faultyModelSource}): tests check that such a message is
 * logged under a correlation id and never sent to a client.
 */
import { command, defineTwin, value, type TwinModel } from '../../src/index.js';

export function faultyModels(): TwinModel<any>[] {
  return [
    defineTwin({
      name: 'gadget',
      route: '/gadget/:id',
      lanes: { n: value(0), poke: command<unknown>() },
      on: {
        crash() {
          (null as unknown as { secretInternals(): void }).secretInternals();
        },
        count(ctx) {
          ctx.lanes.n.set(ctx.lanes.n.get() + 1);
        },
      },
    }),
    // Hooks that throw for every twin: each start and stop fails.
    defineTwin({
      name: 'fragile',
      route: '/fragile/:id',
      lanes: { n: value(0) },
      onStart() {
        (undefined as unknown as { ready: boolean }).ready = true;
      },
      onStop() {
        (undefined as unknown as { closed: boolean }).closed = true;
      },
    }),
  ];
}

/** How workers build {@link faultyModels}. */
export function faultyModelSource(): { module: string; export: string } {
  return { module: import.meta.url, export: 'faultyModels' };
}
