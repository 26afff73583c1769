import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** What a window lane holds per window (src/lanes/window-math.ts, WindowResult). */
export interface WindowPoint {
  readonly start: number;
  readonly avg: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly count: number;
}

/**
 * A window lane's windows as a uPlot chart: average, min and max per window, by window
 * start. The chart is made once and fed new data on each change (uPlot redraws a canvas,
 * no DOM per point).
 */
export function WindowChart(props: { windows: readonly WindowPoint[]; width?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => {
    const ws = [...props.windows].sort((a, b) => a.start - b.start);
    return [ws.map((w) => w.start / 1000), ws.map((w) => w.avg), ws.map((w) => w.min), ws.map((w) => w.max)];
  };
  useEffect(() => {
    if (!box.current) return;
    plot.current = new uPlot(
      {
        width: props.width ?? 420,
        height: 160,
        scales: { x: { time: true } },
        series: [
          {},
          { label: 'avg', stroke: '#2f6fdf', width: 2, points: { show: true } },
          { label: 'min', stroke: '#8fb3ef', dash: [4, 4] },
          { label: 'max', stroke: '#df6f2f', dash: [4, 4] },
        ],
      },
      data(),
      box.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
  }, [props.windows]);
  return html`<div class="chart" ref=${box}></div>`;
}
