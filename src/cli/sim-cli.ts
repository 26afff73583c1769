import { startServeNode } from './serve-node.js';
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import {
  checkCsvMapping,
  DEFAULT_ROOM_TEMPLATE,
  MAX_FAN_OUT,
  roomPathOf,
  UCI_MAPPING,
  type CsvMapping,
} from '../recording/csv-mapping.js';
import { planCsvImport } from '../recording/csv-import-plan.js';
import { writeCsvImport } from '../recording/csv-recording.js';
import { isIsoTime, toJsonLine } from '../recording/jsonl.js';
import { RecordingReader } from '../recording/recording-reader.js';
import { RecordingWriter } from '../recording/recording-writer.js';
import { parseFlags, readNumber } from '../node/config/flags.js';
import { SERVE_FLAGS, serveConfigFrom, serveHelp } from '../node/config/serve-config.js';
import { fmtCount, fmtRate, progressBar } from './progress.js';
import { publishEvents } from '../recording/mqtt-publish.js';
import { startRecording } from '../recording/recorder.js';
import type { FleetRun } from '../model/model-set.js';
import { describeSet, MODEL_FLAGS, ModelFlagError, modelSetFromFlags, MODELS_HELP } from './model-flags.js';
import { TwinPath } from '../topology/path.js';
import { modelSet as buildingSet } from '../../models/index.js';

const GENERATE_HEAD = `twinflow generate --seed <n> (--out <file.tfr> | --mqtt <url>) [--models <module>] [options]

  Writes (or publishes) the synthetic fleet of the model set (its \`fleet\` in defineModelSet).
  --seed <n>               random seed (required): same seed and options, same events
  --events <n>             stop after n events (default: the generator's, one day of readings for the building)
  --interval <ms>          each source reports once per interval (default: the generator's, 60000 for the building)
  --start <iso>            event time of the first reading (default: the generator's, 2026-01-05T00:00:00Z for the building)
  --out <file>             write a recording
  --mqtt <url>             publish to a broker instead (structured CloudEvents, arrival time)
  --rate <n>               MQTT: events per second (default 1000)
  --qos <0|1>              MQTT: QoS (default 0)
  --prefix <topic/>        MQTT: topic prefix the node maps (default none)
  --models <module>[#export]  the model set (default: the building set; see twinflow serve --help)
`;

/** Usage of `generate` with the fleet shape flags of a set (the building's without --models). */
export function generateUsage(shape: Readonly<Record<string, number>> | undefined, setName: string): string {
  const dims = Object.entries(shape ?? {});
  const lines =
    dims.length === 0
      ? [`  (model set ${setName} has no fleet generator)`]
      : [
          `  fleet shape of model set ${setName} (flag, default):`,
          ...dims.map(([k, d]) => `  --${k} <n>`.padEnd(27) + `default ${d}`),
        ];
  return GENERATE_HEAD + lines.join('\n') + '\n';
}

export const GENERATE_USAGE = generateUsage({ sites: 2, buildings: 5, floors: 10, units: 10, rooms: 10 }, 'building');

export const IMPORT_USAGE = `twinflow import <file.csv> --out <file.tfr> [options]

  --uci                    the UCI occupancy mapping (default): climate + occupancy of one room
  --mapping <file.json>    a CsvMapping: { time: { column, format }, sensors: [{ path, fields }] }
  --fan-out <n>            spread the file over n rooms (default 1, at most ${MAX_FAN_OUT})
  --time-shift <ms>        copy i is shifted by i × ms (default 7000)
  --room <template>        room path; {i}, {floor} = i / 10, {room} = i % 10
`;

export const EXPORT_USAGE = `twinflow export <file.tfr> [--out <file.jsonl>]   (JSON Lines CloudEvents; default stdout)\n`;

export const RECORD_USAGE = `twinflow record --out <file.tfr> [serve options]

  Serves like \`twinflow serve\` and records every accepted event until SIGINT/SIGTERM.
${serveHelp()}${MODELS_HELP}`;

const out = (s: string): void => void process.stdout.write(s);

function fail(cmd: string, usage: string, err: unknown): number {
  process.stderr.write(`twinflow ${cmd}: ${(err as Error).message}\n\n${usage}`);
  return 2;
}

function int(name: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : readNumber(`--${name}`, raw, { integer: true });
}

const GENERATE_FLAGS = {
  seed: { type: 'string' },
  events: { type: 'string' },
  interval: { type: 'string' },
  start: { type: 'string' },
  out: { type: 'string' },
  mqtt: { type: 'string' },
  rate: { type: 'string' },
  qos: { type: 'string' },
  prefix: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  models: MODEL_FLAGS.models,
} as const;

