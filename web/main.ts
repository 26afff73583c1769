/**
 * The twinflow dashboard (served by the node at `GET /`). It talks to the node only through
 * the public HTTP API and the WARP client (src/client), with the user's token if the node
 * wants one, so it doubles as the proof that those are enough for an app. See docs/dashboard.md.
 */
import { html, render } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { WarpClient, type ClientStatus } from '../src/client/index.js';
import {
  currentToken,
  getJson,
  onUnauthorized,
  queryTwins,
  setToken,
  SUMMARY_LANES,
  type ModelInfo,
  type TwinItem,
} from './api.js';
import { Feed } from './feed.js';
import { label } from './format.js';
import { HealthBar } from './health.js';
import { Overview } from './overview.js';
import { describe, statusOf, Tree } from './tree.js';
import { TwinView } from './twin-view.js';
import './style.css';

/** The summary lanes the node's models have (a query naming a lane no model has is refused). */
function summaryLanes(models: readonly ModelInfo[]): string[] {
  return SUMMARY_LANES.filter((l) => models.some((m) => m.lanes.some((x) => x.name === l)));
}

function SignIn(props: { message: string }) {
  const [token, set] = useState('');
  return html`<form
    class="signin"
    onSubmit=${(e: Event) => {
      e.preventDefault();
      setToken(token.trim() || undefined);
      location.reload();
    }}
  >
    <h2>This node wants a token</h2>
    <p class="muted">
      ${props.message} Make one with <code>twinflow auth token</code> (docs/security.md); a read-only token shows
      everything but commands.
    </p>
    <input
      type="password"
      placeholder="API token or JWT"
      value=${token}
      onInput=${(e: Event) => set((e.target as HTMLInputElement).value)}
    />
    <button type="submit">sign in</button>
  </form>`;
}

/** Search: a path opens that twin; a filter with `*` or `**` lists what it matches (first 100). */
function Search(props: { summary: readonly string[]; onSelect: (path: string) => void }) {
  const [text, setText] = useState('');
  const [results, setResults] = useState<TwinItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = (e: Event): void => {
    e.preventDefault();
    const q = text.trim();
    setError(null);
    setResults(null);
    if (!q) return;
    const path = q.startsWith('/') ? q : '/' + q;
    if (!path.includes('*')) return props.onSelect(path.replace(/\/+$/, ''));
    const params: Record<string, string> = { filter: path, limit: '100' };
    if (props.summary.length > 0) params['lanes'] = props.summary.join(',');
    queryTwins(params, 1).then(setResults, (err: unknown) => setError(describe(err)));
  };
  return html`<div class="search">
    <form onSubmit=${run}>
      <input
        type="search"
        placeholder="a path (/org/demo/site/s0/building/b0) or a filter (…/floor/*/unit/*/room/*, /org/**/sensors/fire)"
        value=${text}
        onInput=${(e: Event) => setText((e.target as HTMLInputElement).value)}
        aria-label="path or filter"
      />
    </form>
    ${error ? html`<div class="error">${error}</div>` : null}
    ${
      results
        ? html`<div class="results">
            <div class="muted">
              ${results.length === 100 ? 'first 100' : results.length} match${results.length === 1 ? '' : 'es'}
              <button onClick=${() => setResults(null)}>×</button>
            </div>
            <ul>
              ${results.map(
                (r) =>
                  html`<li>
                    <span class=${'dot ' + statusOf(r.lanes)}></span>
                    <a
                      href=${'#' + r.path}
                      title=${r.path}
                      onClick=${(e: Event) => (e.preventDefault(), props.onSelect(r.path))}
                      >${r.path}</a
                    >
                    <span class="model">${r.model}</span>
                  </li>`,
              )}
            </ul>
          </div>`
        : null
    }
  </div>`;
}

function App() {
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [signIn, setSignIn] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(decodeURIComponent(location.hash.slice(1)) || null);
  const [warp, setWarp] = useState<ClientStatus>('connecting');
  const client = useMemo(() => {
    const token = currentToken();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
    return new WarpClient({ url, encoding: 'json', credentials: token ? { token } : undefined });
  }, []);
  useEffect(() => {
    const off = onUnauthorized(() => setSignIn(currentToken() ? 'The token was refused.' : 'Requests need a token.'));
    const offStatus = client.onStatus(setWarp);
    getJson<{ models: ModelInfo[] }>('/models').then(
      (r) => setModels(r.models),
      (e: unknown) => setProblem(describe(e)),
    );
    const onHash = (): void => setSelected(decodeURIComponent(location.hash.slice(1)) || null);
    addEventListener('hashchange', onHash);
    return () => {
      off();
      offStatus();
      removeEventListener('hashchange', onHash);
    };
  }, []);
  const select = (path: string): void => {
    history.replaceState(null, '', '#' + path);
    setSelected(path);
  };
  const summary = useMemo(() => (models ? summaryLanes(models) : []), [models]);
  if (signIn) return html`<${SignIn} message=${signIn} />`;
  return html`<header>
      <h1>twinflow</h1>
      <${Search} summary=${summary} onSelect=${select} />
      <${HealthBar} warp=${warp} />
    </header>
    <main>
      <aside class="left">
        <h3>Twins</h3>
        ${problem ? html`<div class="error">${problem}</div>` : models ? html`<${Tree} summary=${summary} selected=${selected} onSelect=${select} />` : null}
      </aside>
      <div class="center">
        <${Overview} client=${client} selected=${selected} onSelect=${select} />
        ${
          selected && models
            ? html`<${TwinView}
                key=${selected}
                path=${selected}
                client=${client}
                models=${models}
                onSelect=${select}
              />`
            : html`<p class="muted hint">Pick a twin in the tree, the overview or the feed${selected ? '' : ''}.</p>`
        }
      </div>
      <aside class="right"><${Feed} onSelect=${select} /></aside>
    </main>
    <footer class="muted">${selected ? label(selected) : ''}</footer>`;
}

render(html`<${App} />`, document.getElementById('app')!);
