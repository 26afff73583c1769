/**
 * createRuntime refuses numeric options outside what the runtime is built for, at start and
 * with the option's name, instead of a dedupe window that grows without bound per twin or a
 * payload walk deeper than the store can write.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRuntime, defineTwin, TwinError, value, type RuntimeOptions } from '../../src/index.js';
import { MAX_DEDUPE_WINDOW } from '../../src/runtime/runtime-options.js';

const probe = defineTwin({ name: 'probe', route: '/p/:id', lanes: { v: value(0) }, on: {} });

function start(options: Partial<RuntimeOptions>): () => Promise<void> {
  return async () => {
    const rt = createRuntime({ models: [probe], logger: pino({ level: 'silent' }), ...options });
    await rt.close();
  };
}

async function refusal(options: Partial<RuntimeOptions>): Promise<TwinError> {
  const err = await start(options)().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TwinError);
  expect((err as TwinError).code).toBe('TWIN_CONFIG_INVALID');
  return err as TwinError;
}

describe('runtime options', () => {
  it('refuses a dedupe window, payload depth, link bound or held-output count out of range, naming it', async () => {
    expect((await refusal({ dedupeWindow: MAX_DEDUPE_WINDOW + 1 })).message).toMatch(
      /dedupeWindow .* 0 to 1024, got 1025/,
    );
    expect((await refusal({ dedupeWindow: -1 })).message).toMatch(/dedupeWindow/);
    expect((await refusal({ dedupeWindow: 2.5 })).message).toMatch(/dedupeWindow/);
    expect((await refusal({ dedupeWindow: Number.NaN })).message).toMatch(/dedupeWindow .* got NaN/);
    expect((await refusal({ maxPayloadDepth: 0 })).message).toMatch(/maxPayloadDepth/);
    expect((await refusal({ maxPayloadDepth: 2.5 })).message).toMatch(/maxPayloadDepth/);
    expect((await refusal({ maxLinkTwins: 0 })).message).toMatch(/maxLinkTwins/);
    expect((await refusal({ heldOutputs: -1 })).message).toMatch(/heldOutputs/);
  });

  it('takes the bounds themselves, and no bound on links', async () => {
    await expect(start({ dedupeWindow: 0 })()).resolves.toBeUndefined();
    await expect(start({ dedupeWindow: MAX_DEDUPE_WINDOW })()).resolves.toBeUndefined();
    await expect(
      start({ maxPayloadDepth: 200_000, maxLinkTwins: Infinity, heldOutputs: 0 })(),
    ).resolves.toBeUndefined();
  });
});
