import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { readEventStream } from './api.js';
import { clock, shortLabel, show } from './format.js';
import { describe } from './tree.js';

/** A derived event as `GET /signals` streams it (CloudEvent JSON). */
interface Signal {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly data: unknown;
}

const KEEP = 200;

/** The colour class of a derived event type: evacuation, hvac, security, offline; `.cleared` ends one. */
function tone(type: string): string {
  if (type.endsWith('.cleared')) return 'cleared';
  return type.split('.')[0] ?? 'other';
}

/**
 * Alarms and derived events as they happen (`GET /signals`, newest on top), each with its
 * twin one click away. The stream reconnects after a drop; the node sends its most recent
 * events first, so a reconnect shows what happened meanwhile (ids deduplicate).
 */
export function Feed(props: { onSelect: (path: string) => void }) {
  const [signals, setSignals] = useState<Signal[]>([]);
  const [status, setStatus] = useState('connecting');
  useEffect(() => {
    const ctl = new AbortController();
    const seen = new Set<string>();
    let list: Signal[] = [];
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = (): void => {
      setStatus('live');
      readEventStream(
        '/signals',
        (data) => {
          const s = data as Signal;
          if (seen.has(s.id)) return;
          seen.add(s.id);
          list = [s, ...list].slice(0, KEEP);
          setSignals(list);
        },
        ctl.signal,
      ).then(
        () => reconnect('ended'),
        (e: unknown) => reconnect(describe(e)),
      );
    };
    const reconnect = (why: string): void => {
      if (ctl.signal.aborted) return;
      setStatus(`reconnecting (${why})`);
      retry = setTimeout(connect, 2000);
    };
    connect();
    return () => {
      ctl.abort();
      clearTimeout(retry);
    };
  }, []);
  return html`<section class="feed">
    <h3>Alarms and events <span class="muted">${status}</span></h3>
    ${signals.length === 0 ? html`<div class="muted">nothing yet</div>` : null}
    <ol>
      ${signals.map(
        (s) =>
          html`<li key=${s.id} class=${'signal ' + tone(s.type)} data-type=${s.type}>
            <span class="when">${clock(Date.parse(s.time))}</span>
            <span class="type">${s.type}</span>
            <a
              href=${'#' + s.subject}
              title=${s.subject}
              onClick=${(e: Event) => (e.preventDefault(), props.onSelect(s.subject))}
              >${shortLabel(s.subject)}</a
            >
            <div class="data">${show(s.data)}</div>
          </li>`,
      )}
    </ol>
  </section>`;
}
