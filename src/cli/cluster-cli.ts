import { readSpaceStatus, type SpaceStatus, type VshardStatus } from '../cluster/space-status.js';
import { parseFlags } from '../node/config/flags.js';
import { NATS_AUTH_FLAGS, NATS_AUTH_HELP, natsAuthFromFlags } from '../node/config/nats-auth-config.js';
import { clusterDemo, DEMO_USAGE } from './cluster-demo.js';

export const STATUS_USAGE = `twinflow cluster status --cluster <urls> [options]

  Reads a twin space straight from its NATS servers (no node needed) and prints its live
  nodes (start, age of the last heartbeat, vshards held), then the vshards that need a look:
  unowned, held by a node no longer live, or behind their input (docs/cluster-operations.md).

  --cluster <urls>          NATS servers, comma-separated (env TWINFLOW_CLUSTER)
  --cluster-space <name>    the twin space (default twinflow)
  --cluster-vshards <n>     vshards of the space (default: the count the space recorded)
  --all                     a row for every vshard, not only those that need a look
  --json                    the whole status as JSON (for scripts), every vshard included
${NATS_AUTH_HELP}`;

export const CLUSTER_USAGE = `${STATUS_USAGE}\n${DEMO_USAGE}`;

const FLAGS = {
  cluster: { type: 'string' },
  'cluster-space': { type: 'string' },
  'cluster-vshards': { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  ...NATS_AUTH_FLAGS,
} as const;

/** `twinflow cluster status`: the state of a twin space, from NATS; `twinflow cluster demo`: a cluster on loopback. */
export async function clusterCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'demo') return clusterDemo(rest);
  if (sub !== 'status') {
    process.stderr.write(CLUSTER_USAGE);
    return 2;
  }
  let values;
  let auth;
  try {
    ({ values } = parseFlags({ args: rest, options: FLAGS, strict: true, allowPositionals: false }));
    auth = natsAuthFromFlags(values, process.env);
  } catch (err) {
    process.stderr.write(`twinflow cluster: ${(err as Error).message}\n\n${STATUS_USAGE}`);
    return 2;
  }
  const servers = (values.cluster ?? process.env.TWINFLOW_CLUSTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const vshards = values['cluster-vshards'] === undefined ? undefined : Number(values['cluster-vshards']);
  if (
    servers.length === 0 ||
    (vshards !== undefined && !(Number.isInteger(vshards) && vshards >= 1 && vshards <= 4096))
  ) {
    process.stderr.write(
      `twinflow cluster: ${servers.length === 0 ? '--cluster <urls> is required' : '--cluster-vshards must be an integer from 1 to 4096'}\n\n${STATUS_USAGE}`,
    );
    return 2;
  }
  const status = await readSpaceStatus({
    servers,
    ...(auth !== undefined && { auth }),
    space: values['cluster-space'],
    ...(vshards !== undefined && { vshards }),
  });
  process.stdout.write(values.json ? JSON.stringify(status, null, 2) + '\n' : statusTable(status, values.all === true));
  return 0;
}

/**
 * The status for people: a summary line, one row per live node, then one row per vshard
 * that needs a look (every vshard with `all`).
 */
export function statusTable(status: SpaceStatus, all = false): string {
  const pending = status.vshards.reduce((n, v) => n + v.pending, 0);
  const lines = [
    `twin space "${status.space}": ${status.nodes.length} live node(s), ${status.vshards.length} vshards, ` +
      `${status.unowned.length} unowned, ${pending} input message(s) pending` +
      (status.staleOwners.length > 0 ? `, leases still held by gone node(s): ${status.staleOwners.join(', ')}` : ''),
    '',
    ...table(
      ['NODE', 'STARTED', 'HEARTBEAT', 'VSHARDS', 'HELD', 'HTTP'],
      status.nodes.map((n) => [
        n.id,
        new Date(n.startedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
        `${seconds(n.heartbeatAgeMs)} ago`,
        String(n.vshards.length),
        ranges(n.vshards),
        n.http ?? '-',
      ]),
    ),
    '',
  ];
  const live = new Set(status.nodes.map((n) => n.id));
  const shown = status.vshards.filter(
    (v) =>
      all ||
      v.owner === undefined ||
      !live.has(v.owner) ||
      v.pending > 0 ||
      v.inputLast > v.watermark ||
      v.unreadableHead === true,
  );
  if (shown.length === 0) {
    lines.push('every vshard is owned by a live node and has applied its input (--all lists them)');
  } else {
    if (!all)
      lines.push(
        'vshards that need a look (unowned, owner gone, behind their input, or a state log message no node wrote):',
      );
    lines.push(
      ...table(
        ['VSHARD', 'OWNER', 'EPOCH', 'LEASE REV', 'RENEWED', 'INPUT SEQ', 'APPLIED (w)', 'PENDING'],
        shown.map((v) => vshardRow(v, live)),
      ),
    );
    lines.push(
      '',
      'EPOCH: the lease create revision under which the state log was last written (the fencing token);',
      'LEASE REV: the lease key’s current revision (each renewal bumps it); APPLIED (w): highest input sequence in the state.',
    );
  }
  return lines.join('\n') + '\n';
}

function vshardRow(v: VshardStatus, live: ReadonlySet<string>): string[] {
  const owner = v.owner === undefined ? '(none)' : live.has(v.owner) ? v.owner : `${v.owner} (gone)`;
  return [
    String(v.vshard),
    owner,
    v.unreadableHead ? "? (not a node's)" : v.epoch === undefined ? '-' : String(v.epoch),
    v.leaseRevision === undefined ? '-' : String(v.leaseRevision),
    v.leaseAgeMs === undefined ? '-' : `${seconds(v.leaseAgeMs)} ago`,
    String(v.inputLast),
    String(v.watermark),
    String(v.pending),
  ];
}

/** Left-aligned columns, two spaces apart. */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Ascending numbers as ranges: [0,1,2,5,7,8] → "0-2,5,7-8". */
export function ranges(ns: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length;) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    out.push(i === j ? String(ns[i]) : `${ns[i]}-${ns[j]}`);
    i = j + 1;
  }
  return out.join(',') || '-';
}
