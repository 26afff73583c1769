import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { UCI_MAPPING, type CsvMapping } from '../recording/csv-mapping.js';
import { planCsvImport } from '../recording/csv-import-plan.js';
import { writeCsvImport } from '../recording/csv-recording.js';
import { fleetPaths, generateFleet, type FleetOptions } from '../../models/fleet.js';
import { toJsonLine } from '../recording/jsonl.js';
import { RecordingReader } from '../recording/recording-reader.js';
import { RecordingWriter } from '../recording/recording-writer.js';
import { parseFlags, readNumber } from '../node/config/flags.js';
import { SERVE_FLAGS, serveConfigFrom, serveHelp } from '../node/config/serve-config.js';
import { createLogger } from '../logger.js';
import { startNode } from '../node/node.js';
import { fmtCount, fmtRate } from './progress.js';
import { publishEvents } from '../recording/mqtt-publish.js';
import { startRecording } from '../recording/recorder.js';

export const GENERATE_USAGE = `twinflow generate --seed <n> (--out <file.tfr> | --mqtt <url>) [options]

  --seed <n>               random seed (required): same seed and options, same events
  --sites, --buildings, --floors, --units, --rooms <n>
                           fleet shape (default 2 × 5 × 10 × 10 × 10 rooms × 4 sensors = 40,000 sensors)
  --events <n>             stop after n events (default: one day of readings)
  --interval <ms>          each sensor reports once per interval (default 60000)
  --start <iso>            event time of the first reading (default 2026-01-05T00:00:00Z)
  --out <file>             write a recording
  --mqtt <url>             publish to a broker instead (structured CloudEvents, arrival time)
  --rate <n>               MQTT: events per second (default 1000)
  --qos <0|1>              MQTT: QoS (default 0)
  --prefix <topic/>        MQTT: topic prefix the node maps (default none)
`;

export const IMPORT_USAGE = `twinflow import <file.csv> --out <file.tfr> [options]

  --uci                    the UCI occupancy mapping (default): climate + occupancy of one room
  --mapping <file.json>    a CsvMapping: { time: { column, format }, sensors: [{ path, fields }] }
  --fan-out <n>            spread the file over n rooms (default 1)
  --time-shift <ms>        copy i is shifted by i × ms (default 7000)
  --room <template>        room path; {i}, {floor} = i / 10, {room} = i % 10
`;

export const EXPORT_USAGE = `twinflow export <file.tfr> [--out <file.jsonl>]   (JSON Lines CloudEvents; default stdout)\n`;

export const RECORD_USAGE = `twinflow record --out <file.tfr> [serve options]

  Serves like \`twinflow serve\` and records every accepted event until SIGINT/SIGTERM.
${serveHelp()}`;

const out = (s: string): void => void process.stdout.write(s);

function fail(cmd: string, usage: string, err: unknown): number {
  process.stderr.write(`twinflow ${cmd}: ${(err as Error).message}\n\n${usage}`);
  return 2;
}

function int(name: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : readNumber(`--${name}`, raw, { integer: true });
}

/** `twinflow generate`: a seeded synthetic fleet to a recording or over MQTT. */
export async function generateCommand(argv: string[]): Promise<number> {
  let fleet: FleetOptions;
  let v;
  try {
    ({ values: v } = parseFlags({
      args: argv, strict: true,
      options: {
        seed: { type: 'string' }, sites: { type: 'string' }, buildings: { type: 'string' }, floors: { type: 'string' }, units: { type: 'string' },
        rooms: { type: 'string' }, events: { type: 'string' }, interval: { type: 'string' }, start: { type: 'string' },
        out: { type: 'string' }, mqtt: { type: 'string' }, rate: { type: 'string' }, qos: { type: 'string' }, prefix: { type: 'string' },
      },
    }));
    const seed = int('seed', v.seed);
    if (seed === undefined) throw new Error('--seed is required (a generated fleet is always reproducible)');
    if ((v.out === undefined) === (v.mqtt === undefined)) throw new Error('give exactly one of --out and --mqtt');
    const start = v.start === undefined ? undefined : Date.parse(v.start);
    if (start !== undefined && !Number.isFinite(start)) throw new Error(`--start: cannot read ${v.start}`);
    fleet = {
      seed, sites: int('sites', v.sites), buildings: int('buildings', v.buildings), floors: int('floors', v.floors), units: int('units', v.units),
      rooms: int('rooms', v.rooms), events: int('events', v.events), intervalMs: int('interval', v.interval), start,
    };
    if (v.qos !== undefined && v.qos !== '0' && v.qos !== '1') throw new Error('--qos must be 0 or 1');
  } catch (err) {
    return fail('generate', GENERATE_USAGE, err);
  }
  const sensors = fleetPaths(fleet).length;
  if (v.mqtt) {
    const r = await publishEvents(v.mqtt, generateFleet(fleet), { rate: int('rate', v.rate) ?? 1000, qos: v.qos === '1' ? 1 : 0, prefix: v.prefix ?? '' });
    out(`published ${fmtCount(r.published)} events of ${fmtCount(sensors)} sensors to ${v.mqtt} in ${(r.wallMs / 1000).toFixed(1)} s (${fmtRate(r.published / (r.wallMs / 1000))}/s)\n`);
    return 0;
  }
  const writer = RecordingWriter.create(v.out!, { created: 0, meta: { generator: 'twinflow generate', ...fleet } });
  for (const chunk of generateFleet(fleet)) {
    for (const e of chunk) writer.append(e);
    await writer.ready();
  }
  await writer.close();
  out(`wrote ${fmtCount(writer.count)} events of ${fmtCount(sensors)} sensors to ${v.out}\n`);
  return 0;
}

