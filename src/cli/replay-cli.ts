import { join } from 'node:path';
import { parseFlags, readNumber } from '../node/config/flags.js';
import { fmtCount, fmtRate, progressLine, throttled } from './progress.js';
import { runReplay, type ReplayResult } from '../recording/replay-run.js';
import { compareDerived } from '../recording/whatif.js';
import { modelSetFromFlags, parseParams, warnOnOtherSet } from './model-flags.js';
import { REPLAY_FLAGS, REPLAY_HELP, replayOptionsFromFlags } from './replay-flags.js';

export const REPLAY_USAGE = `twinflow replay <file.tfr> [options]
${REPLAY_HELP}`;

export const WHATIF_USAGE = `twinflow whatif <file.tfr> --param <name>=<value> … [options]

  Replays the recording twice into isolated stores, once with the model set's defaults (or
  --baseline-param overrides) and once with --param overrides, and compares the derived events;
  a set with an explainer (the building's explains hvac.adjust) says why an event is in one run only.
  --baseline-param <name>=<value>   override for the baseline run (repeatable)
  --limit <n>                       changes to list (default 20)
${REPLAY_HELP}`;

const out = (s: string): void => void process.stdout.write(s);

/** A progress bar on stderr at a terminal, nothing otherwise (pipes, CI logs and stdout's result stay clean). */
function progress(label: string): ((fraction: number, p: { events: number; wallMs: number }) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return throttled(100, (f: number, p: { events: number; wallMs: number }) =>
    process.stderr.write(`\r${label}${progressLine(f, p.events, p.wallMs)}\x1b[K`),
  );
}

const clearProgress = (): void => {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
};

function summary(r: ReplayResult): string {
  const lines = [
    `replayed ${fmtCount(r.events)} events in ${(r.wallMs / 1000).toFixed(2)} s: ${fmtRate(r.eventsPerSecond)} events/s, ${fmtCount(r.speedUp)}x real time (${fmtCount(r.steps)} steps)`,
    `accepted ${fmtCount(r.accepted)}, rejected ${fmtCount(r.rejected)}${r.truncated ? ' (recording truncated: ended inside a chunk)' : ''}`,
    'derived events:',
    ...Object.entries(r.derivedByType).map(([t, n]) => `  ${t.padEnd(24)} ${fmtCount(n).padStart(10)}`),
    `digest sha256:${r.digest} (${fmtCount(r.twins)} twins)`,
  ];
  if (Object.keys(r.derivedByType).length === 0) lines.splice(3, 0, '  (none)');
  return lines.join('\n') + '\n';
}

/** `twinflow replay`: returns the exit code. */
export async function replayCommand(argv: string[]): Promise<number> {
  let parsed;
  let opts;
  // Flag values are checked here too, so a bad one gets the usage text and exit code 2.
  try {
    parsed = parseFlags({ args: argv, options: REPLAY_FLAGS, allowPositionals: true, strict: true });
    if (parsed.positionals.length !== 1) throw new Error('expected one recording file');
    opts = replayOptionsFromFlags(parsed.values);
  } catch (err) {
    process.stderr.write(`twinflow replay: ${(err as Error).message}\n\n${REPLAY_USAGE}`);
    return 2;
  }
  const v = parsed.values;
  const modelSet = await modelSetFromFlags(v);
  await warnOnOtherSet('replay', parsed.positionals[0]!, modelSet);
  const result = await runReplay(parsed.positionals[0]!, { ...opts, modelSet, onFraction: progress('') });
  clearProgress();
  out(v.json ? JSON.stringify(result) + '\n' : summary(result));
  // What was read is replayed and reported above; a cut or damaged file is still a failure.
  if (result.truncated) {
    process.stderr.write(`twinflow replay: warning: ${result.stopReason}; replayed the events before it\n`);
    return 1;
  }
  return 0;
}

/** `twinflow whatif`: returns the exit code. */
export async function whatifCommand(argv: string[]): Promise<number> {
  let parsed;
  let opts;
  let limit;
  try {
    parsed = parseFlags({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...REPLAY_FLAGS, 'baseline-param': { type: 'string', multiple: true }, limit: { type: 'string' } },
    });
    if (parsed.positionals.length !== 1) throw new Error('expected one recording file');
    opts = replayOptionsFromFlags(parsed.values);
    limit = parsed.values.limit === undefined ? 20 : readNumber('--limit', parsed.values.limit, { integer: true });
    // Without a change both runs are the same replay; `twinflow replay` is that.
    if (!parsed.values.param?.length)
      throw new Error(
        '--param <name>=<value> is required: the what-if run needs a parameter to change (twinflow replay replays unchanged)',
      );
  } catch (err) {
    process.stderr.write(`twinflow whatif: ${(err as Error).message}\n\n${WHATIF_USAGE}`);
    return 2;
  }
  const v = parsed.values;
  const file = parsed.positionals[0]!;
  const baseSet = await modelSetFromFlags({ models: v.models, param: v['baseline-param'] });
  const whatSet = baseSet.with(parseParams(baseSet, v.param));
  await warnOnOtherSet('whatif', file, baseSet);
  const run = (label: string, modelSet: typeof baseSet, dir: string): Promise<ReplayResult> =>
    runReplay(file, {
      ...opts,
      ...(opts.dataDir ? { dataDir: join(opts.dataDir, dir) } : {}),
      modelSet,
      collectDerived: true,
      onFraction: progress(label),
    });
  const baseline = await run('baseline ', baseSet, 'baseline');
  const whatIf = await run('what-if  ', whatSet, 'whatif');
  clearProgress();
  const baseParams = baseSet.params;
  const whatParams = whatSet.params;
  const explainer = baseSet.explainer(baseParams, whatParams);
  const diff = compareDerived(baseline.derived!, whatIf.derived!, explainer);
  if (v.json) {
    out(
      JSON.stringify({
        baseline: { ...baseline, derived: undefined },
        whatIf: { ...whatIf, derived: undefined },
        diff,
      }) + '\n',
    );
    return 0;
  }
  const changed = Object.entries(whatParams)
    .filter(([k, x]) => baseParams[k] !== x)
    .map(([k, x]) => `${k}=${x}`);
  out(
    [
      `what-if ${changed.join(' ') || '(no parameter changed)'} over ${fmtCount(baseline.events)} events (model set ${baseSet.name})`,
      `digest baseline sha256:${baseline.digest}`,
      `digest what-if  sha256:${whatIf.digest}`,
      `derived events: ${fmtCount(diff.same)} in both, ${fmtCount(diff.changes.length)} in one run only`,
      `  ${'type'.padEnd(24)} ${'baseline'.padStart(10)} ${'what-if'.padStart(10)}`,
      ...Object.entries(diff.byType).map(
        ([t, n]) => `  ${t.padEnd(24)} ${fmtCount(n.baseline).padStart(10)} ${fmtCount(n.whatIf).padStart(10)}`,
      ),
      ...diff.changes
        .slice(0, limit)
        .map(
          (c) =>
            `  ${c.side === 'baseline' ? '-' : '+'} ${c.event.time} ${c.event.type} ${c.event.source}${c.explanation ? `\n      ${c.explanation}` : ''}`,
        ),
      ...(diff.changes.length > limit ? [`  … ${fmtCount(diff.changes.length - limit)} more (--limit, --json)`] : []),
      ...(!explainer && diff.changes.length > 0
        ? [`  (model set ${baseSet.name} has no explainer: changes are listed without reasons)`]
        : []),
    ].join('\n') + '\n',
  );
  return 0;
}
