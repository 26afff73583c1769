import type { AccessControl, Credential } from '../../access/access-control.js';
import { GrantSet } from '../../access/path-grants.js';
import type { Principal } from '../../access/principal.js';
import { TwinError } from '../../errors.js';
import { authenticateCurrent } from './current-verdict.js';
import type { TopicMap } from '../ingest/mqtt-message.js';
import { forbidden } from './forbidden.js';

/** What one MQTT connection may do: its principal's grants, `{clientId}` bound to its client id. */
export interface MqttGrants {
  /** Replaced when the rules reload (its grants and ingest rate may have changed). */
  principal: Principal;
  grants: GrantSet;
  readonly clientId: string;
  readonly credential: Credential;
  /** Closes the connection (its credential was revoked or expired). */
  readonly kick: () => void;
}

/**
 * The access rules of the embedded MQTT broker, shared by its MQTT 3.1.1 (aedes) and
 * MQTT 5 sessions:
 * - CONNECT: user name and password (a password, or an API token / JWT as the password),
 *   or nothing (the anonymous grants); a failure is CONNACK "bad user name or password";
 * - PUBLISH to a twin's topic needs `ingest` on the event's subject (checked by MqttIngest
 *   on the decoded event); to any other topic (signals, device commands: what the node
 *   itself publishes) `admin` on the topic as a path, so outputs cannot be forged;
 * - SUBSCRIBE needs `read`: on the topic's path for a plain topic; anywhere for a filter
 *   with `+`/`#`, whose deliveries are then checked one by one (`read` on each topic), so
 *   a `#` subscriber sees only what it may read.
 * Open connections are re-checked when the rules reload: a revoked credential is closed;
 * a CONNECT whose check a reload lands in is checked again under the new rules.
 *
 * @example
 * ```ts
 * const g = await mqttAccess.connect(client, clientId, { kind: 'password', username, password });
 * mqttAccess.subscribeError(g, 'org/a/#'); // undefined when allowed
 * ```
 */
export class MqttAccess {
  private readonly open = new Map<object, MqttGrants>();
  private readonly expiries = new Map<object, ReturnType<typeof setTimeout>>();
  private readonly stopReload: () => void;

  constructor(
    private readonly access: AccessControl,
    private readonly topics: TopicMap,
  ) {
    this.stopReload = access.onReload(() => void this.recheck());
  }

  get enabled(): boolean {
    return this.access.enabled;
  }

  /**
   * Authenticates a CONNECT; rejects with TWIN_UNAUTHENTICATED. `key` identifies the connection until {@link forget}.
   * A reload during the check checks the credential again under the new rules (authenticateCurrent):
   * the reload's re-check of open connections ran before this one was registered.
   */
  async connect(key: object, clientId: string, credential: Credential, kick: () => void): Promise<MqttGrants> {
    return authenticateCurrent(this.access, credential, ({ principal, error }) => {
      if (!principal) throw error;
      if (principal.expired(Date.now())) throw new TwinError('TWIN_UNAUTHENTICATED', 'the token has expired');
      const g: MqttGrants = { principal, grants: principal.grantsFor({ clientId }), clientId, credential, kick };
      this.open.set(key, g);
      if (principal.expiresAt !== undefined) {
        // A JWT that expires while connected ends the connection then (setTimeout holds ~24.8 days at most).
        const t = setTimeout(() => this.revoke(key), Math.min(principal.expiresAt - Date.now(), 2 ** 31 - 1));
        t.unref();
        this.expiries.set(key, t);
      }
      return g;
    });
  }

  forget(key: object): void {
    this.open.delete(key);
    clearTimeout(this.expiries.get(key));
    this.expiries.delete(key);
  }

  /** Why a PUBLISH to a topic that names no twin is refused (undefined: allowed). */
  outputPublishError(g: MqttGrants, topic: string): TwinError | undefined {
    if (!this.enabled) return undefined;
    const path = this.pathOfTopic(topic);
    const ok = path === null ? g.grants.allowsEverywhere('admin') : g.grants.allows('admin', path);
    return ok ? undefined : forbidden('admin', path ?? undefined);
  }

  /** Why a SUBSCRIBE to `filter` is refused (undefined: allowed; deliveries are still checked). */
  subscribeError(g: MqttGrants, filter: string): TwinError | undefined {
    if (!this.enabled) return undefined;
    if (filter.includes('+') || filter.includes('#'))
      return g.grants.allowsAnywhere('read') ? undefined : forbidden('read', filter);
    const path = this.pathOfTopic(filter);
    const ok = path === null ? g.grants.allowsEverywhere('admin') : g.grants.allows('read', path);
    return ok ? undefined : forbidden(path === null ? 'admin' : 'read', path ?? undefined);
  }

  /** True when a message on `topic` may be delivered to this connection. */
  mayDeliver(g: MqttGrants | undefined, topic: string): boolean {
    if (!this.enabled) return true;
    if (!g) return false;
    const path = this.pathOfTopic(topic);
    return path === null ? g.grants.allowsEverywhere('admin') : g.grants.allows('read', path);
  }

  close(): void {
    this.stopReload();
    for (const key of [...this.open.keys()]) this.forget(key);
  }

  /** Every open connection's credential again: revoked ones are closed, the others get the new grants. */
  private async recheck(): Promise<void> {
    for (const [key, g] of [...this.open]) {
      try {
        const principal = await this.access.authenticate(g.credential);
        if (principal.expired(Date.now())) throw new TwinError('TWIN_UNAUTHENTICATED', 'expired');
        g.grants = principal.grantsFor({ clientId: g.clientId });
        g.principal = principal;
      } catch {
        this.revoke(key);
      }
    }
  }

  private revoke(key: object): void {
    const g = this.open.get(key);
    if (!g) return;
    this.forget(key);
    g.grants = GrantSet.NONE;
    g.kick();
  }

  /** A topic under the prefix as the path it names (`org/a/x` → `/org/a/x`); null for `$…` and other topics. */
  private pathOfTopic(topic: string): string | null {
    const prefix = this.topics.prefix;
    if (topic.startsWith('$') || !topic.startsWith(prefix)) return null;
    return '/' + topic.slice(prefix.length);
  }
}

/**
 * The credential of an MQTT CONNECT: user name and password; a password alone (or a user
 * name alone, as some device SDKs send an access token) is a bearer token; neither, on a
 * connection whose client certificate the configured CA verified, is that certificate (its
 * common name, `certificateName`); none at all is anonymous.
 */
export function mqttCredential(
  username: string | undefined,
  password: Buffer | string | undefined,
  certificateName?: string,
): Credential {
  const pw = password === undefined ? undefined : Buffer.isBuffer(password) ? password.toString('utf8') : password;
  if (username && pw) return { kind: 'password', username, password: pw };
  if (pw) return { kind: 'bearer', token: pw };
  if (username) return { kind: 'bearer', token: username };
  if (certificateName !== undefined) return { kind: 'certificate', commonName: certificateName };
  return { kind: 'none' };
}