/** `twinflow import`: CSV with a column mapping to a recording. */
export async function importCommand(argv: string[]): Promise<number> {
  let parsed;
  let mapping: CsvMapping = UCI_MAPPING;
  let fanOut: number | undefined;
  let timeShiftMs: number | undefined;
  try {
    parsed = parseFlags({
      args: argv, strict: true, allowPositionals: true,
      options: { out: { type: 'string' }, uci: { type: 'boolean' }, mapping: { type: 'string' }, 'fan-out': { type: 'string' }, 'time-shift': { type: 'string' }, room: { type: 'string' } },
    });
    if (parsed.positionals.length !== 1 || !parsed.values.out) throw new Error('expected one CSV file and --out');
    if (parsed.values.mapping) mapping = JSON.parse(readFileSync(parsed.values.mapping, 'utf8')) as CsvMapping;
    fanOut = int('fan-out', parsed.values['fan-out']);
    timeShiftMs = int('time-shift', parsed.values['time-shift']);
  } catch (err) {
    return fail('import', IMPORT_USAGE, err);
  }
  const v = parsed.values;
  const file = parsed.positionals[0]!;
  const plan = planCsvImport(readFileSync(file, 'utf8'), mapping, { fanOut, timeShiftMs, room: v.room });
  const writer = RecordingWriter.create(v.out!, { created: 0, meta: { importedFrom: file, fanOut: fanOut ?? 1 } });
  try {
    await writeCsvImport(plan, writer);
  } finally {
    await writer.close();
  }
  out(`wrote ${fmtCount(writer.count)} events to ${v.out}\n`);
  return 0;
}

/** `twinflow export`: a recording as JSON Lines CloudEvents. */
export async function exportCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { out: { type: 'string' } } });
    if (parsed.positionals.length !== 1) throw new Error('expected one recording file');
  } catch (err) {
    return fail('export', EXPORT_USAGE, err);
  }
  const reader = await RecordingReader.open(parsed.positionals[0]!);
  const sink = parsed.values.out ? createWriteStream(parsed.values.out) : process.stdout;
  // A write error is an 'error' event, which would crash the process unhandled; a reader
  // that closed early (`twinflow export x.tfr | head`) is EPIPE and ends the export quietly.
  let broken: NodeJS.ErrnoException | undefined;
  sink.on('error', (err: NodeJS.ErrnoException) => void (broken ??= err));
  try {
    for await (const chunk of reader.chunks()) {
      if (broken) break;
      if (!sink.write(chunk.map(toJsonLine).join(''))) await once(sink, 'drain').catch(() => undefined);
    }
  } finally {
    await reader.close();
    if (sink !== process.stdout) {
      if (broken) sink.destroy();
      else await new Promise<void>((r) => sink.end(() => r()));
    }
  }
  if (broken && broken.code !== 'EPIPE') throw broken;
  return 0;
}

/** `twinflow record`: serve and record every accepted event until a signal. */
export async function recordCommand(argv: string[]): Promise<number> {
  let file: string | undefined;
  let config;
  try {
    // The serve flags plus --out, parsed together so every form parseArgs knows works (--out=f).
    const { values } = parseFlags({ args: argv, options: { ...SERVE_FLAGS, out: { type: 'string' } }, strict: true });
    file = values.out;
    if (!file) throw new Error('--out <file.tfr> is required');
    config = serveConfigFrom(values, process.env);
  } catch (err) {
    return fail('record', RECORD_USAGE, err);
  }
  const logger = createLogger(config.logLevel);
  // Same node as `serve` (workers default to the core count, so they need the model source).
  const node = await startNode({ models: buildingModels(), modelSource: buildingModelSource(), logLevel: config.logLevel, host: config.host, port: config.port, logger, ...config.ingestion, ...config.storage, ...config.limits, ...config.fronts });
  const rec = startRecording(node.runtime, file, { meta: { command: 'twinflow record' } });
  logger.info({ url: node.url, mqtt: node.ingestion.mqtt?.url ?? 'off', recording: file }, 'twinflow is serving the building model and recording');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await node.close(); // fronts first: everything accepted is committed, hence recorded
  await rec.stop();
  logger.info({ recording: file, events: rec.count }, 'recording closed');
  return 0;
}
