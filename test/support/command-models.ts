/**
 * Models for tests of commands one twin sends another, importable by shard workers
 * (see {@link commandModelSource}). A `box` per building counts the `bump` commands it
 * got; a `relay` event makes one box command another, and fails after sending when asked.
 */
import { command, defineTwin, value, type TwinModel } from '../../src/index.js';

export function commandModels(): TwinModel<any>[] {
  return [
    defineTwin({
      name: 'box',
      route: '/site/:site/building/:building',
      lanes: { bumps: value(0), bump: command<number>() },
      on: {
        relay(ctx, event) {
          const { to, fail } = event.data as { to: string; fail?: boolean };
          ctx.command(to, 'bump', 1);
          if (fail) ctx.reject('asked to fail after sending');
        },
      },
      onCommand: { bump: (ctx, n) => ctx.lanes.bumps.set(ctx.lanes.bumps.get() + n) },
    }),
  ];
}

/** How workers build {@link commandModels}. */
export function commandModelSource(): { module: string; export: string } {
  return { module: import.meta.url, export: 'commandModels' };
}