/** `twinflow generate`: the model set's seeded synthetic fleet to a recording or over MQTT. */
export async function generateCommand(argv: string[]): Promise<number> {
  // The shape flags are the set's own (--levels, --spots): find the set first, then parse for real.
  let models: string | undefined;
  try {
    models = parseFlags({ args: argv, options: GENERATE_FLAGS, strict: false }).values.models as string | undefined;
  } catch (err) {
    return fail('generate', GENERATE_USAGE, err);
  }
  const set = await modelSetFromFlags({ models });
  const fleet = set.fleet;
  const usage = generateUsage(fleet?.shape, set.name);
  const shapeFlags = Object.fromEntries(Object.keys(fleet?.shape ?? {}).map((k) => [k, { type: 'string' as const }]));
  let run: FleetRun;
  let v;
  try {
    ({ values: v } = parseFlags({ args: argv, strict: true, options: { ...GENERATE_FLAGS, ...shapeFlags } }));
    if (v.help) {
      out(usage);
      return 0;
    }
    if (!fleet)
      throw new ModelFlagError(
        `model set ${set.name} has no fleet generator (\`fleet\` in defineModelSet); record live traffic with twinflow record, or import a CSV`,
      );
    const seed = int('seed', v.seed);
    if (seed === undefined) throw new Error('--seed is required (a generated fleet is always reproducible)');
    if ((v.out === undefined) === (v.mqtt === undefined)) throw new Error('give exactly one of --out and --mqtt');
    const start = v.start === undefined ? undefined : Date.parse(v.start);
    if (start !== undefined && !Number.isFinite(start)) throw new Error(`--start: cannot read ${v.start}`);
    const values = v as Record<string, string | boolean | undefined>;
    const shape = Object.fromEntries(
      Object.entries(fleet.shape as Record<string, number>).map(([k, d]) => [
        k,
        int(k, values[k] as string | undefined) ?? d,
      ]),
    );
    run = {
      seed,
      shape,
      events: int('events', v.events),
      intervalMs: int('interval', v.interval),
      start,
    };
    if (v.qos !== undefined && v.qos !== '0' && v.qos !== '1') throw new Error('--qos must be 0 or 1');
  } catch (err) {
    if (err instanceof ModelFlagError) throw err;
    return fail('generate', usage, err);
  }
  const sources = fleet.sources(run.shape);
  const bar = progressBar(v.mqtt ? 'publish ' : 'generate ', run.events);
  if (v.mqtt) {
    const r = await publishEvents(v.mqtt, fleet.generate(run), {
      rate: int('rate', v.rate) ?? 1000,
      qos: v.qos === '1' ? 1 : 0,
      prefix: v.prefix ?? '',
      onProgress: bar.update,
    }).finally(bar.end);
    out(
      `published ${fmtCount(r.published)} events of ${fmtCount(sources)} sources to ${v.mqtt} in ${(r.wallMs / 1000).toFixed(1)} s (${fmtRate(r.published / (r.wallMs / 1000))}/s)\n`,
    );
    return 0;
  }
  const writer = RecordingWriter.create(v.out as string, {
    created: 0,
    meta: {
      generator: 'twinflow generate',
      ...describeSet(set),
      seed: run.seed,
      ...run.shape,
      events: run.events,
      intervalMs: run.intervalMs,
      start: run.start,
    },
  });
  try {
    for (const chunk of fleet.generate(run)) {
      for (const e of chunk) writer.append(e);
      await writer.ready();
      bar.update(writer.count);
    }
  } finally {
    bar.end();
  }
  await writer.close();
  out(`wrote ${fmtCount(writer.count)} events of ${fmtCount(sources)} sources to ${v.out}\n`);
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
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        uci: { type: 'boolean' },
        mapping: { type: 'string' },
        'fan-out': { type: 'string' },
        'time-shift': { type: 'string' },
        room: { type: 'string' },
      },
    });
    if (parsed.positionals.length !== 1 || !parsed.values.out) throw new Error('expected one CSV file and --out');
    if (parsed.values.mapping) {
      const file = parsed.values.mapping;
      mapping = checkCsvMapping(JSON.parse(readFileSync(file, 'utf8')), `--mapping ${file}`);
    }
    const rawFanOut = parsed.values['fan-out'];
    fanOut =
      rawFanOut === undefined ? undefined : readNumber('--fan-out', rawFanOut, { integer: true, max: MAX_FAN_OUT });
    timeShiftMs = int('time-shift', parsed.values['time-shift']);
    if (parsed.values.room !== undefined) checkRoom(parsed.values.room, mapping, fanOut ?? 1);
  } catch (err) {
    return fail('import', IMPORT_USAGE, err);
  }
  const v = parsed.values;
  const file = parsed.positionals[0]!;
  const plan = planCsvImport(readFileSync(file, 'utf8'), mapping, { fanOut, timeShiftMs, room: v.room });
  const writer = RecordingWriter.create(v.out!, { created: 0, meta: { importedFrom: file, fanOut: fanOut ?? 1 } });
  const bar = progressBar('import ', plan.events);
  try {
    await writeCsvImport(plan, writer, bar.update);
  } finally {
    bar.end();
    await writer.close();
  }
  out(`wrote ${fmtCount(writer.count)} events to ${v.out}\n`);
  return 0;
}

