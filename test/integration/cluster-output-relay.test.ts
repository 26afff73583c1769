/**
 * The output relay between the nodes of a space (core NATS, `<space>.out.<node>`) hands a
 * node's listeners only derived events: bytes another writer publishes there, whether msgpack
 * cannot read them or they decode to something else, are dropped and counted, and the relay
 * goes on (a throw in its callback would end the connection's processing). Real nats-server.
 */
import { connect } from '@nats-io/transport-node';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { OutputRelay } from '../../src/cluster/output-relay.js';
import { SpaceNames } from '../../src/cluster/space-names.js';
import { createLogger } from '../../src/logger.js';
import type { DerivedEvent } from '../../src/model/twin-model.js';
import { hasNatsServer, natsCluster } from '../support/nats.js';
import { pollUntil } from '../support/poll.js';

const event = (id: string): DerivedEvent => ({
  specversion: '1.0',
  id,
  source: '/album/1',
  type: 'album.set',
  subject: '/album/1',
  time: new Date(0).toISOString(),
  datacontenttype: 'application/json',
  data: { n: 1 },
});

describe.skipIf(!hasNatsServer)('the output relay between nodes', () => {
  it('drops and counts what is no derived event, and relays the next one', async () => {
    const nats = await natsCluster(1);
    const names = new SpaceNames('twinflow');
    const nc = await connect({ servers: nats.urls() });
    const other = await connect({ servers: nats.urls() });
    const got: DerivedEvent[] = [];
    const relay = new OutputRelay(nc, names, 'a', (e) => got.push(e), createLogger('silent'));
    try {
      await nc.flush();
      for (const junk of [Uint8Array.of(0x92, 0x01), pack(1), pack(null), pack({ type: 5 }), pack([event('x')])])
        other.publish(names.output('b'), junk);
      const from = new OutputRelay(other, names, 'b', () => undefined, createLogger('silent'));
      from.publish(event('real'));
      await other.flush();
      await pollUntil(
        'the real event relayed',
        5_000,
        async () => got.length,
        (n) => n > 0,
      );
      expect(got.map((e) => e.id)).toEqual(['real']);
      expect(relay.dropped).toBe(5);
      from.close();
    } finally {
      relay.close();
      await nc.close();
      await other.close();
    }
  });
});
