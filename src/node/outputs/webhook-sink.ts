import { CloudEvent, HTTP } from 'cloudevents';
import type { DerivedEvent } from '../../model/twin-model.js';
import { outgoingEvent, percentEncoded } from './outgoing-event.js';
import { PermanentSinkError, type Sink } from './sink-queue.js';
import { shownUrl } from '../shown-url.js';

/** A configured webhook: where, and which CloudEvents HTTP mode to use. */
export interface WebhookConfig {
  url: string;
  /** `structured` (default: one `application/cloudevents+json` body) or `binary` (`ce-*` headers, data as body). */
  mode?: 'structured' | 'binary';
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Extra request headers (authorisation). */
  headers?: Record<string, string>;
}

/**
 * A sink that POSTs each derived event to a webhook with the CloudEvents HTTP binding.
 * Encoding uses the cloudevents SDK: outputs are few, and the SDK is the reference for
 * the binding. A 2xx answer is success; 408, 429 and 5xx (and network errors) are
 * retried by the {@link SinkQueue}; any other 4xx is permanent and dead-letters at once.
 *
 * @example
 * ```ts
 * const q = new SinkQueue(webhookSink({ url: 'http://127.0.0.1:8080/hook', mode: 'binary' }), deadLetters, log);
 * ```
 */
export function webhookSink(config: WebhookConfig): Sink {
  const mode = config.mode ?? 'structured';
  const { url, authorization } = withoutUserInfo(config.url);
  return {
    name: `webhook ${shownUrl(config.url)}`, // the name is logged and a metrics label: no secrets
    async deliver(event: DerivedEvent) {
      const ce = new CloudEvent({ ...outgoingEvent(event) } as Record<string, unknown>);
      const message = mode === 'binary' ? HTTP.binary(ce) : HTTP.structured(ce);
      const headers: Record<string, string> = { ...config.headers };
      // The URL's user info only where the configured headers name no authorization (in any case).
      if (authorization !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization'))
        headers.authorization = authorization;
      for (const [k, v] of Object.entries(message.headers)) {
        if (v === undefined) continue;
        // The SDK writes `ce-*` values as they are: a non-ASCII subject went out raw, or fetch threw.
        headers[k] = k.startsWith('ce-') ? percentEncoded(String(v), HEADER_KEPT) : String(v);
      }
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: message.body as string,
        signal: AbortSignal.timeout(config.timeoutMs ?? 5000),
      });
      await discardBody(res);
      if (res.ok) return;
      const text = `HTTP ${res.status} ${res.statusText}`;
      if (res.status >= 500 || res.status === 408 || res.status === 429) throw new Error(text);
      throw new PermanentSinkError(text);
    },
  };
}

/**
 * A webhook URL with a user and password in it (`https://user:pass@host/hook`) as fetch can
 * call it: the URL without them, and the HTTP Basic authorization they stand for. fetch
 * refuses such a URL outright, with the URL and its password in the error, which then went
 * to the log and the dead letters: such a webhook never delivered and leaked its secret.
 */
function withoutUserInfo(raw: string): { url: string; authorization?: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { url: raw };
  }
  if (u.username === '' && u.password === '') return { url: raw };
  const basic = `${decoded(u.username)}:${decoded(u.password)}`;
  u.username = '';
  u.password = '';
  return { url: u.toString(), authorization: `Basic ${Buffer.from(basic).toString('base64')}` };
}

/** A percent-encoded part of a URL as text; as it is when its escapes are not valid. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Bytes of a webhook's answer read (and thrown away) so its connection can be reused; past them it is cut. */
export const MAX_WEBHOOK_ANSWER_BYTES = 64 * 1024;

/**
 * Reads and drops the body of a webhook's answer, at most {@link MAX_WEBHOOK_ANSWER_BYTES}:
 * an answer read whole (`arrayBuffer()`) held all of it in memory, and an endpoint that
 * streams an endless body (or a 500 with a huge page) made the node buffer about 1 GB per
 * delivery within the 5 s timeout. A short body is read to its end, which lets undici reuse
 * the connection; a longer one is cancelled, which closes it.
 */
async function discardBody(res: Response): Promise<void> {
  const body = res.body;
  if (!body) return;
  const reader = body.getReader();
  try {
    for (let read = 0; read <= MAX_WEBHOOK_ANSWER_BYTES;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // A body cut by the endpoint or by the timeout: the status is all that counts.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Characters kept as they are in a `ce-*` header value: printable ASCII but `"` and `%`
 * (the CloudEvents HTTP binding 1.0.2, 3.1.3.2; space is escaped too).
 */
const HEADER_KEPT = new Uint8Array(128);
for (let c = 0x21; c <= 0x7e; c++) HEADER_KEPT[c] = c === 0x22 || c === 0x25 ? 0 : 1;

/** Parses a `--webhook` value: `URL` or `binary:URL` / `structured:URL`. */
export function parseWebhook(text: string): WebhookConfig {
  const m = /^(binary|structured):(.*)$/.exec(text);
  const url = m ? m[2]! : text;
  try {
    new URL(url);
  } catch {
    // Not the text itself: it may hold a password or a token.
    throw new Error(
      `--webhook needs an absolute URL (mode:url or url), got ${text.length} characters that do not parse as one`,
    );
  }
  return m ? { url, mode: m[1] as 'binary' | 'structured' } : { url };
}
