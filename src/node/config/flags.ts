import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionShapes = NonNullable<ParseArgsConfig['options']>;

/** A negative number (`-5`, `-0.5`, `-.5`): never a flag, so it can only be a value. */
const NEGATIVE = /^-\.?\d/;

/**
 * `node:util` parseArgs for every `twinflow` command: `--flag value` and `--flag=value`
 * both work. parseArgs refuses `--tick -5` as "ambiguous" (the value might be a forgotten
 * one before another flag), in three lines; a negative number cannot be a flag, so it is
 * handed to the flag, whose own check then says what the flag needs ("--tick must be a
 * number >= 0, got -5"). Any other dash value gets a one-line error naming the `=` form.
 *
 * @example
 * ```ts
 * parseFlags({ args: ['--tick', '-5'], options: { tick: { type: 'string' } } }).values.tick; // '-5'
 * ```
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const args = joinNegativeValues(config.args ?? [], config.options ?? {});
  try {
    return parseArgs<T>({ ...config, args });
  } catch (err) {
    const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec((err as Error).message);
    if (!ambiguous) throw err;
    const flag = ambiguous[1]!.split(' ')[0]!;
    throw new Error(`${flag} needs a value; to give one that starts with "-", write ${flag}=<value>`, { cause: err });
  }
}

function joinNegativeValues(argv: readonly string[], options: OptionShapes): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    const takesValue = arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && NEGATIVE.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * An environment variable, or undefined when it is unset or blank: `TWINFLOW_WORKERS=`
 * (as `env_file`s and CI templates leave behind) means "not set", i.e. the default.
 */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/**
 * A setting from its flag, else from its environment variable (if it has one), with the
 * name to blame in an error: the user wrote one or the other and should be told which.
 */
export function flagOrEnv(
  flag: string,
  value: string | undefined,
  env: NodeJS.ProcessEnv,
  envName?: string,
): { name: string; raw: string } | undefined {
  if (value !== undefined) return { name: `--${flag}`, raw: value };
  const raw = envName === undefined ? undefined : envValue(env, envName);
  return raw === undefined ? undefined : { name: envName!, raw };
}

export interface NumberRule {
  integer?: boolean;
  /** Default 0. */
  min?: number;
  max?: number;
}

/**
 * Reads a flag or environment value as a number, or throws an Error naming it and what
 * it needs. Blank text is refused: `Number('')` is 0, so `--workers=` would mean none.
 *
 * @example
 * ```ts
 * readNumber('--port', '80', { integer: true, max: 65535 }); // 80
 * readNumber('--tick', '-5');                                // throws "--tick must be a number >= 0, got -5"
 * ```
 */
export function readNumber(name: string, raw: string, rule: NumberRule = {}): number {
  const { integer = false, min = 0, max = Infinity } = rule;
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (Number.isFinite(n) && (!integer || Number.isInteger(n)) && n >= min && n <= max) return n;
  const what = integer ? 'an integer' : 'a number';
  const need =
    max !== Infinity
      ? `${what} from ${min} to ${max}`
      : integer && min === 0
        ? 'a non-negative integer'
        : integer && min === 1
          ? 'a positive integer'
          : `${what} >= ${min}`;
  throw new Error(`${name} must be ${need}, got ${raw === '' ? '""' : raw}`);
}
