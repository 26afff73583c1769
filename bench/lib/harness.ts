/**
 * The benchmark harness: every scenario measures our figure and a raw baseline in the same
 * process and run, repeats each at least three times, and reports median [min–max] with
 * the ratio to the baseline and the target (see bench/README.md). Not a test: nothing
 * here fails a build.
 */
import os from 'node:os';

export interface Target {
  /** ours / baseline must be >= ratio (throughput) or <= ratio (latency, memory). */
  ratio?: number;
  /** ours must be >= value (or <= value with cmp '<='). */
  value?: number;
  cmp: '>=' | '<=';
}

export interface Figure {
  scenario: string;
  figure: string;
  unit: string;
  ours: number[];
  baseline?: number[];
  baselineName?: string;
  target?: Target;
  note?: string;
}

export interface BenchContext {
  /** True under --quick: smaller inputs, fewer runs; figures are indicative only. */
  quick: boolean;
  runs: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` `runs` times (after one warm-up unless `warmup` is false) and returns each result. */
export async function repeat(runs: number, fn: () => Promise<number> | number, warmup = true): Promise<number[]> {
  if (warmup) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await fn());
  return out;
}

/** Operations per second of `ops` operations taking `ns` nanoseconds. */
export function perSecond(ops: number, ns: bigint): number {
  return ops / (Number(ns) / 1e9);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  if (a >= 100) return n.toFixed(0);
  return n.toFixed(2);
}

function spread(xs: number[]): string {
  return `${fmt(median(xs))} [${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}]`;
}

export function verdict(f: Figure): string {
  if (!f.target) return '';
  const ours = median(f.ours);
  if (f.target.ratio !== undefined && f.baseline) {
    const r = ours / median(f.baseline);
    const ok = f.target.cmp === '>=' ? r >= f.target.ratio : r <= f.target.ratio;
    return `${f.target.cmp} ${f.target.ratio}x ${ok ? 'pass' : 'short'}`;
  }
  if (f.target.value !== undefined) {
    const ok = f.target.cmp === '>=' ? ours >= f.target.value : ours <= f.target.value;
    return `${f.target.cmp} ${fmt(f.target.value)} ${ok ? 'pass' : 'short'}`;
  }
  return '';
}

/** Prints the machine line and one table row per figure. */
export function printTable(
  figures: Figure[],
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  out(
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  );
  const rows = figures.map((f) => {
    const ratio = f.baseline ? (median(f.ours) / median(f.baseline)).toFixed(2) + 'x' : '';
    return [
      f.scenario,
      f.figure,
      `${spread(f.ours)} ${f.unit}`,
      f.baseline ? `${spread(f.baseline)} (${f.baselineName ?? 'baseline'})` : '',
      ratio,
      verdict(f),
    ];
  });
  const head = ['scenario', 'figure', 'ours median [min–max]', 'baseline (same run)', 'ratio', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  out(line(head));
  out('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) out(line(r));
  for (const f of figures) if (f.note) out(`note (${f.scenario}, ${f.figure}): ${f.note}`);
}
