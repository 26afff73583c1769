import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { WarpClient } from '../src/client/index.js';
import { ApiError, getJson, postJson, type ModelInfo, type TwinItem } from './api.js';
import { WindowChart, type WindowPoint } from './chart.js';
import { ancestors, byNumber, clock, relativeTo, show } from './format.js';
import { describe } from './tree.js';

type LaneInfo = ModelInfo['lanes'][number];

/** What the page knows of one lane: its value (value lanes) or entries (map, join, window), and when it last changed. */
interface LaneState {
  value?: unknown;
  entries?: Map<string, unknown>;
  changedAt?: number;
}

/** Lane kinds that hold state a link can show (command lanes only take input; demand/supply are computed per link). */
const SHOWN = new Set(['value', 'map', 'join', 'window']);

/**
 * The selected twin: each of its lanes linked over WARP (`sync`: state first, then every
 * change), value lanes as values, map and join lanes as tables updated per key, window lanes
 * as a chart; when each last changed; and a form per command lane (and writable value lane)
 * that sends through `POST /twins/{path}/commands/{lane}`, so a refusal shows the server's
 * error. Only this twin is linked: a page showing one twin costs the server one twin's lanes.
 */
export function TwinView(props: {
  path: string;
  client: WarpClient;
  models: readonly ModelInfo[];
  onSelect: (path: string) => void;
}) {
  const { path, client, models } = props;
  const [twin, setTwin] = useState<TwinItem | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [lanes, setLanes] = useState<Record<string, LaneState>>({});
  useEffect(() => {
    setTwin(null);
    setError(null);
    setLanes({});
    const ctl = new AbortController();
    getJson<TwinItem>(`/twins${path}`, ctl.signal).then(setTwin, (e: unknown) => {
      if (!ctl.signal.aborted) setError(describe(e));
    });
    return () => ctl.abort();
  }, [path]);
  const model = useMemo(() => models.find((m) => m.name === twin?.model), [twin, models]);
  useEffect(() => {
    if (!model) return;
    const state: Record<string, LaneState> = {};
    let scheduled = false;
    // Many events in one frame make one render.
    const render = (): void => {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        setLanes({ ...state });
      });
    };
    const links = model.lanes
      .filter((l) => SHOWN.has(l.kind))
      .map((l) => {
        const s: LaneState = (state[l.name] = l.kind === 'value' ? {} : { entries: new Map() });
        let synced = false;
        const link = client.sync(path, l.name, {
          // Conflated by the server: a lane changing 100 times a second still arrives 4 times.
          rate: 250,
          onEvent: (e) => {
            if (e.type === 'value') s.value = e.value;
            else if (e.type === 'update') s.entries!.set(e.key, e.value);
            else if (e.type === 'remove') s.entries!.delete(e.key);
            else s.entries!.clear();
            if (synced) s.changedAt = Date.now();
            state[l.name] = { ...s };
            render();
          },
          onSynced: () => {
            synced = true;
          },
          onUnlinked: (err) => {
            state[l.name] = { ...s, value: `unlinked: ${err.reason} ${err.message}` };
            render();
          },
        });
        return link;
      });
    return () => links.forEach((l) => l.close());
  }, [model, path]);
  if (error)
    return html`<section class="twin">
      <h2>${path}</h2>
      <div class="error">${error}</div>
    </section>`;
  if (!twin || !model)
    return html`<section class="twin">
      <h2>${path}</h2>
      <div class="muted">loading…</div>
    </section>`;
  const changes = Object.values(lanes)
    .map((l) => l.changedAt ?? 0)
    .filter((t) => t > 0);
  const last = changes.length > 0 ? Math.max(...changes) : null;
  const commands = model.lanes.filter((l) => l.kind === 'command' || (l.kind === 'value' && l.writable));
  return html`<section class="twin" data-twin=${path}>
    <nav class="crumbs">
      ${ancestors(path).map(
        (a, i, all) =>
          html`${i > 0 ? ' / ' : ''}${
            i === all.length - 1
              ? html`<strong>${a.label}</strong>`
              : html`<a href=${'#' + a.path} onClick=${(e: Event) => (e.preventDefault(), props.onSelect(a.path))}
                  >${a.label}</a
                >`
          }`,
      )}
      <span class="model">${model.name}</span>
    </nav>
    <div class="muted" data-testid="last-change">last change: ${last ? clock(last) : 'none since opened'}</div>
    <div class="lanes">
      ${model.lanes
        .filter((l) => SHOWN.has(l.kind))
        .map(
          (l) =>
            html`<${LaneBox} key=${l.name} info=${l} state=${lanes[l.name]} base=${path} onSelect=${props.onSelect} />`,
        )}
    </div>
    ${
      commands.length > 0
        ? html`<h3>Commands</h3>
            ${commands.map((l) => html`<${CommandForm} key=${l.name} path=${path} lane=${l.name} />`)}`
        : null
    }
  </section>`;
}

