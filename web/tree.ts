import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { byPath, label } from './format.js';
import { ApiError, queryTwins, type TwinItem } from './api.js';

export interface TreeProps {
  /** Lanes asked for with each level, to colour the nodes (see summaryLanes). */
  readonly summary: readonly string[];
  readonly selected: string | null;
  readonly onSelect: (path: string) => void;
}

/** The children of a twin: the twins one route level (two path segments) below it. */
async function children(path: string, summary: readonly string[]): Promise<TwinItem[]> {
  const params: Record<string, string> = { filter: `${path}/*/*`, limit: '1000' };
  if (summary.length > 0) params['lanes'] = summary.join(',');
  return (await queryTwins(params)).sort(byPath);
}

/** A status dot for a twin's summary lanes: alarm, offline, occupied, else quiet. */
export function statusOf(lanes: Record<string, unknown>): string {
  if (lanes['alarm'] === true || lanes['status'] === 'alarm') return 'alarm';
  if (lanes['status'] === 'offline') return 'offline';
  if (lanes['occupied'] === true) return 'occupied';
  return 'quiet';
}

/**
 * The twin space as a tree, loaded lazily: a level is read (`GET /twins?filter=<path>/*\/*`)
 * when it is opened, and again each time it is reopened. The page links nothing for the
 * tree, so a closed branch costs nothing.
 */
export function Tree(props: TreeProps) {
  const [roots, setRoots] = useState<TwinItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    children('', props.summary).then(setRoots, (e: unknown) => setError(describe(e)));
  }, [props.summary]);
  if (error) return html`<div class="error">${error}</div>`;
  if (!roots) return html`<div class="muted">loading…</div>`;
  if (roots.length === 0) return html`<div class="muted">no twins yet</div>`;
  return html`<ul class="tree" role="tree">
    ${roots.map((t) => html`<${TreeNode} key=${t.path} item=${t} ...${props} />`)}
  </ul>`;
}

function TreeNode(props: TreeProps & { item: TwinItem }) {
  const { item, selected, onSelect, summary } = props;
  const [open, setOpen] = useState(false);
  const [kids, setKids] = useState<TwinItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const toggle = (): void => {
    if (open) return setOpen(false);
    setOpen(true);
    setError(null);
    children(item.path, summary).then(setKids, (e: unknown) => setError(describe(e)));
  };
  const leaf = open && kids !== null && kids.length === 0;
  const temperature = item.lanes['temperature'];
  return html`<li role="treeitem" aria-expanded=${open}>
    <div class=${'node' + (selected === item.path ? ' selected' : '')} data-path=${item.path}>
      <button class="twisty" data-testid="expand" onClick=${toggle} title=${open ? 'close' : 'open'}>
        ${leaf ? '·' : open ? '▾' : '▸'}
      </button>
      <span class=${'dot ' + statusOf(item.lanes)}></span>
      <a href=${'#' + item.path} class="name" onClick=${(e: Event) => (e.preventDefault(), onSelect(item.path))}
        >${label(item.path)}</a
      >
      <span class="model">${item.model}</span>
      ${typeof temperature === 'number' ? html`<span class="temp">${temperature.toFixed(1)}°</span>` : null}
    </div>
    ${error ? html`<div class="error">${error}</div>` : null}
    ${
      open && kids && kids.length > 0
        ? html`<ul role="group">
            ${kids.map((k) => html`<${TreeNode} key=${k.path} ...${props} item=${k} />`)}
          </ul>`
        : open && !kids && !error
          ? html`<div class="muted indent">loading…</div>`
          : null
    }
  </li>`;
}

/** The text a failed request shows: the server's code and message. */
export function describe(e: unknown): string {
  return e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
}
