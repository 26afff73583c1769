/**
 * Output for a person at a terminal: pino-pretty log lines when stdout is a TTY (JSON
 * otherwise, and whatever TWINFLOW_LOG_FORMAT says), and the CLI's progress bars, drawn on
 * stderr only when it is a terminal.
 */
import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/progress.js';
import { prettyLogs } from '../../src/logger.js';

/** Erase to the end of the line: what every redraw ends with. */
const EL = '\x1b[K';

/** A stream that records what is written, terminal or not. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = {
    isTTY,
    text: '',
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('log format', () => {
  it('follows TWINFLOW_LOG_FORMAT, else pretty only at a terminal', () => {
    expect(prettyLogs({ TWINFLOW_LOG_FORMAT: 'pretty' })).toBe(true);
    expect(prettyLogs({ TWINFLOW_LOG_FORMAT: 'json' })).toBe(false);
    // vitest's workers write to a pipe: JSON, as in CI and under a process manager.
    expect(prettyLogs({})).toBe(process.stdout.isTTY === true);
  });
});

describe('progressBar', () => {
  it('draws bar, percent, rate and ETA at a terminal, and clears the line at the end', () => {
    const out = stream(true);
    const bar = progressBar('import ', 1000, out);
    bar.update(250);
    expect(out.text.endsWith(EL)).toBe(true);
    expect(out.text.slice(0, -EL.length)).toMatch(
      /^\rimport \[#####---------------\] {2}25\.0% {2}\S+ ev\/s {2}ETA \S+$/,
    );
    bar.end();
    expect(out.text.endsWith(`\r${EL}`)).toBe(true);
  });

  it('shows count and rate when the total is not known', () => {
    const out = stream(true);
    progressBar('warm ', undefined, out, 'twins').update(1234);
    expect(out.text).toMatch(/^\rwarm 1,234 twins {2}\S+\/s/);
    expect(out.text.endsWith(EL)).toBe(true);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const out = stream(false);
    const bar = progressBar('generate ', 10, out);
    bar.update(5);
    bar.end();
    expect(out.text).toBe('');
  });
});