function LaneBox(props: {
  info: LaneInfo;
  state: LaneState | undefined;
  base: string;
  onSelect: (path: string) => void;
}) {
  const { info, state, base } = props;
  const changed = state?.changedAt ? html`<span class="changed">${clock(state.changedAt)}</span>` : null;
  let body;
  if (!state) body = html`<span class="muted">…</span>`;
  else if (info.kind === 'value') body = html`<code class="value" data-lane=${info.name}>${show(state.value)}</code>`;
  else if (info.kind === 'window') {
    const windows = [...(state.entries?.values() ?? [])] as WindowPoint[];
    body = html`<${WindowChart} windows=${windows} />
      <div class="muted">
        ${windows.length} window${windows.length === 1 ? '' : 's'} (${info.window?.kind},
        ${(info.window?.size ?? 0) / 60000} min)
      </div>`;
  } else {
    const rows = [...(state.entries ?? new Map<string, unknown>())].sort(([a], [b]) => byNumber(a, b));
    body = html`<table class="entries" data-lane=${info.name}>
        <tbody>
          ${rows.slice(0, 200).map(
            ([k, v]) =>
              html`<tr>
                <td>
                  ${
                    k.startsWith('/')
                      ? html`<a href=${'#' + k} onClick=${(e: Event) => (e.preventDefault(), props.onSelect(k))}
                          >${relativeTo(base, k)}</a
                        >`
                      : k
                  }
                </td>
                <td><code>${show(v)}</code></td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${rows.length > 200 ? html`<div class="muted">${rows.length - 200} more</div>` : null}
      ${rows.length === 0 ? html`<div class="muted">empty</div>` : null}`;
  }
  return html`<div class=${'lane ' + info.kind}>
    <div class="lane-head">
      <span class="lane-name">${info.name}</span> <span class="kind">${info.kind}</span> ${changed}
    </div>
    ${body}
  </div>`;
}

/** Sends a command: `true`/`false` buttons and a JSON field; shows 202 or the server's refusal. */
function CommandForm(props: { path: string; lane: string }) {
  const [text, setText] = useState('true');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const send = (raw: string): void => {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return setResult({ ok: false, text: 'not JSON' });
    }
    setResult(null);
    postJson(`/twins${props.path}/commands/${props.lane}`, body).then(
      (status) => setResult({ ok: true, text: `accepted (${status})` }),
      (e: unknown) =>
        setResult({ ok: false, text: e instanceof ApiError ? `${e.status} ${e.code}: ${e.message}` : String(e) }),
    );
  };
  return html`<form
    class="command"
    data-command=${props.lane}
    onSubmit=${(e: Event) => (e.preventDefault(), send(text))}
  >
    <span class="lane-name">${props.lane}</span>
    <button type="button" data-send="true" onClick=${() => send('true')}>true</button>
    <button type="button" data-send="false" onClick=${() => send('false')}>false</button>
    <input
      value=${text}
      onInput=${(e: Event) => setText((e.target as HTMLInputElement).value)}
      aria-label="JSON value"
    />
    <button type="submit">send</button>
    ${result ? html`<span class=${result.ok ? 'ok' : 'error'} data-testid="command-result">${result.text}</span>` : null}
  </form>`;
}
