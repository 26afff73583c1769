import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalNatsCluster } from '../cluster/local-nats.js';
import { readSpaceStatus } from '../cluster/space-status.js';
import { parseFlags, readNumber } from '../node/config/flags.js';

export const DEMO_USAGE = `twinflow cluster demo [options]   (npm run cluster:demo)

  Starts a twin space on this machine: nats-servers with JetStream (clustered, R3, data in a
  temp dir) and \`twinflow serve --cluster\` nodes on 127.0.0.1, waits until every vshard has an
  owner, and prints how to reach each node and a \`cluster status\` command. Ctrl-C stops it
  all: the nodes hand their vshards off, then the nats-servers stop and the temp dir goes.

  --nodes <n>               twinflow nodes (default 3)
  --nats-servers <1|3|5>    nats-servers, and the replicas of the space's streams (default 3)
  --http-port <port>        HTTP port of the first node, the next ones count up (default 9001; 0: any free)
  --mqtt-port <port>        MQTT port of the first node, likewise (default 1883; 0: any free)
  --cluster-vshards <n>     vshards of the space (default 256)
  --keep                    keep the temp dir (nats data, node logs) on exit
`;

const FLAGS = {
  nodes: { type: 'string' },
  'nats-servers': { type: 'string' },
  'http-port': { type: 'string' },
  'mqtt-port': { type: 'string' },
  'cluster-vshards': { type: 'string' },
  keep: { type: 'boolean' },
} as const;

/** How long a node may take to print its "serving" line, and to stop after SIGTERM. */
const START_MS = 60_000;
const STOP_MS = 20_000;

interface DemoNode {
  readonly id: string;
  readonly child: ChildProcess;
  readonly log: string;
  readonly exited: Promise<void>;
  url?: string;
  warp?: string;
  mqtt?: string;
}

const out = (line = ''): void => void process.stdout.write(line + '\n');

/**
 * `twinflow cluster demo`: a whole cluster on loopback, for trying it by hand. Every
 * process it starts runs in its own process group, so the terminal's Ctrl-C reaches only
 * the demo, which then stops them in order (nodes first, so they hand off while NATS
 * is still there).
 */
