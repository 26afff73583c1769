import { isMainThread } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { TwinError } from '../errors.js';
import { isModelSet, type ModelSet, type ModelSetRef } from './model-set.js';

/** Export names tried, in order, when a reference names none. */
const DEFAULT_EXPORTS = ['modelSet', 'default'];

const TYPESCRIPT = /\.[cm]?tsx?$/;

/**
 * Imports a model set by reference: a module URL whose hash names the export
 * (`file:///srv/garage.js#garageSet`; without a hash `modelSet`, then `default`, then the
 * only exported set), or a {@link ModelSetRef} (what worker threads get). The export may
 * also be a function returning the set. TypeScript modules load when tsx is installed.
 * Every failure is one TWIN_CONFIG_INVALID error saying what is wrong with the reference.
 *
 * @example
 * ```ts
 * const set = await loadModelSet(new URL('./garage.js#modelSet', import.meta.url));
 * const node = await startNode({ modelSet: set.with({ reserved: 2 }), workers: 2 });
 * ```
 */
export async function loadModelSet(
  reference: string | URL | ModelSetRef,
  options: { importTimeoutMs?: number } = {},
): Promise<ModelSet> {
  const { url, exportName, setName } = parseReference(reference);
  const shown = display(url);
  if (TYPESCRIPT.test(new URL(url).pathname)) await typeScriptLoader(shown);
  let mod: Record<string, unknown>;
  try {
    mod = await importWithin(url, options.importTimeoutMs ?? IMPORT_TIMEOUT_MS);
  } catch (err) {
    throw refused(`cannot import ${shown}: ${firstLine(err)}`, err);
  }
  const name = exportName ?? pickExport(mod, setName, shown);
  if (!Object.hasOwn(mod, name))
    throw refused(`${shown} has no export "${name}" (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  let value = mod[name];
  let what = `${shown}#${name}`;
  if (typeof value === 'function') {
    what = `${what}()`;
    try {
      value = await (value as () => unknown)();
    } catch (err) {
      throw refused(`${what} failed: ${firstLine(err)}`, err);
    }
  }
  if (!isModelSet(value))
    throw refused(`${what} is ${describe(value)}, not a model set (make one with defineModelSet)`);
  return value.at(url, name);
}

/** How long a model module may take to load (its top-level awaits included). */
export const IMPORT_TIMEOUT_MS = 60_000;

/**
 * Imports `url`, refusing a module still loading after `ms`. A module whose top-level await
 * never settles left nothing else to wait for at `twinflow serve`'s start, and Node ended the
 * process with exit code 13 and not a word; the timer (kept referenced on purpose) holds the
 * process until the import settles or the refusal says why.
 */
async function importWithin(url: string, ms: number): Promise<Record<string, unknown>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`it did not finish loading within ${ms / 1000} s (a top-level await that never settles?)`)),
      ms,
    );
  });
  try {
    return (await Promise.race([import(url), late])) as Record<string, unknown>;
  } finally {
    clearTimeout(timer);
  }
}

function parseReference(reference: string | URL | ModelSetRef): { url: string; exportName?: string; setName?: string } {
  if (typeof reference === 'object' && !(reference instanceof URL)) {
    return { url: reference.module, exportName: reference.export, setName: reference.name };
  }
  let u: URL;
  try {
    u = new URL(String(reference));
  } catch {
    throw refused(`${String(reference)} is not a module URL (use pathToFileURL for a path)`);
  }
  const exportName = u.hash.length > 1 ? decodeURIComponent(u.hash.slice(1)) : undefined;
  u.hash = '';
  return { url: u.href, exportName };
}

function pickExport(mod: Record<string, unknown>, setName: string | undefined, shown: string): string {
  if (setName !== undefined) {
    // A worker importing a set that knows its module but not its export: the set of that name.
    const named = Object.keys(mod).find((k) => isModelSet(mod[k]) && mod[k].name === setName);
    if (named !== undefined) return named;
    throw refused(`${shown} exports no model set named "${setName}"`);
  }
  const preferred = DEFAULT_EXPORTS.find((k) => Object.hasOwn(mod, k));
  if (preferred !== undefined) return preferred;
  const sets = Object.keys(mod).filter((k) => isModelSet(mod[k]));
  if (sets.length === 1) return sets[0]!;
  const hint =
    sets.length > 1
      ? `it exports several sets: ${sets.join(', ')}`
      : `exports: ${Object.keys(mod).join(', ') || 'none'}`;
  throw refused(`${shown} has no export "modelSet" or "default" (${hint}); name one with #<export>`);
}

let tsx: Promise<void> | undefined;

/**
 * Makes `.ts` modules importable on this thread. From TypeScript sources (tsx, vitest) a
 * loader is already active: this module is itself `.ts`. From dist/, tsx is registered once
 * per thread (worker threads do not inherit loader hooks on Node 20).
 */
function typeScriptLoader(shown: string): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return Promise.resolve();
  // `node --import tsx bin/twinflow.js`: the main thread has it already (workers do not).
  if (isMainThread && [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('tsx')))
    return Promise.resolve();
  tsx ??= import('tsx/esm/api').then(
    (api) => void api.register(),
    (err: unknown) => {
      tsx = undefined;
      throw refused(
        `${shown} is TypeScript and tsx is not installed (npm install --save-dev tsx), or compile the model set to JavaScript`,
        err,
      );
    },
  );
  return tsx;
}

function display(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return value === undefined ? 'undefined' : `a ${typeof value}`;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

function refused(message: string, cause?: unknown): TwinError {
  return new TwinError('TWIN_CONFIG_INVALID', message, undefined, cause === undefined ? undefined : { cause });
}
