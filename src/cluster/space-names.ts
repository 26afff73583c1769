/**
 * The names a twin space uses in NATS, in one place: the two streams and the subject of
 * each vshard in them. Subjects carry the vshard number as their last token, so a stream
 * holds every vshard and a consumer or a purge can pick one.
 */
export class SpaceNames {
  constructor(readonly space: string) {}

  /** Bucket of live nodes (membership). */
  get nodesBucket(): string {
    return `${this.space}-nodes`;
  }

  /** Bucket of vshard leases. */
  get leasesBucket(): string {
    return `${this.space}-leases`;
  }

  /** Bucket of what the space's nodes must agree on (its vshard count; see space-shape.ts). */
  get shapeBucket(): string {
    return `${this.space}-space`;
  }

  /** Stream of every input (events, cross-vshard joins), kept until a snapshot covers it. */
  get inputStream(): string {
    return `${this.space}-in`;
  }

  /** Stream of every vshard's state log (commits and snapshots). */
  get stateStream(): string {
    return `${this.space}-state`;
  }

  input(vshard: number): string {
    return `${this.space}.in.${vshard}`;
  }

  state(vshard: number): string {
    return `${this.space}.state.${vshard}`;
  }

  inputWildcard(): string {
    return `${this.space}.in.*`;
  }

  stateWildcard(): string {
    return `${this.space}.state.*`;
  }

  /** Core-NATS subject of the derived events of the twins a node runs. */
  output(node: string): string {
    return `${this.space}.out.${node}`;
  }

  outputWildcard(): string {
    return `${this.space}.out.*`;
  }

  /** Core-NATS subject of a node's requests (reads, commands, links). */
  rpc(node: string): string {
    return `${this.space}.rpc.${node}`;
  }
}
