import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TwinError } from '../errors.js';

/** One nats-server process of a {@link LocalNatsCluster}. */
export interface LocalNatsServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  process: ChildProcess | undefined;
}

export interface LocalNatsOptions {
  /** Where each server keeps its JetStream files (a subfolder per server). */
  readonly dir: string;
  /** Number of servers (1, or 3 for a replicated JetStream cluster). */
  readonly servers?: number;
  /** The nats-server binary (Debian's, installed by scripts/install-system-deps.sh). */
  readonly binary?: string;
  /**
   * Run each server in its own process group (default false), so a terminal's Ctrl-C
   * reaches only the parent, which can then stop the nodes before the servers.
   */
  readonly detached?: boolean;
  /**
   * Lines added to every server's configuration: an `authorization` block, a `tls` block
   * (tests of a secured space, docs/cluster.md "Securing NATS"). Default none.
   */
  readonly config?: string;
}

/**
 * nats-server processes with JetStream on 127.0.0.1, clustered when there are several:
 * what the cluster tests and `npm run cluster:demo` run twinflow nodes against. A server
 * can be killed (kill -9) and started again on the same port and store, as an operator's
 * restart would.
 *
 * @example
 * ```ts
 * const nats = await LocalNatsCluster.start({ dir: '/tmp/nats', servers: 3 });
 * // startNode({ cluster: { servers: nats.urls() } }) ...
 * await nats.stop();
 * ```
 */
export class LocalNatsCluster {
  private constructor(
    readonly servers: LocalNatsServer[],
    private readonly options: Required<LocalNatsOptions>,
    private readonly routePorts: number[],
  ) {}

  static async start(options: LocalNatsOptions): Promise<LocalNatsCluster> {
    const count = options.servers ?? 1;
    const full = {
      servers: count,
      binary: options.binary ?? 'nats-server',
      dir: options.dir,
      detached: options.detached ?? false,
      config: options.config ?? '',
    };
    const ports = await freePorts(count * 2);
    const servers = Array.from({ length: count }, (_, i) => ({
      name: `n${i + 1}`,
      port: ports[i]!,
      url: `nats://127.0.0.1:${ports[i]!}`,
      process: undefined,
    }));
    const cluster = new LocalNatsCluster(servers, full, ports.slice(count));
    await Promise.all(servers.map((_, i) => cluster.startServer(i)));
    return cluster;
  }

  /** The client URLs, for `--cluster`. */
  urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /** Starts server `index` (again) and resolves once it accepts clients. */
  async startServer(index: number): Promise<void> {
    const server = this.servers[index]!;
    const config = this.configFile(index);
    const child = spawn(this.options.binary, ['-c', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: this.options.detached,
    });
    server.process = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        log = (log + chunk.toString()).slice(-8192);
        if (log.includes('Server is ready')) {
          child.stderr.off('data', onData);
          child.stderr.resume();
          resolve();
        }
      };
      child.stderr.on('data', onData);
      child.once('error', (err) =>
        reject(new TwinError('TWIN_CONFIG_INVALID', `cannot run ${this.options.binary}: ${err.message}`)),
      );
      child.once('exit', (code) =>
        reject(new TwinError('TWIN_CONFIG_INVALID', `nats-server ${server.name} exited (${code}): ${log.trim()}`)),
      );
    });
  }

  /** kill -9 of server `index`: no goodbye to its routes or clients. */
  async killServer(index: number): Promise<void> {
    const child = this.servers[index]!.process;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.servers[index]!.process = undefined;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((_, i) => this.killServer(i)));
  }

  private configFile(index: number): string {
    const server = this.servers[index]!;
    const storeDir = join(this.options.dir, server.name);
    mkdirSync(storeDir, { recursive: true });
    const lines = [
      `server_name: ${server.name}`,
      `listen: 127.0.0.1:${server.port}`,
      `jetstream { store_dir: "${storeDir}" }`,
    ];
    if (this.servers.length > 1) {
      const routes = this.routePorts
        .filter((_, i) => i !== index)
        .map((p) => `nats-route://127.0.0.1:${p}`)
        .join(', ');
      lines.push(`cluster { name: twinflow; listen: 127.0.0.1:${this.routePorts[index]!}; routes: [${routes}] }`);
    }
    if (this.options.config !== '') lines.push(this.options.config);
    const file = join(this.options.dir, `${server.name}.conf`);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }
}

/** `count` distinct ports the kernel calls free now (bound to port 0 together, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
