import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineModelSet,
  defineTwin,
  isModelSet,
  loadModelSet,
  shardKeyUpTo,
  TwinPath,
  value,
} from '../../src/index.js';
import { modelSetFromFlags, ModelFlagError, parseParams } from '../../src/cli/model-flags.js';
import { modelSet as buildingSet } from '../../models/index.js';
import { counterSet, localSet, zoneKey } from '../support/model-sets.js';
import { tempDir } from '../support/tmp.js';

const SETS = new URL('../support/model-sets.ts', import.meta.url);
const meter = () => defineTwin({ name: 'm', route: '/m/:m', lanes: { n: value(0) } });

describe('defineModelSet', () => {
  it('refuses a set without a name, a parameter default it cannot read, and a fleet dimension named like a generate flag', () => {
    expect(() => defineModelSet({ name: '', models: [] })).toThrow(/needs a name/);
    expect(() => defineModelSet({ name: 's', params: { x: NaN }, models: [] })).toThrow(
      /parameter "x" must default to/,
    );
    const fleet = { shape: { seed: 1 }, sources: () => 0, generate: () => [] };
    expect(() => defineModelSet({ name: 's', models: [], fleet })).toThrow(
      /fleet dimension "seed" clashes with the generate flag --seed/,
    );
  });

  it('says which item of `models` is no model, and names the set whose `models` throws (bug bash round 5)', () => {
    // Before: a TypeError from deep in the catalog ("reading 'depth'") and a bare "boom", naming neither.
    const junk = defineModelSet({ name: 'junk', models: () => [meter(), 42 as never] });
    expect(() => junk.models()).toThrow(
      'model set "junk": `models` item 1 is a number, not a model made by defineTwin',
    );
    const nulls = defineModelSet({ name: 'nulls', models: [null as never] });
    expect(() => nulls.models()).toThrow('model set "nulls": `models` item 0 is null');
    const throws = defineModelSet({
      name: 'throws',
      models: () => {
        throw new Error('boom');
      },
    });
    expect(() => throws.models()).toThrow('model set "throws": `models` threw: boom');
    // A model's own refusal already names the model: it goes through as it is.
    const badModel = defineModelSet({
      name: 'bad-model',
      models: () => [defineTwin({ name: 'w', route: '/w/:w', lanes: { $x: value(0) } })],
    });
    expect(() => badModel.models()).toThrow('model "w": lane names starting with "$" are reserved');
    expect(() => createRuntime({ modelSet: junk })).toThrow('`models` item 1 is a number');
  });

  it('changes parameters with with(): a new set, checked by name and by the type of the default', () => {
    const changed = counterSet.with({ step: 3 });
    expect(changed.params).toEqual({ step: 3, label: 'zone', loud: false });
    expect(changed.overrides).toEqual({ step: 3 });
    expect(counterSet.params.step).toBe(1);
    expect(() => counterSet.with({ steps: 2 } as never)).toThrow(
      'model set "counters": unknown parameter "steps" (parameters: step, label, loud)',
    );
    expect(() => counterSet.with({ step: '2' } as never)).toThrow(
      'model set "counters": parameter "step" must be a number, got "2"',
    );
    expect(isModelSet(changed) && isModelSet(counterSet) && !isModelSet({ kind: 'modelSet' })).toBe(true);
  });

  it('gives a plain-function shard key to every model without its own, and leaves a shardKeyUpTo key to the runtime', () => {
    const own = (p: TwinPath) => p.text;
    const custom = defineModelSet({
      name: 'c',
      models: [meter(), defineTwin({ name: 'n', route: '/n/:n', shardKey: own, lanes: {} })],
      shardKey: zoneKey,
    });
    expect(custom.models().map((m) => m.def.shardKey)).toEqual([zoneKey, own]);
    const upTo = defineModelSet({ name: 'u', models: [meter()], shardKey: shardKeyUpTo('m') });
    expect(upTo.models()[0]!.def.shardKey).toBeUndefined();
  });

  it('tells workers where the set is (module, export, overrides), and refuses when the module is unknown', () => {
    expect(counterSet.with({ label: 'b' }).ref()).toEqual({
      kind: 'modelSet',
      module: SETS.href,
      name: 'counters',
      params: { label: 'b' },
    });
    expect(counterSet.at('file:///x.js', 'counters').ref()).toMatchObject({
      module: 'file:///x.js',
      export: 'counters',
    });
    expect(() => localSet.ref()).toThrow(/give defineModelSet `module: import.meta.url`/);
    // An absolute path becomes its file: URL; anything else is refused when the set is defined
    // (it used to pass, and then every worker thread failed to start on it).
    expect(counterSet.at('/srv/sets/garage.js').ref().module).toBe('file:///srv/sets/garage.js');
    expect(() => counterSet.at('./garage.js')).toThrow(
      /`module` must be import.meta.url, a file: URL or an absolute path/,
    );
  });
});