export async function clusterDemo(argv: string[]): Promise<number> {
  let settings;
  try {
    const { values } = parseFlags({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
    const num = (name: keyof typeof FLAGS, fallback: number, min: number, max: number): number =>
      values[name] === undefined
        ? fallback
        : readNumber(`--${name}`, String(values[name]), { integer: true, min, max });
    settings = {
      nodes: num('nodes', 3, 1, 16),
      natsServers: num('nats-servers', 3, 1, 5),
      httpPort: num('http-port', 9001, 0, 65535),
      mqttPort: num('mqtt-port', 1883, 0, 65535),
      vshards: num('cluster-vshards', 256, 1, 4096),
      keep: values.keep === true,
    };
    if (![1, 3, 5].includes(settings.natsServers)) throw new Error('--nats-servers must be 1, 3 or 5');
  } catch (err) {
    process.stderr.write(`twinflow cluster demo: ${(err as Error).message}\n\n${DEMO_USAGE}`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'twinflow-cluster-demo-'));
  let stop!: () => void;
  const stopping = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let nats: LocalNatsCluster | undefined;
  const nodes: DemoNode[] = [];
  try {
    nats = await LocalNatsCluster.start({ dir: join(dir, 'nats'), servers: settings.natsServers, detached: true });
    const urls = nats.urls().join(',');
    out(`twinflow cluster demo: ${settings.natsServers} nats-server(s), ${settings.nodes} node(s); files in ${dir}`);
    out(`  nats      ${urls}  (pids ${nats.servers.map((s) => s.process?.pid).join(' ')})`);
    const port = (base: number, i: number): number => (base === 0 ? 0 : base + i);
    for (let i = 0; i < settings.nodes; i++)
      nodes.push(
        startNode(`node-${i + 1}`, dir, [
          ...['--port', String(port(settings.httpPort, i)), '--mqtt-port', String(port(settings.mqttPort, i))],
          ...['--cluster', urls, '--node-id', `node-${i + 1}`],
          ...['--cluster-replicas', String(settings.natsServers), '--cluster-vshards', String(settings.vshards)],
        ]),
      );
    await Promise.race([Promise.all(nodes.map(serving)), stopping]);
    for (const n of nodes)
      out(
        `  ${n.id.padEnd(8)}  http ${n.url ?? '?'}  warp ${n.warp ?? '?'}  mqtt ${n.mqtt ?? 'off'}  pid ${n.child.pid}  log ${n.log}`,
      );
    const settled = await Promise.race([ownedByAll(urls, settings.vshards, nodes.length, stopping), stopping]);
    if (settled) {
      out(`every vshard has an owner (${settled})`);
      const [first, last] = [nodes[0]!, nodes[nodes.length - 1]!];
      const room = '/org/demo/site/s/building/1/floor/1/unit/a/room/1';
      out();
      out('try:');
      out(
        `  curl -X POST ${first.url}/events -H 'content-type: application/json' -d '{"subject":"${room}/sensors/climate","data":{"temperature":22.5,"humidity":40}}'`,
      );
      out(`  curl ${last.url}/twins${room}`);
      out(`  node --import tsx src/cli/main.ts cluster status --cluster ${urls} --cluster-vshards ${settings.vshards}`);
      out('Ctrl-C stops everything.');
    }
    await stopping;
    return 0;
  } catch (err) {
    process.stderr.write(`twinflow cluster demo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    out('stopping: the nodes hand their vshards off, then the nats-servers stop');
    await Promise.all(nodes.map((n) => stopProcess(n.child, n.exited)));
    if (nats) await Promise.all(nats.servers.flatMap((s) => (s.process ? [stopProcess(s.process)] : [])));
    if (settings.keep) out(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** `twinflow serve` as a child of this process (same Node, same loader), its output to a log file. */
function startNode(id: string, dir: string, args: string[]): DemoNode {
  const log = join(dir, `${id}.log`);
  const file = createWriteStream(log);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the terminal's Ctrl-C is for the demo, which stops it in order
  });
  child.stdout.pipe(file);
  child.stderr.pipe(file);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { id, child, log, exited };
}

/** Resolves once the node printed its "serving" line (with its URLs); rejects if it exits first. */
function serving(node: DemoNode): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`${node.id} did not serve within ${START_MS / 1000} s; see ${node.log}`)),
      START_MS,
    );
    node.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.includes('twinflow is serving')) continue;
        const parsed = JSON.parse(line) as { url: string; warp: string; mqtt: string };
        Object.assign(node, { url: parsed.url, warp: parsed.warp, mqtt: parsed.mqtt });
        clearTimeout(timer);
        resolve();
      }
    });
    void node.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${node.id} exited before serving; see ${node.log}`));
    });
  });
}

/** Polls `cluster status` until every vshard is owned by one of `nodes` live nodes; the split, as text. */
async function ownedByAll(urls: string, vshards: number, nodes: number, stopping: Promise<void>): Promise<string> {
  let stopped = false;
  void stopping.then(() => (stopped = true));
  while (!stopped) {
    const status = await readSpaceStatus({ servers: urls.split(','), vshards }).catch(() => undefined);
    if (
      status &&
      status.unowned.length === 0 &&
      status.nodes.length === nodes &&
      status.nodes.every((n) => n.vshards.length > 0)
    )
      return status.nodes.map((n) => `${n.id}: ${n.vshards.length}`).join(', ');
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return '';
}

/** SIGTERM, then SIGKILL if it has not exited within {@link STOP_MS}. */
async function stopProcess(child: ChildProcess, exited?: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited ?? new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_MS)));
  if ((await Promise.race([gone, late])) === 'late') {
    child.kill('SIGKILL');
    await gone;
  }
  clearTimeout(timer);
}
