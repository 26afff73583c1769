/**
 * The shared harness of the fuzz files (test/fuzz/*.fuzz.test.ts): how many cases a
 * property runs, the per-case time bound, and the one rule every parser is held to —
 * it returns, or throws only the error class it documents.
 *
 * `npm run fuzz` sets TWINFLOW_FUZZ_RUNS=100000; `npm test` runs the same properties at
 * {@link DEFAULT_RUNS} (fronts at {@link DEFAULT_FRONT_RUNS}), which keeps every fuzz file
 * together at a few seconds on a shared 2-core machine.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { TwinError } from '../../src/index.js';

/** Cases per parser property in `npm test`. */
export const DEFAULT_RUNS = 1000;
/** Cases per front (real node, real sockets) in `npm test`. */
export const DEFAULT_FRONT_RUNS = 300;

const fromEnv = Number(process.env.TWINFLOW_FUZZ_RUNS);
/** True under `npm run fuzz` (TWINFLOW_FUZZ_RUNS set). */
export const FULL = Number.isInteger(fromEnv) && fromEnv > 0;

/** Cases for a parser property. */
export const RUNS = FULL ? fromEnv : DEFAULT_RUNS;
/** Cases for a front property (same count under `npm run fuzz`). */
export const FRONT_RUNS = FULL ? fromEnv : DEFAULT_FRONT_RUNS;

/**
 * The longest one parser case may take. Measured: alone, the slowest of 20 000 WARP
 * envelope cases (a 1 250-deep JSON nesting, a Recon header with a 20-digit number) takes
 * ~11 ms; with ten fuzz files in parallel and four agents on two cores, a GC pause or a
 * descheduled worker put up to ~400 ms on whichever case it landed in. 1 s stays clear of
 * that noise and far below what a real hang looks like: every generated input is under
 * ~100 kB, and a parse that is super-linear in that takes many seconds. A case that loops
 * forever never returns at all: the test timeout catches that one.
 */
export const CASE_BOUND_MS = 1000;

/** Seeds are fixed per property so a failure reproduces; `TWINFLOW_FUZZ_SEED` varies them. */
const SEED = Number(process.env.TWINFLOW_FUZZ_SEED ?? 20261205);

/** What a property may throw besides returning: a predicate with a name for the report. */
export interface Expected {
  readonly name: string;
  is(e: unknown): boolean;
}

/** A TwinError (any code, or one of `codes`). */
export function twinError(...codes: string[]): Expected {
  return {
    name: codes.length ? `TwinError(${codes.join('|')})` : 'TwinError',
    is: (e) => e instanceof TwinError && (codes.length === 0 || codes.includes(e.code)),
  };
}

/** Instances of a codec's own error class. */
export function errorClass(cls: abstract new (...args: never[]) => Error): Expected {
  return { name: cls.name, is: (e) => e instanceof cls };
}

/** Nothing may be thrown at all. */
export const NOTHING: Expected = { name: 'nothing', is: () => false };

/** Statistics of one property run, printed per property. */
export interface FuzzStats {
  cases: number;
  thrown: number;
  maxCaseMs: number;
  totalMs: number;
}

function report(label: string, s: FuzzStats, expected: Expected): void {
  // The per-property line is the point of `npm run fuzz`: the counts and times go in docs/security.md.
  process.stdout.write(
    `[fuzz] ${label}: ${s.cases} cases, ${s.thrown} rejected (${expected.name}), ` +
      `${(s.totalMs / 1000).toFixed(1)} s, slowest case ${s.maxCaseMs.toFixed(1)} ms\n`,
  );
}

function unexpected(e: unknown, expected: Expected): Error {
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new Error(`threw ${what}, expected ${expected.name} or a value`, { cause: e });
}

/**
 * Runs `check` on {@link RUNS} generated inputs: each must return or throw what `expected`
 * allows, within {@link CASE_BOUND_MS}. Returns the statistics (also printed).
 */
export function fuzz<T>(
  label: string,
  arb: fc.Arbitrary<T>,
  check: (input: T) => unknown,
  expected: Expected,
  runs = RUNS,
): FuzzStats {
  const s: FuzzStats = { cases: 0, thrown: 0, maxCaseMs: 0, totalMs: 0 };
  const start = performance.now();
  fc.assert(
    fc.property(arb, (input) => {
      const t0 = performance.now();
      try {
        check(input);
      } catch (e) {
        caught(s, e, expected);
      }
      tally(s, t0, CASE_BOUND_MS);
    }),
    { numRuns: runs, seed: SEED, endOnFailure: true },
  );
  s.totalMs = performance.now() - start;
  report(label, s, expected);
  expect(s.cases).toBe(runs);
  return s;
}

/** {@link fuzz} for async parsers (the recording reader reads files). */
export async function fuzzAsync<T>(
  label: string,
  arb: fc.Arbitrary<T>,
  check: (input: T) => Promise<unknown>,
  expected: Expected,
  runs = RUNS,
  boundMs = CASE_BOUND_MS,
): Promise<FuzzStats> {
  const s: FuzzStats = { cases: 0, thrown: 0, maxCaseMs: 0, totalMs: 0 };
  const start = performance.now();
  await fc.assert(
    fc.asyncProperty(arb, async (input) => {
      const t0 = performance.now();
      try {
        await check(input);
      } catch (e) {
        caught(s, e, expected);
      }
      tally(s, t0, boundMs);
    }),
    { numRuns: runs, seed: SEED, endOnFailure: true },
  );
  s.totalMs = performance.now() - start;
  report(label, s, expected);
  expect(s.cases).toBe(runs);
  return s;
}

/** A case threw: counted if it is the error the parser may throw, else the property fails. */
function caught(s: FuzzStats, e: unknown, expected: Expected): void {
  if (!expected.is(e)) throw unexpected(e, expected);
  s.thrown++;
}

/** Counts a finished case and fails the property if it took longer than the bound (a hang). */
function tally(s: FuzzStats, t0: number, boundMs: number): void {
  const dt = performance.now() - t0;
  s.cases++;
  if (dt > s.maxCaseMs) s.maxCaseMs = dt;
  if (dt > boundMs) throw new Error(`one case took ${dt.toFixed(0)} ms (bound ${boundMs} ms)`);
}

/** Prints a front's statistics (fronts run their own batched loops, not fc.assert). */
export function reportFront(label: string, s: FuzzStats, what: string): void {
  report(label, s, { name: what, is: () => false });
}

/** `n` samples of `arb` with the fuzz seed (fronts send them in batches over one socket). */
export function samples<T>(arb: fc.Arbitrary<T>, n: number, salt = 0): T[] {
  return fc.sample(arb, { numRuns: n, seed: SEED + salt });
}

/** Test timeout of a fuzz file: generous under `npm run fuzz`, the default otherwise. */
export const TIMEOUT = FULL ? 3_600_000 : 60_000;
