/** Formats a count with thousands separators (`1,234,567`). */
export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Formats a rate compactly (`812.4k`, `1.23M`). */
export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/**
 * One line of a terminal progress bar: bar, percent, rate and ETA (from the fraction done
 * and the time spent so far). Pure, so the CLI decides when and where to draw it.
 *
 * @example
 * ```ts
 * progressLine(0.5, 500_000, 1000); // '[##########----------]  50.0%  500.0k ev/s  ETA 1s'
 * ```
 */
export function progressLine(fraction: number, events: number, wallMs: number, width = 20): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * width);
  const rate = events / (wallMs / 1000);
  const eta = f > 0 ? (wallMs / f) * (1 - f) : NaN;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(f * 100).toFixed(1).padStart(5)}%  ${fmtRate(rate)} ev/s  ETA ${fmtDuration(eta)}`;
}

/** Calls `draw` at most every `everyMs` (a progress bar must not cost the replay its speed). */
export function throttled<A extends unknown[]>(everyMs: number, draw: (...args: A) => void): (...args: A) => void {
  let last = 0;
  return (...args: A) => {
    const now = performance.now();
    if (now - last < everyMs) return;
    last = now;
    draw(...args);
  };
}

/** A progress bar on stderr: `update` as work is done, `end` clears it before the result is printed. */
export interface ProgressBar {
  readonly update: (done: number) => void;
  readonly end: () => void;
}

const SILENT: ProgressBar = { update: () => undefined, end: () => undefined };

/**
 * A progress bar on stderr when stderr is a terminal (nothing otherwise: pipes, CI logs and
 * the command's own output on stdout stay clean). With `total` it shows bar, percent, rate
 * and ETA ({@link progressLine}); without, the count and rate. Redrawn at most 10 times a second.
 *
 * @example
 * ```ts
 * const bar = progressBar('generate ', 1_000_000);
 * for (const chunk of chunks) { write(chunk); bar.update((n += chunk.length)); }
 * bar.end();
 * ```
 */
export function progressBar(
  label: string,
  total?: number,
  stream: NodeJS.WriteStream = process.stderr,
  unit = 'events',
): ProgressBar {
  if (!stream.isTTY) return SILENT;
  const t0 = performance.now();
  const draw = throttled(100, (done: number) => {
    const wallMs = performance.now() - t0;
    const line =
      total !== undefined && total > 0
        ? progressLine(done / total, done, wallMs)
        : `${fmtCount(done)} ${unit}  ${fmtRate(done / (wallMs / 1000))}/s`;
    stream.write(`\r${label}${line}\x1b[K`);
  });
  return { update: draw, end: () => void stream.write('\r\x1b[K') };
}
