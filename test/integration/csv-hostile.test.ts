/**
 * `twinflow import` on hostile CSV files (bug bash round 5): a cell of tens of megabytes, a
 * header of a million columns, UTF-16 text. Each must end in one short line saying what is
 * wrong (exit 1), within a heap a few times the file's size. Findings: the parser built each
 * field a character at a time (~40 bytes of heap per character: a 160 MB cell ended the
 * process out of memory after 100 s), and the error printed the whole cell, or every column
 * name, on one stderr line. Run as the `twinflow` child process with a small heap, so an
 * import that grows with the cell's characters dies instead of passing on a big machine.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, twinflowArgs } from '../support/serve.js';
import { tempDir } from '../support/tmp.js';

const HEADER = '"Date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"\n';

/** `twinflow import <csv>` with a V8 heap of `heapMb`: exit code (or signal) and stderr. */
function runImport(
  csv: string,
  heapMb: number,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const out = join(tempDir(), 'out.tfr');
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${heapMb}`, ...twinflowArgs(['import', csv, '--out', out])],
    {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
}

describe('twinflow import on hostile CSV files', () => {
  it('refuses a 40 MB cell in one short line, within a 256 MB heap', async () => {
    const csv = join(tempDir(), 'long-cell.csv');
    const fd = openSync(csv, 'w');
    writeSync(fd, `${HEADER}"2015-02-04 17:51:00",`);
    const block = Buffer.alloc(8 << 20, 'x');
    for (let i = 0; i < 5; i++) writeSync(fd, block);
    writeSync(fd, ',27.2,426,721.25,0.00479,1\n');
    closeSync(fd);
    const r = await runImport(csv, 256);
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr.slice(0, 500)).toBe(1);
    expect(r.stderr).toMatch(
      /^twinflow import: row 1: "temperature" is not a number: "x{80}…" \(41943040 characters\)\n$/,
    );
  }, 60_000);

  it('names a few of a million columns, not all of them', async () => {
    const csv = join(tempDir(), 'wide.csv');
    const columns = Array.from({ length: 1_000_000 }, (_, i) => `c${i}`);
    writeFileSync(csv, `${columns.join(',')}\n${columns.map(() => '1').join(',')}\n`);
    const r = await runImport(csv, 256);
    expect(r.code).toBe(1);
    expect(r.stderr.length).toBeLessThan(1000);
    expect(r.stderr).toContain('CSV has no column "Date" (columns: c0, c1, c2,');
    expect(r.stderr).toContain('… 999980 more)');
  }, 60_000);

  it('says a UTF-16 file is not UTF-8 instead of listing its columns with NULs', async () => {
    const csv = join(tempDir(), 'utf16.csv');
    writeFileSync(csv, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(HEADER, 'utf16le')]));
    const r = await runImport(csv, 256);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'twinflow import: the CSV holds NUL characters: it is not UTF-8 text (UTF-16? save it as UTF-8)\n',
    );
  }, 60_000);
});
