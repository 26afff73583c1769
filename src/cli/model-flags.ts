import { RecordingReader } from '../recording/recording-reader.js';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { modelSet as buildingSet } from '../../models/index.js';
import { envValue } from '../node/config/flags.js';
import { loadModelSet } from '../model/model-set-import.js';
import type { ModelParams, ModelSet } from '../model/model-set.js';

/** `--models` and `--param`, taken by serve, record, replay, whatif (and `--models` by generate). */
export const MODEL_FLAGS = {
  models: { type: 'string' },
  param: { type: 'string', multiple: true },
} as const;

export const MODELS_HELP = `
  Model set:
  --models <module>[#export]  the model set to run: a module exporting one made by defineModelSet
                           (export "modelSet" or "default" unless #export names it), as a path from the
                           current directory; .js, or .ts when tsx is installed; a directory means its
                           index file (env TWINFLOW_MODELS; default: the building set, also "building")
  --param <name>=<value>   override a parameter of the set (repeatable), read by the type of its
                           default (building: ${Object.keys(buildingSet.defaults).join(', ')})
`;

/** A wrong `--models`/`--param`: one line on stderr and exit code 2 (the usage text would bury it). */
export class ModelFlagError extends Error {}

/** Files a directory given to `--models` may hold, in this order. */
const INDEX_FILES = ['index.js', 'index.mjs', 'index.ts', 'index.mts'];

/**
 * The model set named by `--models` (or TWINFLOW_MODELS; default the building set) with
 * the `--param` overrides applied. Throws {@link ModelFlagError} with a one-line reason.
 *
 * @example
 * ```ts
 * const set = await modelSetFromFlags({ models: './examples/parking-garage/index.ts', param: ['reserved=2'] });
 * set.name; // 'parking-garage'
 * ```
 */
export async function modelSetFromFlags(
  values: { models?: string; param?: string[] },
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<ModelSet> {
  const spec = values.models ?? envValue(env, 'TWINFLOW_MODELS');
  const name = values.models !== undefined ? `--models ${spec}` : `TWINFLOW_MODELS=${spec}`;
  let set: ModelSet;
  if (spec === undefined || spec === 'building') {
    set = buildingSet;
  } else {
    try {
      set = await loadModelSet(moduleUrl(spec, cwd));
    } catch (err) {
      throw new ModelFlagError(`${name}: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    return set.with(parseParams(set, values.param));
  } catch (err) {
    throw new ModelFlagError((err as Error).message, { cause: err });
  }
}

/** `path[#export]` resolved against `cwd` as a file URL; a directory means its index file. */
function moduleUrl(spec: string, cwd: string): URL {
  const hash = /#([A-Za-z_$][\w$]*)$/.exec(spec);
  const path = resolve(cwd, hash ? spec.slice(0, hash.index) : spec);
  if (!existsSync(path)) throw new Error(`no such file ${path}`);
  let file = path;
  if (statSync(path).isDirectory()) {
    const index = INDEX_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
    if (!index) throw new Error(`${path} is a directory without ${INDEX_FILES.join(', ')}`);
    file = index;
  }
  const url = pathToFileURL(file);
  if (hash) url.hash = hash[1]!;
  return url;
}

/**
 * `--param name=value` overrides, each value read by the type of the parameter's default:
 * a number, `true`/`false` (or 1/0), or the text as it is.
 */
export function parseParams(set: ModelSet, raw: readonly string[] | undefined): Partial<ModelParams> {
  const out: Partial<ModelParams> = {};
  const defaults = set.defaults as ModelParams;
  const known = Object.keys(defaults);
  for (const p of raw ?? []) {
    const eq = p.indexOf('=');
    const name = p.slice(0, eq);
    const text = p.slice(eq + 1);
    if (eq < 0 || !Object.hasOwn(defaults, name)) {
      throw new ModelFlagError(
        `--param ${p}: expected <name>=<value> with name one of ${known.join(', ') || `(model set "${set.name}" has no parameters)`}`,
      );
    }
    const kind = typeof defaults[name];
    if (kind === 'number') {
      const n = text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(n)) throw new ModelFlagError(`--param ${p}: ${name} is a number, got ${text}`);
      out[name] = n;
    } else if (kind === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(text))
        throw new ModelFlagError(`--param ${p}: ${name} is true or false, got ${text}`);
      out[name] = text === 'true' || text === '1';
    } else {
      out[name] = text;
    }
  }
  return out;
}

/** The flag values for a log line or a recording's meta: the set's name and its changed parameters. */
export function describeSet(set: ModelSet): { models: string; params?: Partial<ModelParams> } {
  return Object.keys(set.overrides).length > 0
    ? { models: set.name, params: { ...set.overrides } }
    : { models: set.name };
}

/**
 * One line on stderr when a recording names another model set than the one replaying it
 * (`twinflow record` and `generate` write the set's name into the header): replaying a garage
 * recording with the building set rejects every event, and a digest alone would not say why.
 * A warning, not a refusal: a renamed or newer version of the set may be the point.
 */
export async function warnOnOtherSet(command: string, file: string, set: ModelSet): Promise<void> {
  const reader = await RecordingReader.open(file).catch(() => null); // an unreadable file fails in the run itself
  if (!reader) return;
  await reader.close();
  const recorded = reader.header.meta?.models;
  if (typeof recorded === 'string' && recorded !== set.name) {
    process.stderr.write(
      // Quoted as JSON: the name comes from the file, and must not reach a terminal's escapes.
      `twinflow ${command}: ${file} was recorded with the model set ${JSON.stringify(recorded)}, replaying it with "${set.name}" (choose with --models)\n`,
    );
  }
}