describe('loadModelSet', () => {
  it('takes the export named by the hash, else modelSet/default/the only set, and calls a factory export', async () => {
    const named = await loadModelSet(new URL('#counterSet', SETS));
    expect(named.name).toBe('counters');
    expect(named.ref()).toMatchObject({ module: SETS.href, export: 'counterSet' });
    expect((await loadModelSet(new URL('#makeCounters', SETS))).ref()).toMatchObject({ export: 'makeCounters' });
    expect((await loadModelSet(new URL('../../examples/parking-garage/index.ts', import.meta.url))).name).toBe(
      'parking-garage',
    );
  });

  it('says what is wrong: no such module, no such export, an export that is not a set, several sets to pick from', async () => {
    await expect(loadModelSet(new URL('./nope.ts', SETS))).rejects.toThrow(/^cannot import .*nope\.ts: /);
    await expect(loadModelSet(new URL('#nope', SETS))).rejects.toThrow(
      /model-sets\.ts has no export "nope" \(exports: .*counterSet/,
    );
    await expect(loadModelSet(new URL('#notASet', SETS))).rejects.toThrow(
      /model-sets\.ts#notASet is an object, not a model set/,
    );
    await expect(loadModelSet(SETS)).rejects.toThrow(
      /has no export "modelSet" or "default" \(it exports several sets: counterSet, localSet\); name one with #<export>/,
    );
    await expect(loadModelSet('not a url')).rejects.toMatchObject({ code: 'TWIN_CONFIG_INVALID' });
  });

  it('refuses a module whose top-level await never settles, instead of waiting on nothing (bug bash round 5)', async () => {
    // `twinflow serve --models` of such a module exited with code 13 and not a word.
    const file = join(tempDir(), 'stuck.mjs');
    writeFileSync(file, 'await new Promise(() => {});\nexport const modelSet = 1;\n');
    await expect(loadModelSet(pathToFileURL(file), { importTimeoutMs: 300 })).rejects.toThrow(
      /^cannot import .*stuck\.mjs: it did not finish loading within 0\.3 s \(a top-level await that never settles\?\)$/,
    );
  });
});

describe('--models and --param', () => {
  it('reads each --param by the type of its default', () => {
    expect(parseParams(counterSet, ['step=2.5', 'label=a=b', 'loud=true'])).toEqual({
      step: 2.5,
      label: 'a=b',
      loud: true,
    });
    expect(parseParams(counterSet, ['loud=0'])).toEqual({ loud: false });
    expect(() => parseParams(counterSet, ['step='])).toThrow('--param step=: step is a number, got ');
    expect(() => parseParams(counterSet, ['loud=yes'])).toThrow('--param loud=yes: loud is true or false, got yes');
    expect(() => parseParams(counterSet, ['nope=1'])).toThrow(/name one of step, label, loud/);
    expect(() => parseParams(localSet, ['x=1'])).toThrow(/model set "local" has no parameters/);
  });

  it('runs the building set by default and resolves a path from the working directory (a directory means its index)', async () => {
    expect((await modelSetFromFlags({}, {})).name).toBe('building');
    expect((await modelSetFromFlags({}, { TWINFLOW_MODELS: 'building' })).params).toEqual(buildingSet.params);
    const dir = tempDir();
    mkdirSync(join(dir, 'set'));
    // A compiled JS set that imports twinflow by URL, as a user's package would import 'twinflow'.
    const api = pathToFileURL(join(import.meta.dirname, '../../src/index.ts')).href;
    writeFileSync(
      join(dir, 'set', 'index.js'),
      `import { defineModelSet } from ${JSON.stringify(api)};\nexport default defineModelSet({ name: 'js', params: { n: 1 }, models: [] });\n`,
    );
    const set = await modelSetFromFlags({ models: './set', param: ['n=4'] }, {}, dir);
    expect(set).toMatchObject({
      name: 'js',
      params: { n: 4 },
      exportName: 'default',
      module: pathToFileURL(join(dir, 'set', 'index.js')).href,
    });
    await expect(modelSetFromFlags({ models: './missing.js' }, {}, dir)).rejects.toThrow(
      new ModelFlagError(`--models ./missing.js: no such file ${join(dir, 'missing.js')}`),
    );
    await expect(modelSetFromFlags({}, { TWINFLOW_MODELS: './set#nope' }, dir)).rejects.toThrow(
      /^TWINFLOW_MODELS=\.\/set#nope: .*has no export "nope"/,
    );
  });
});
