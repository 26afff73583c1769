import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { WarpClient } from '../src/client/index.js';
import { byPath, label } from './format.js';

type Twins = ReadonlyMap<string, Readonly<Record<string, unknown>>>;

/**
 * Lanes of every twin a wildcard pattern matches, kept current over WARP: one wildcard link
 * per lane, conflated by the server to one delivery per `rate` ms per twin. Re-rendered at
 * most once per animation frame however many events arrive.
 */
function useWildcard(client: WarpClient, pattern: string | null, lanes: readonly string[], rate: number): Twins {
  const [twins, setTwins] = useState<Twins>(new Map());
  useEffect(() => {
    setTwins(new Map());
    if (!pattern) return;
    const state = new Map<string, Record<string, unknown>>();
    let scheduled = false;
    const links = lanes.map((lane) =>
      client.sync(pattern, lane, {
        rate,
        onEvent: (e, node) => {
          if (e.type !== 'value') return;
          state.set(node, { ...state.get(node), [lane]: e.value });
          if (scheduled) return;
          scheduled = true;
          requestAnimationFrame(() => {
            scheduled = false;
            setTwins(new Map(state));
          });
        },
        // A model set without this lane: the overview shows what it has.
        onUnlinked: () => undefined,
      }),
    );
    return () => links.forEach((l) => l.close());
  }, [pattern, lanes.join(','), rate]);
  return twins;
}

const BUILDING_LANES = ['alarm', 'temperature', 'occupiedRooms'];
const FLOOR_LANES = ['alarm', 'temperature', 'occupiedRooms', 'hvac'];
const ROOM_LANES = ['alarm', 'occupied', 'temperature'];

type Mode = 'occupancy' | 'temperature' | 'alarm';

/** A temperature's colour: blue at 16 °C through green to red at 26 °C. */
function heat(t: unknown): string {
  if (typeof t !== 'number') return '#ddd';
  const x = Math.max(0, Math.min(1, (t - 16) / 10));
  return `hsl(${Math.round(220 - 220 * x)} 70% 55%)`;
}

function colour(mode: Mode, lanes: Readonly<Record<string, unknown>>): string {
  if (lanes['alarm'] === true) return '#d22';
  if (mode === 'temperature') return heat(lanes['temperature']);
  if (mode === 'occupancy') return lanes['occupied'] === true ? '#2f6fdf' : '#e3e8f0';
  return '#cfe8cf';
}

/** `/org/o/site/s/building/b/...` → `/org/o/site/s/building/b`, or null. */
function buildingOf(path: string | null): string | null {
  const m = path ? /^(\/org\/[^/]+\/site\/[^/]+\/building\/[^/]+)/.exec(path) : null;
  return m ? m[1]! : null;
}

/**
 * The site/building overview: every building as a chip (red in alarm), and for the building
 * of the selected twin (else the first) its floors and rooms coloured by occupancy,
 * temperature or alarm. Links only that building's floors and rooms, and the buildings'
 * summaries, whatever the size of the fleet.
 */
export function Overview(props: { client: WarpClient; selected: string | null; onSelect: (path: string) => void }) {
  const { client } = props;
  const [mode, setMode] = useState<Mode>('occupancy');
  const buildings = useWildcard(client, '/org/*/site/*/building/*', BUILDING_LANES, 1000);
  const sorted = useMemo(() => [...buildings.keys()].map((path) => ({ path })).sort(byPath), [buildings]);
  const building = buildingOf(props.selected) ?? sorted[0]?.path ?? null;
  const floors = useWildcard(client, building && `${building}/floor/*`, FLOOR_LANES, 1000);
  const rooms = useWildcard(client, building && `${building}/floor/*/unit/*/room/*`, ROOM_LANES, 500);
  const byFloor = useMemo(() => {
    const out = new Map<string, { path: string; lanes: Readonly<Record<string, unknown>> }[]>();
    for (const [path, lanes] of rooms) {
      const floor = path.slice(0, path.indexOf('/unit/'));
      if (!out.has(floor)) out.set(floor, []);
      out.get(floor)!.push({ path, lanes });
    }
    for (const list of out.values()) list.sort(byPath);
    return out;
  }, [rooms]);
  const floorPaths = [...new Set([...floors.keys(), ...byFloor.keys()])]
    .map((path) => ({ path }))
    .sort(byPath)
    .reverse();
  const go = (path: string) => (e: Event) => (e.preventDefault(), props.onSelect(path));
  if (sorted.length === 0) return html`<section class="overview"><div class="muted">no buildings yet</div></section>`;
  return html`<section class="overview" data-testid="overview">
    <div class="buildings">
      ${sorted.map(({ path }) => {
        const b = buildings.get(path) ?? {};
        return html`<a
          href=${'#' + path}
          class=${'chip' + (b['alarm'] === true ? ' alarm' : '') + (path === building ? ' current' : '')}
          onClick=${go(path)}
          title=${path}
          >${path.split('/')[4]} · ${label(path)}
          ${typeof b['temperature'] === 'number' ? ` ${b['temperature'].toFixed(1)}°` : ''}
          ${typeof b['occupiedRooms'] === 'number' ? ` · ${b['occupiedRooms']} occ.` : ''}</a
        >`;
      })}
    </div>
    <div class="modes">
      colour by
      ${(['occupancy', 'temperature', 'alarm'] as const).map(
        (m) =>
          html`<label
            ><input type="radio" name="mode" checked=${mode === m} onChange=${() => setMode(m)} /> ${m}</label
          >`,
      )}
    </div>
    <div class="floors">
      ${floorPaths.map(({ path }) => {
        const f = floors.get(path) ?? {};
        return html`<div class="floor" key=${path}>
          <a href=${'#' + path} class=${'floor-name' + (f['alarm'] === true ? ' alarm' : '')} onClick=${go(path)}
            >${label(path)}</a
          >
          <span class="floor-stats"
            >${typeof f['temperature'] === 'number' ? `${f['temperature'].toFixed(1)}°` : '–'}
            ${typeof f['hvac'] === 'string' ? html`<b class="hvac">${f['hvac']}</b>` : null}</span
          >
          <span class="rooms">
            ${(byFloor.get(path) ?? []).map(
              (r) =>
                html`<a
                  class=${'room' + (r.path === props.selected ? ' selected' : '')}
                  href=${'#' + r.path}
                  data-room=${r.path}
                  title=${`${r.path.slice(path.length + 1)} ${typeof r.lanes['temperature'] === 'number' ? r.lanes['temperature'].toFixed(1) + '°' : ''}${r.lanes['occupied'] ? ' occupied' : ''}${r.lanes['alarm'] ? ' ALARM' : ''}`}
                  style=${{ background: colour(mode, r.lanes) }}
                  onClick=${go(r.path)}
                ></a>`,
            )}
          </span>
        </div>`;
      })}
    </div>
  </section>`;
}
