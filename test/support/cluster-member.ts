/**
 * A cluster member as its own process, with a runner that only says what it was given:
 * the control plane alone (membership, leases, placement), killable with SIGKILL and
 * freezable with SIGSTOP like a real node. argv[2]: ClusterOptions as JSON. Prints
 * `{"ready":id}` once joined and `{"start"|"stop":v,"epoch":e}` per move; SIGTERM leaves
 * gracefully (vshards handed off) and exits 0.
 */
import { ClusterMember } from '../../src/cluster/cluster-member.js';
import type { ClusterOptions } from '../../src/cluster/cluster-options.js';
import { createLogger } from '../../src/logger.js';

const options = JSON.parse(process.argv[2]!) as ClusterOptions;
const say = (line: object): boolean => process.stdout.write(JSON.stringify(line) + '\n');
const member = await ClusterMember.join(
  options,
  {
    start: async (v, epoch) => {
      say({ start: v, epoch });
      return 'log';
    },
    stop: async (v, epoch, reason) => void say({ stop: v, epoch, reason }),
  },
  createLogger('warn'),
);
say({ ready: member.nodeId });
process.on('SIGTERM', () => {
  void member.leave().then(() => process.exit(0));
});
