/**
 * The layer rule and "no import cycles" (.dependency-cruiser.mjs), run the way `npm run lint`
 * runs them: the dependency-cruiser CLI with the repository's config. Small source trees in
 * temp dirs prove that it catches an upward import (a type-only one too), a client or model
 * reaching past the public API, and a cycle, naming the rule; the repository itself passes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.mjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** Runs the checker in `cwd` (rule paths are relative to it) on `.`; resolves with its exit code and report. */
function check(cwd: string): Promise<{ code: number; report: string }> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [DEPCRUISE, '--config', CONFIG, '--output-type', 'err', '.'],
      { cwd, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          return fail(new Error('dependency-cruiser did not run', { cause: err }));
        done({ code: typeof err?.code === 'number' ? err.code : 0, report: stdout + stderr });
      },
    );
  });
}

/** Writes a small source tree: file path → contents. */
function tree(files: Record<string, string>): string {
  const dir = tempDir('twinflow-layers-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Imports that respect the layers: the fixtures below add one wrong import each to this. */
const LAYERED = {
  'src/errors.ts': 'export class TwinError extends Error {}\n',
  'src/topology/path.ts':
    "import { TwinError } from '../errors.js';\nexport const parse = (p: string): string => { if (!p) throw new TwinError(); return p; };\n",
  'src/protocol/lane-events.ts':
    "import { parse } from '../topology/path.js';\nexport type LaneEvent = { path: ReturnType<typeof parse> };\n",
  'src/store/plain-data.ts': 'export const plain = (v: unknown): boolean => v !== undefined;\n',
  'src/lanes/lane.ts':
    "import type { LaneEvent } from '../protocol/lane-events.js';\nimport { plain } from '../store/plain-data.js';\nexport const emit = (e: LaneEvent): boolean => plain(e);\n",
  'src/actors/twin.ts': "import { emit } from '../lanes/lane.js';\nexport class Twin { run = emit; }\n",
  'src/runtime/runtime.ts':
    "import { Twin } from '../actors/twin.js';\nexport const createRuntime = (): Twin => new Twin();\n",
  'src/client/client.ts':
    "import type { LaneEvent } from '../protocol/lane-events.js';\nexport const on = (e: LaneEvent): LaneEvent => e;\n",
  'src/index.ts': "export { createRuntime } from './runtime/runtime.js';\nexport { TwinError } from './errors.js';\n",
  'models/room.ts': "import { createRuntime } from '../src/index.js';\nexport const rt = createRuntime;\n",
};

describe('the layer rule (dependency-cruiser)', () => {
  it('passes a tree whose imports go down the layers only', async () => {
    const { code, report } = await check(tree(LAYERED));
    expect(report).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('fails an upward import, a type-only one too, naming the rule of the importing layer', async () => {
    const { code, report } = await check(
      tree({
        ...LAYERED,
        'src/lanes/lane.ts': `${LAYERED['src/lanes/lane.ts']}import type { Twin } from '../actors/twin.js';\nexport type Owner = Twin;\n`,
        'src/store/plain-data.ts': `import { emit } from '../lanes/lane.js';\nexport const plain = (v: unknown): boolean => v !== undefined && emit !== undefined;\n`,
      }),
    );
    expect(code).not.toBe(0);
    expect(report).toContain('error layer-lanes: src/lanes/lane.ts → src/actors/twin.ts');
    expect(report).toContain('error layer-store: src/store/plain-data.ts → src/lanes/lane.ts');
  });

  it('fails the client importing the runtime, and a model importing past the public API', async () => {
    const { code, report } = await check(
      tree({
        ...LAYERED,
        'src/client/client.ts': `${LAYERED['src/client/client.ts']}export { createRuntime } from '../runtime/runtime.js';\n`,
        'models/room.ts': "import { Twin } from '../src/actors/twin.js';\nexport const twin = new Twin();\n",
      }),
    );
    expect(code).not.toBe(0);
    expect(report).toContain('error layer-client: src/client/client.ts → src/runtime/runtime.ts');
    expect(report).toContain('error layer-models: models/room.ts → src/actors/twin.ts');
  });

  it('fails an import cycle inside one layer, naming no-circular', async () => {
    const { code, report } = await check(
      tree({
        ...LAYERED,
        'src/actors/shard.ts': "import type { Host } from './host.js';\nexport interface Shard { host: Host }\n",
        'src/actors/host.ts': "import type { Shard } from './shard.js';\nexport interface Host { shards: Shard[] }\n",
      }),
    );
    expect(code).not.toBe(0);
    expect(report).toMatch(/error no-circular: src\/actors\/(shard|host)\.ts → /);
  });

  it('passes on this repository', async () => {
    const { code, report } = await check(ROOT);
    expect(report).toContain('no dependency violations found');
    expect(code).toBe(0);
  });
});
