import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getText } from './api.js';
import { describe } from './tree.js';
import type { ClientStatus } from '../src/client/index.js';

/** The samples of a Prometheus text page, by name with labels (`name{a="b"}`). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

function rate(perSecond: number | null): string {
  return perSecond === null ? '…' : perSecond.toFixed(0);
}

interface Health {
  eventsPerSecond: number | null;
  twins: number;
  links: number;
  lagMs: number;
}

/**
 * Node health from `/metrics`, every 2 s: events/s (from the counter's growth), twins live,
 * WARP links, event-loop lag (p99). A caller without the metrics right sees why not.
 */
export function HealthBar(props: { warp: ClientStatus }) {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let last: { at: number; events: number } | null = null;
    const poll = (): void => {
      getText('/metrics').then(
        (text) => {
          const m = parseMetrics(text);
          const events = m.get('twinflow_events_total') ?? 0;
          const at = performance.now();
          const eventsPerSecond = last ? ((events - last.events) * 1000) / (at - last.at) : null;
          last = { at, events };
          setError(null);
          setHealth({
            eventsPerSecond,
            twins: m.get('twinflow_twins_active') ?? 0,
            links: m.get('twinflow_warp_links') ?? 0,
            lagMs: (m.get('twinflow_event_loop_delay_seconds{quantile="0.99"}') ?? 0) * 1000,
          });
        },
        (e: unknown) => {
          // With --admin-port, /metrics lives on the admin listener: say so once and stop asking.
          if (e instanceof ApiError && e.status === 404) {
            clearInterval(timer);
            return setError('served on the admin listener (--admin-port)');
          }
          setError(describe(e));
        },
      );
    };
    const timer = setInterval(poll, 2000);
    poll();
    return () => clearInterval(timer);
  }, []);
  return html`<div class="health" data-testid="health">
    <span class=${'warp ' + props.warp}>WARP ${props.warp}</span>
    ${
      error
        ? html`<span class="muted">metrics: ${error}</span>`
        : health
          ? html`<span><b data-testid="events-per-second">${rate(health.eventsPerSecond)}</b>${' events/s'}</span>
              <span><b>${health.twins}</b> twins live</span>
              <span><b>${health.links}</b> links</span>
              <span><b>${health.lagMs.toFixed(1)}</b> ms lag (p99)</span>`
          : html`<span class="muted">…</span>`
    }
  </div>`;
}
