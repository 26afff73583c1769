import { Component, html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { WarpClient } from '../src/client/index.js';
import { byNumber, byPath, label } from './format.js';

type Lanes = Readonly<Record<string, unknown>>;

/** The twins a wildcard link set knows, and a number that changes only when one is added (the layout's key). */
interface Wildcard {
  readonly twins: ReadonlyMap<string, Lanes>;
  readonly layout: number;
}

/**
 * Lanes of every twin a wildcard pattern matches, kept current over WARP: one wildcard link
 * per lane, conflated by the server to one delivery per `rate` ms per twin. The view is
 * refreshed at most once per `rate` ms however many twins changed, and a twin's lanes object
 * is replaced only when it changed, so unchanged cells skip their render.
 */
function useWildcard(client: WarpClient, pattern: string | null, lanes: readonly string[], rate: number): Wildcard {
  const [view, setView] = useState<Wildcard>({ twins: new Map(), layout: 0 });
  useEffect(() => {
    setView({ twins: new Map(), layout: 0 });
    if (!pattern) return;
    const state = new Map<string, Lanes>();
    let layout = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (): void => {
      timer = undefined;
      setView({ twins: new Map(state), layout });
    };
    const links = lanes.map((lane) =>
      client.sync(pattern, lane, {
        rate,
        onEvent: (e, node) => {
          if (e.type !== 'value') return;
          const before = state.get(node);
          if (before === undefined) layout++;
          else if (before[lane] === e.value) return;
          state.set(node, { ...before, [lane]: e.value });
          timer ??= setTimeout(flush, before === undefined ? 50 : rate);
        },
        // A model set without this lane: the overview shows what it has.
        onUnlinked: () => undefined,
      }),
    );
    return () => {
      clearTimeout(timer);
      links.forEach((l) => l.close());
    };
  }, [pattern, lanes.join(','), rate]);
  return view;
}

const BUILDING_LANES = ['alarm', 'temperature', 'occupiedRooms'];
const FLOOR_LANES = ['alarm', 'temperature', 'occupiedRooms', 'hvac'];
const ROOM_LANES = ['alarm', 'occupied', 'temperature'];

type Mode = 'occupancy' | 'temperature' | 'alarm';

const LEGEND: Record<Mode, string> = {
  occupancy: 'blue: occupied · grey: free · red: alarm',
  temperature: 'blue 16 °C → red 26 °C · bright red: alarm',
  alarm: 'red: fire or gas alarm in the room',
};

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

interface CellProps {
  path: string;
  floor: string;
  lanes: Lanes;
  mode: Mode;
  selected: boolean;
  /** The first room of a unit after another unit's: drawn with a gap before it. */
  unitStart: boolean;
  go: (path: string) => (e: Event) => void;
}

/** One room of the grid: re-rendered only when its lanes, the colour mode or the selection changed. */
class RoomCell extends Component<CellProps> {
  override shouldComponentUpdate(next: CellProps): boolean {
    const p = this.props;
    return (
      next.lanes !== p.lanes || next.mode !== p.mode || next.selected !== p.selected || next.unitStart !== p.unitStart
    );
  }
  override render() {
    const { path, floor, lanes, mode, selected, unitStart, go } = this.props;
    const t = lanes['temperature'];
    const title = `${path.slice(floor.length + 1)} ${typeof t === 'number' ? t.toFixed(1) + '°' : ''}${lanes['occupied'] ? ' occupied' : ''}${lanes['alarm'] ? ' ALARM' : ''}`;
    return html`<a
      class=${'room' + (selected ? ' selected' : '') + (unitStart ? ' unit-start' : '')}
      href=${'#' + path}
      data-room=${path}
      title=${title}
      style=${{ background: colour(mode, lanes) }}
      onClick=${go(path)}
    ></a>`;
  }
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
  const { twins: buildings, layout: buildingLayout } = useWildcard(
    client,
    '/org/*/site/*/building/*',
    BUILDING_LANES,
    1000,
  );
  const sorted = useMemo(() => [...buildings.keys()].map((path) => ({ path })).sort(byPath), [buildingLayout]);
  const building = buildingOf(props.selected) ?? sorted[0]?.path ?? null;
  const { twins: floors, layout: floorLayout } = useWildcard(
    client,
    building && `${building}/floor/*`,
    FLOOR_LANES,
    1000,
  );
  const { twins: rooms, layout: roomLayout } = useWildcard(
    client,
    building && `${building}/floor/*/unit/*/room/*`,
    ROOM_LANES,
    500,
  );
  // The grid's layout (which rooms on which floor, in order) changes only when a twin appears: sorted then, not per update.
  const byFloor = useMemo(() => {
    const out = new Map<string, string[]>();
    for (const path of rooms.keys()) {
      const floor = path.slice(0, path.indexOf('/unit/'));
      if (!out.has(floor)) out.set(floor, []);
      out.get(floor)!.push(path);
    }
    for (const list of out.values()) list.sort(byNumber);
    return out;
  }, [roomLayout, building]);
  // A unit's first room starts a new group in its floor's row.
  const unitStarts = useMemo(() => {
    const starts = new Set<string>();
    for (const list of byFloor.values())
      list.forEach((room, i) => {
        const unit = room.slice(0, room.indexOf('/room/'));
        if (i > 0 && !list[i - 1]!.startsWith(unit + '/')) starts.add(room);
      });
    return starts;
  }, [byFloor]);
  const floorPaths = useMemo(
    () => [...new Set([...floors.keys(), ...byFloor.keys()])].sort(byNumber).reverse(),
    [floorLayout, byFloor],
  );
  const onSelect = props.onSelect;
  const go = useMemo(() => (path: string) => (e: Event) => (e.preventDefault(), onSelect(path)), [onSelect]);
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
      <span class="legend">${LEGEND[mode]}</span>
    </div>
    <div class="floors">
      ${floorPaths.map((path) => {
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
                html`<${RoomCell}
                  key=${r}
                  path=${r}
                  floor=${path}
                  lanes=${rooms.get(r) ?? {}}
                  mode=${mode}
                  selected=${r === props.selected}
                  unitStart=${unitStarts.has(r)}
                  go=${go}
                />`,
            )}
          </span>
        </div>`;
      })}
    </div>
  </section>`;
}
