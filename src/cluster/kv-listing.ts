import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';

/**
 * The live entries of a bucket whose keys match `pattern` (a NATS subject pattern such as
 * `n.*`), read without a consumer: the bucket stream's info lists the subjects that hold
 * messages, then each key is read with a message get. `KV.keys()` would create an
 * ordered consumer per call, and nats-server 2.9 times out consumer creation again and
 * again while one server of the cluster is down; a poll built on it stalls heartbeats
 * and lease renewals past the lease. Deleted or purged keys are left out.
 */
export async function liveEntries(
  jsm: JetStreamManager,
  bucket: KV,
  bucketName: string,
  pattern: string,
): Promise<KvEntry[]> {
  const prefix = `$KV.${bucketName}.`;
  const info = await jsm.streams.info(`KV_${bucketName}`, { subjects_filter: `${prefix}${pattern}` });
  const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  const entries = await Promise.all(keys.map((key) => bucket.get(key)));
  return entries.filter((e): e is KvEntry => e !== null && e.operation === 'PUT');
}
