import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { pack, unpack } from 'msgpackr';
import { toWireJs } from '../protocol/wire-js.js';
import { TwinError, toTwinError } from '../errors.js';
import { errorFromJson } from '../hosting/shard-host.js';
import type { TwinLogger } from '../model/twin-model.js';
import type { SpaceNames } from './space-names.js';

/** A request one node makes of another (core NATS request/reply, not persisted). */
export type RpcRequest =
  | { readonly op: 'read'; readonly path: string; readonly lanes?: readonly string[]; readonly release?: boolean }
  | {
      readonly op: 'command';
      readonly path: string;
      readonly lane: string;
      readonly value: unknown;
      /** The client's idempotency key: a retry after a lost answer applies once. */
      readonly key?: string;
    }
  | { readonly op: 'list'; readonly filter: string; readonly within?: readonly string[]; readonly limit: number }
  | {
      readonly op: 'observe';
      readonly lid: string;
      readonly node: string;
      readonly path: string;
      readonly lane: string;
      /** Where the owner publishes the link's frames (see LinkServer). */
      readonly subject: string;
    }
  | {
      readonly op: 'observeFilter';
      readonly lid: string;
      readonly node: string;
      readonly filter: string;
      readonly within?: readonly string[];
      readonly lane: string;
      readonly limit: number;
      readonly subject: string;
    }
  | { readonly op: 'unobserve'; readonly lid: string };

type RpcReply = { readonly ok: unknown } | { readonly err: ReturnType<TwinError['toJSON']> & { internal?: true } };

/** Codes after which the sender asks the directory again and retries (the vshard is moving). */
const RETRYABLE = new Set(['TWIN_NOT_OWNER', 'TWIN_FENCED', 'TWIN_CLUSTER_UNAVAILABLE']);

/**
 * Requests between nodes: a node answers on `<space>.rpc.<node>` what its own twins say,
 * and asks others for theirs. Answers carry a TwinError's JSON, rebuilt on the asking
 * side, so an HTTP client of any node sees the same codes.
 */
export class NodeRpc {
  private sub: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: SpaceNames,
    private readonly log: TwinLogger,
  ) {}

  /** Serves this node's requests with `handle`. */
  serve(node: string, handle: (request: RpcRequest) => Promise<unknown>): void {
    this.sub = this.nc.subscribe(this.names.rpc(node), {
      callback: (err, msg) => {
        if (err) return;
        let request: RpcRequest;
        try {
          request = unpack(msg.data) as RpcRequest;
        } catch {
          msg.respond(pack({ err: new TwinError('TWIN_EVENT_INVALID', 'undecodable request').toJSON() }));
          return;
        }
        handle(request).then(
          // Lane values as a reader gets them (see LinkServer): a remote read shows what a local one does.
          (ok) => msg.respond(pack({ ok: toWireJs(ok, 'keep') } satisfies RpcReply)),
          (e: unknown) => {
            const error = toTwinError(e, 'TWIN_INTERNAL');
            msg.respond(pack({ err: error.toJSON() } satisfies RpcReply));
          },
        );
      },
    });
  }

  /** Asks `node`; rejects with the TwinError it answered, or TWIN_CLUSTER_UNAVAILABLE when it did not answer. */
  async call(node: string, request: RpcRequest, timeoutMs = 5_000): Promise<unknown> {
    let data: Uint8Array;
    try {
      data = (await this.nc.request(this.names.rpc(node), pack(request), { timeout: timeoutMs })).data;
    } catch (err) {
      throw new TwinError('TWIN_CLUSTER_UNAVAILABLE', `node ${node} did not answer: ${(err as Error).message}`, {
        node,
      });
    }
    const reply = unpack(data) as RpcReply;
    if ('err' in reply) throw errorFromJson(reply.err);
    return reply.ok;
  }

  /** Whether a failed call may succeed if asked again after the owners are re-read. */
  static retryable(err: unknown): boolean {
    return err instanceof TwinError && RETRYABLE.has(err.code);
  }

  close(): void {
    this.sub?.unsubscribe();
    this.log.debug({}, 'cluster: rpc closed');
  }
}
