/**
 * `twinflow import`, `export` and `replay` on bad input: a fan-out past its bound, a CSV
 * with a byte order mark, a mapping file of the wrong shape, a recording cut short or with
 * a damaged chunk length, and an event time no CloudEvents time can hold. Run in-process
 * through `main` (exit code, stdout and stderr).
 */
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/cli.js';
import type { TwinEvent } from '../../src/index.js';
import { RecordingReader } from '../../src/recording/recording-reader.js';
import { RecordingWriter } from '../../src/recording/recording-writer.js';
import { tempDir } from '../support/tmp.js';

afterEach(() => vi.restoreAllMocks());

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

const CSV = [
  '"Date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"',
  '"2015-02-04 17:51:00",23.18,27.272,426,721.25,0.00479,1',
  '"2015-02-04 17:51:59",23.15,27.2675,429.5,714,0.00478,1',
  '"2015-02-04 17:53:00",23.15,27.245,426,713.5,0.00477,0',
].join('\r\n');

const ROOM = '/org/contoso/site/berlin/building/41/floor/3/unit/j/room/4';

function events(n: number, time = (i: number) => 1_700_000_000_000 + i * 1000): TwinEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i),
    source: 'dev',
    type: 'reading',
    subject: `${ROOM}/sensors/climate`,
    time: time(i),
    data: { temperature: 20 + i / 4 },
  }));
}

async function recording(file: string, evs: TwinEvent[]): Promise<void> {
  const w = RecordingWriter.create(file, { chunkSize: 100 });
  for (const e of evs) w.append(e);
  await w.close();
}

