/**
 * The dashboard's way to the node's HTTP API: same origin, `Authorization: Bearer` when the
 * user gave a token (`?token=` in the page's URL, or the sign-in prompt; kept for the tab's
 * session only), errors as the API's `{ code, message }`.
 */

const TOKEN_KEY = 'twinflow.token';

/** The token the page uses, if any: `?token=` wins over the one kept for this tab. */
export function currentToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Keeps `token` for this tab (undefined forgets it). */
export function setToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer of the API other than 2xx: its status and the server's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Listeners told when the API answers 401: the page then asks for a token. */
const unauthorized = new Set<() => void>();
export function onUnauthorized(fn: () => void): () => void {
  unauthorized.add(fn);
  return () => unauthorized.delete(fn);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = currentToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function fail(res: Response): Promise<never> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText;
  try {
    const body = (await res.json()) as { code?: string; message?: string };
    code = body.code ?? code;
    message = body.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) for (const fn of unauthorized) fn();
  throw new ApiError(res.status, code, message);
}

/** GET a JSON resource of the API. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: headers(), signal });
  if (!res.ok) return fail(res);
  return (await res.json()) as T;
}

/** GET a text resource (`/metrics`). */
export async function getText(path: string): Promise<string> {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) return fail(res);
  return res.text();
}

/** POST a JSON body; resolves with the status on 2xx. */
export async function postJson(path: string, body: unknown): Promise<number> {
  const res = await fetch(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  if (!res.ok) return fail(res);
  return res.status;
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send Authorization),
 * calling `onData` with each event's parsed `data:`. Resolves when the stream ends.
 */
export async function readEventStream(
  path: string,
  onData: (data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await fetch(path, { headers: headers({ accept: 'text/event-stream' }), signal });
  if (!res.ok || !res.body) return fail(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) onData(JSON.parse(data));
    }
  }
}

/** One twin as `GET /twins/{path}` and `GET /twins?…` answer. */
export interface TwinItem {
  readonly path: string;
  readonly model: string;
  readonly lanes: Record<string, unknown>;
}

/** A model as `GET /models` describes it. */
export interface ModelInfo {
  readonly name: string;
  readonly route: string;
  readonly lanes: readonly {
    name: string;
    kind: string;
    writable?: boolean;
    window?: { kind: string; size: number };
  }[];
}

/** Lanes the tree and search results show as a status (each exists on some building model; others ask for none). */
export const SUMMARY_LANES = ['alarm', 'status', 'occupied', 'temperature'];

/** Every twin a query names, following `next` for at most `pages` pages. */
export async function queryTwins(params: Record<string, string>, pages = 5, signal?: AbortSignal): Promise<TwinItem[]> {
  const items: TwinItem[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < pages; i++) {
    const q = new URLSearchParams(params);
    if (cursor) q.set('cursor', cursor);
    const page: { items: TwinItem[]; next: string | null } = await getJson(`/twins?${q.toString()}`, signal);
    items.push(...page.items);
    cursor = page.next;
    if (!cursor) break;
  }
  return items;
}