/**
 * Refuses a `--room` template whose events no replay would take, before anything is
 * written: every sensor path under it (an event's subject) must be a twin path, and under
 * the UCI mapping, made for the building set's rooms, a path the building set routes to
 * the model the default rooms' sensors have. A user's `--mapping` may be meant for another
 * set (`replay --models`), so only the syntax is checked for it.
 */
function checkRoom(template: string, mapping: CsvMapping, fanOut: number): void {
  const flag = `--room ${JSON.stringify(template)}`;
  const models = mapping === UCI_MAPPING ? buildingSet.models() : [];
  const modelOf = (path: TwinPath) => models.find((m) => m.route.test(path));
  // Copies differ only in the digits put for {i}, {floor} and {room}: a digit makes no
  // segment empty, reserved or a building route's literal (all words), so whether a path
  // parses and routes is the same for every copy except its length, which is longest last.
  for (const copy of new Set([0, Math.max(0, fanOut - 1)])) {
    for (const sensor of mapping.sensors) {
      const subject = `${roomPathOf(template, copy)}/${sensor.path}`;
      let path: TwinPath;
      try {
        path = TwinPath.parse(subject);
      } catch (err) {
        throw new Error(`${flag}: ${(err as Error).message}`, { cause: err });
      }
      if (models.length === 0) continue;
      const meant = modelOf(TwinPath.parse(`${roomPathOf(DEFAULT_ROOM_TEMPLATE, 0)}/${sensor.path}`));
      if (meant && modelOf(path) !== meant)
        throw new Error(
          `${flag}: ${JSON.stringify(subject)} is not a ${meant.name} path of the building model (${meant.route.text})`,
        );
    }
  }
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
  let index = 0; // of the first event of the chunk
  try {
    for await (const chunk of reader.chunks()) {
      if (broken) break;
      let lines;
      try {
        lines = chunk.map(toJsonLine).join('');
      } catch (err) {
        const at = index + chunk.findIndex((e) => !isIsoTime(e.time));
        throw new Error(`${parsed.positionals[0]!}: event ${at} (counted from 0): ${(err as Error).message}`, {
          cause: err,
        });
      }
      index += chunk.length;
      if (!sink.write(lines)) await once(sink, 'drain').catch(() => undefined);
    }
  } finally {
    await reader.close();
    if (sink !== process.stdout) {
      if (broken) sink.destroy();
      else await new Promise<void>((r) => sink.end(() => r()));
    }
  }
  if (broken && broken.code !== 'EPIPE') throw broken;
  // What was read is exported; a cut or damaged file is still a failure.
  if (!broken && reader.truncated) {
    process.stderr.write(`twinflow export: warning: ${reader.stopReason()}; exported the events before it\n`);
    return 1;
  }
  return 0;
}

/** `twinflow record`: serve and record every accepted event until a signal. */
export async function recordCommand(argv: string[]): Promise<number> {
  let file: string | undefined;
  let config;
  let values;
  try {
    // The serve flags plus --out, parsed together so every form parseArgs knows works (--out=f).
    ({ values } = parseFlags({
      args: argv,
      options: { ...SERVE_FLAGS, ...MODEL_FLAGS, out: { type: 'string' } },
      strict: true,
    }));
    file = values.out;
    if (!file) throw new Error('--out <file.tfr> is required');
    config = serveConfigFrom(values, process.env);
  } catch (err) {
    return fail('record', RECORD_USAGE, err);
  }
  const modelSet = await modelSetFromFlags(values);
  // Same node as `serve` (workers default to the core count; they import the set's module).
  const { node, logger } = await startServeNode(config, modelSet);
  const rec = startRecording(node.runtime, file, { meta: { command: 'twinflow record', ...describeSet(modelSet) } });
  logger.info(
    {
      url: node.url,
      warp: node.warpUrl,
      mqtt: node.ingestion.mqtt?.url ?? 'off',
      admin: node.adminUrl,
      recording: file,
      ...describeSet(modelSet),
    },
    `twinflow is serving the ${modelSet.name} model and recording`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await node.close(); // fronts first: everything accepted is committed, hence recorded
  await rec.stop();
  logger.info({ recording: file, events: rec.count }, 'recording closed');
  return 0;
}