describe('twinflow import / export / replay on bad input', () => {
  it('refuses a --fan-out past MAX_FAN_OUT with a usage error (exit 2) before building any room', async () => {
    const dir = tempDir();
    const csv = join(dir, 'uci.csv');
    writeFileSync(csv, CSV);
    const r = await run(['import', csv, '--out', join(dir, 'x.tfr'), '--fan-out', '200000000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^twinflow import: --fan-out must be an integer from 0 to 100000, got 200000000\n/);
  });

  it('refuses a --room whose events no replay would take with a usage error (exit 2), writing nothing', async () => {
    const dir = tempDir();
    const csv = join(dir, 'uci.csv');
    writeFileSync(csv, CSV);
    const mapping = join(dir, 'm.json');
    writeFileSync(mapping, JSON.stringify({ time: { column: 'Date' }, sensors: [{ path: 'x', fields: {} }] }));
    const out = join(dir, 'x.tfr');
    const room = '/org/o/site/s/building/1/floor/{floor}/unit/a/room/{room}';
    // Copy 0's path (377 bytes) fits in MAX_PATH_BYTES (900), the last copy's (1,457) does not.
    const long = `/a/${`${'{i}'.repeat(30)}/`.repeat(12)}b`;
    const cases: [string[], RegExp][] = [
      // A twin path, but not a room of the building model the UCI mapping is for.
      [
        ['--room', 'nonsense path'],
        /^twinflow import: --room "nonsense path": "nonsense path\/sensors\/climate" is not a sensor path of the building model \(\/org\/:org\/.*\/room\/:room\/sensors\/:sensor\)\n/,
      ],
      [
        ['--room', `${room}/`],
        /^twinflow import: --room ".*\{room\}\/": invalid twin path ".*room\/0\/\/sensors\/climate": empty segment\n/,
      ],
      [
        ['--room', '/a//b', '--mapping', mapping],
        /^twinflow import: --room "\/a\/\/b": invalid twin path "\/a\/\/b\/x": empty segment\n/,
      ],
      [['--room', '/a/#', '--mapping', mapping], /^twinflow import: --room "\/a\/#": .*'#' is reserved/],
      [['--room', long, '--mapping', mapping, '--fan-out', '1001'], /^twinflow import: --room .*longer than 900 bytes/],
    ];
    for (const [flags, message] of cases) {
      const r = await run(['import', csv, '--out', out, ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    // Without the leading slash (a twin path still), and under another set's mapping: imported.
    for (const flags of [
      ['--room', room.slice(1), '--fan-out', '12'],
      ['--room', '/a/b', '--mapping', mapping],
    ]) {
      const r = await run(['import', csv, '--out', out, ...flags]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
    }
  });

  it('reads a CSV that starts with a UTF-8 byte order mark (as Excel writes it)', async () => {
    const dir = tempDir();
    const csv = join(dir, 'bom.csv');
    writeFileSync(csv, '\ufeff' + CSV);
    const out = join(dir, 'x.tfr');
    const r = await run(['import', csv, '--out', out]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('wrote 6 events');
  });

  it('names the wrong field of a --mapping file (exit 2), never a TypeError', async () => {
    const dir = tempDir();
    const csv = join(dir, 'uci.csv');
    writeFileSync(csv, CSV);
    const cases: [unknown, RegExp][] = [
      [{ time: { column: 'Date' } }, /"sensors" must be a list of \{ path, fields \}, got undefined/],
      [null, /must be a JSON object \{ time, sensors \}, got null/],
      [{ sensors: [] }, /"time" must be an object/],
      [{ time: { column: 'Date', format: 'bogus' }, sensors: [] }, /"time.format" must be one of/],
      [{ time: { column: 'Date' }, sensors: [{ path: 'x', fields: null }] }, /"sensors\[0\].fields" must be/],
      [
        { time: { column: 'Date' }, sensors: [{ path: 'x', fields: { t: { column: 5 } } }] },
        /"sensors\[0\].fields.t.column" must be a string, got 5/,
      ],
    ];
    for (const [mapping, message] of cases) {
      const file = join(dir, 'm.json');
      writeFileSync(file, JSON.stringify(mapping));
      const r = await run(['import', csv, '--out', join(dir, 'x.tfr'), '--mapping', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^twinflow import: --mapping .*m\.json: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/Cannot read properties/);
    }
  });

  it('exports and replays what a cut recording holds, then warns and exits 1', async () => {
    const file = join(tempDir(), 'cut.tfr');
    await recording(file, events(1000));
    truncateSync(file, statSync(file).size - 10);
    const exp = await run(['export', file]);
    expect(exp.code).toBe(1);
    expect(exp.stdout.trim().split('\n')).toHaveLength(900);
    expect(exp.stderr).toMatch(
      /^twinflow export: warning: .*cut\.tfr ended inside a chunk at byte \d+: cut short or damaged; exported the events before it\n$/,
    );
    const rep = await run(['replay', file, '--json']);
    expect(rep.code).toBe(1);
    expect(JSON.parse(rep.stdout)).toMatchObject({ events: 900, truncated: true });
    expect(rep.stderr).toMatch(/^twinflow replay: warning: .*cut\.tfr ended inside a chunk at byte \d+: cut short/);
  });

  it('says "damaged" for a chunk length pointing past the end of a file whose later chunks exist', async () => {
    const file = join(tempDir(), 'lenflip.tfr');
    await recording(file, events(300));
    const bytes = readFileSync(file);
    const first = 8 + bytes.readUInt32LE(4);
    bytes[first + 3] = bytes[first + 3]! ^ 0x40; // the first chunk's length, now ~1 GB
    writeFileSync(file, bytes);
    const reader = await RecordingReader.open(file);
    for await (const chunk of reader.chunks()) void chunk;
    await reader.close();
    expect(reader).toMatchObject({ truncated: true, damaged: true, truncatedAt: first });
    const rep = await run(['replay', file]);
    expect(rep.code).toBe(1);
    expect(rep.stdout).toContain('replayed 0 events');
    expect(rep.stderr).toMatch(
      new RegExp(
        `^twinflow replay: warning: .*lenflip\\.tfr is damaged: the chunk length at byte ${first} points past`,
      ),
    );
    const exp = await run(['export', file]);
    expect(exp).toMatchObject({ code: 1, stdout: '' });
    expect(exp.stderr).toMatch(/lenflip\.tfr is damaged/);
  });

  it('exits 0 with no warning for a whole recording', async () => {
    const file = join(tempDir(), 'ok.tfr');
    await recording(file, events(250));
    const exp = await run(['export', file]);
    expect(exp).toMatchObject({ code: 0, stderr: '' });
    expect(exp.stdout.trim().split('\n')).toHaveLength(250);
  });

  it('names the event whose time no CloudEvents time can hold', async () => {
    const file = join(tempDir(), 'negtime.tfr');
    await recording(
      file,
      events(150, (i) => (i === 120 ? -1e300 : 1_700_000_000_000 + i)),
    );
    const exp = await run(['export', file]);
    expect(exp.code).toBe(1);
    expect(exp.stderr).toMatch(
      /^twinflow export: .*negtime\.tfr: event 120 \(counted from 0\): event "120" \(.*\/sensors\/climate\) has time -1e\+300, which no CloudEvents \(RFC 3339\) time can hold/,
    );
    expect(exp.stdout.trim().split('\n')).toHaveLength(100); // the chunk before it
  });
});
