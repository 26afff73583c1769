/** Small formatting helpers shared by the dashboard's views. */

/** The last two segments of a path, as a tree label: `/org/o/site/s` → `site s`. */
export function label(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.length >= 2 ? `${parts[parts.length - 2]} ${parts[parts.length - 1]}` : path;
}

/** `path` relative to `base` when it is below it (join keys of a twin's children), else the path itself. */
export function relativeTo(base: string, path: string): string {
  return path.startsWith(base + '/') ? path.slice(base.length + 1) : path;
}

/** One collator for every sort: `localeCompare` with options builds one per call, which a 1,000-room sort notices. */
const collator = new Intl.Collator('en', { numeric: true });

/** Orders strings as people count: `room/2` before `room/10`. */
export const byNumber = collator.compare;

/** Orders paths as people count: `room/2` before `room/10`. */
export const byPath = (a: { path: string }, b: { path: string }): number => collator.compare(a.path, b.path);

/** Fractions to two places: an average of 22.009166666 reads as 22.01. */
const round = (_key: string, v: unknown): unknown =>
  typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v;

/** A lane value in one line: numbers rounded (inside objects too), objects as compact JSON. */
export function show(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (value === undefined) return '–';
  const text = JSON.stringify(value, round);
  return text.length > 160 ? text.slice(0, 157) + '…' : text;
}

/** The last four segments of a path (`building b0 / floor 3`): a twin named with its parent, for the feed. */
export function shortLabel(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts.length < 4) return label(path);
  const n = parts.length;
  return `${parts[n - 4]} ${parts[n - 3]} / ${parts[n - 2]} ${parts[n - 1]}`;
}

/** Clock time of an epoch-ms instant, `14:03:07`. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}

/** The ancestors of a path, top down, each with its label: breadcrumbs. */
export function ancestors(path: string): { path: string; label: string }[] {
  const parts = path.split('/').filter(Boolean);
  const out: { path: string; label: string }[] = [];
  for (let i = 2; i <= parts.length; i += 2) {
    const p = '/' + parts.slice(0, i).join('/');
    out.push({ path: p, label: label(p) });
  }
  return out;
}
