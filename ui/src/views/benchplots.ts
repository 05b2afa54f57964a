// A bench result as pictures: the latency CDFs of every side on one log-x
// plot, and bars with min–max whiskers for the per-delivery and per-client
// costs. Made once per result, remade when the theme changes.

import uPlot from 'uplot';
import { getVar, h } from '../dom';
import type { BenchResult, TransportResult } from '../types';
import { fmtFigure, sideName } from './result';

/** Each side's colour, in order (CSS variables). */
const SIDE_COLOURS = ['--accent', '--warn', '--up', '--down'];
export const sideColour = (i: number): string => getVar(SIDE_COLOURS[i % SIDE_COLOURS.length]);

/** The bar plots: figure, title, unit kind. */
const BARS: readonly [keyof TransportResult & string, string, 'us' | 'B' | 'bytes'][] = [
  ['serverCpuSecondsPerMillionEvents', 'Server CPU per delivery (µs)', 'us'],
  ['bytesPerEvent', 'Bytes on the wire per event', 'B'],
  ['serverMemoryPerClientBytes', 'Server heap per client (KiB)', 'bytes'],
  ['serverRssPerClientBytes', 'Server RSS per client (KiB)', 'bytes'],
];

const fmtAxisMs = (ms: number): string => (ms >= 1000 ? `${+(ms / 1000).toPrecision(3)} s` : ms >= 1 ? `${+ms.toPrecision(3)} ms` : `${+(ms * 1000).toPrecision(3)} µs`);

/**
 * The union of every side's CDF points as x, and for each side the fraction
 * at or below each x: a step function, null before its first point.
 */
export function alignCdfs(cdfs: ([number, number][] | undefined)[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(cdfs.flatMap((c) => (c ?? []).map(([x]) => x)).filter((x) => x > 0))].sort((a, b) => a - b);
  const ys = cdfs.map((c) => {
    const pts = (c ?? []).filter(([x]) => x > 0);
    let j = -1;
    return xs.map((x) => {
      while (j + 1 < pts.length && pts[j + 1][0] <= x) j++;
      return j < 0 ? null : pts[j][1];
    });
  });
  return [xs, ...ys];
}

export class BenchPlots {
  readonly el: HTMLElement;
  private plots: uPlot[] = [];
  private readonly cdfBox: HTMLElement;
  private readonly barBoxes: HTMLElement[] = [];

  constructor(private readonly r: BenchResult) {
    const how = new Map((r.figures ?? []).map((f) => [f.key, f.how]));
    this.cdfBox = h('div.plot.cdf-plot', { role: 'img', 'aria-label': `Latency CDF of ${r.transports.map(sideName).join(' and ')}` });
    const bars = BARS.filter(([key]) => r.transports.some((t) => typeof t[key] === 'number')).map(([key, title]) => {
      const box = h('div.plot.bar-plot', { role: 'img', 'aria-label': title });
      this.barBoxes.push(box);
      return h('figure.bench-fig', { title: how.get(key) ?? title, 'data-figure': key }, h('figcaption', { text: title }), box);
    });
    this.el = h(
      'div.bench-plots',
      {},
      h(
        'figure.bench-fig.cdf',
        { title: how.get('latencyP50Ms') ?? 'Latency: time of reading minus the event ts.', 'data-figure': 'latencyCdf' },
        h('figcaption', { text: 'Delivery latency, all runs: share of events delivered within x' }),
        this.cdfBox,
      ),
      h('div.bench-bars', {}, ...bars),
    );
  }

  /** Draws the plots; call once the element is in the document, so that widths are known. */
  draw(): void {
    this.destroy();
    this.drawCdf();
    const keys = BARS.filter(([key]) => this.r.transports.some((t) => typeof t[key] === 'number'));
    keys.forEach(([key, , kind], i) => this.drawBars(this.barBoxes[i], key, kind));
  }

  destroy(): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
  }

  private drawCdf(): void {
    const ts = this.r.transports;
    const data = alignCdfs(ts.map((t) => t.latencyCdf));
    if (data[0].length === 0) {
      this.cdfBox.replaceChildren(h('p.muted.small', { text: 'No latency: the events carried no ts.' }));
      return;
    }
    const opts: uPlot.Options = {
      width: Math.max(320, this.cdfBox.clientWidth || 640),
      height: 260,
      legend: { show: true, live: false },
      cursor: { show: true, points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: false, distr: 3 }, y: { auto: false, range: [0, 1] } },
      axes: [
        { stroke: getVar('--muted'), grid: { stroke: getVar('--grid') }, font: '10px system-ui', size: 28, values: (_u, vs) => vs.map((v) => (v == null ? '' : fmtAxisMs(v))) },
        { stroke: getVar('--muted'), grid: { stroke: getVar('--grid') }, font: '10px system-ui', size: 44, values: (_u, vs) => vs.map((v) => `${Math.round(v * 100)} %`) },
      ],
      series: [
        { label: 'latency', value: (_u, v) => (v == null ? '–' : fmtAxisMs(v)) },
        ...ts.map((t, i) => ({
          label: sideName(t),
          stroke: sideColour(i),
          width: 2,
          spanGaps: true,
          points: { show: false },
          paths: uPlot.paths.stepped!({ align: 1 }),
          value: (_u: uPlot, v: number | null) => (v == null ? '–' : `${(v * 100).toFixed(1)} %`),
        })),
      ],
    };
    this.plots.push(new uPlot(opts, data as uPlot.AlignedData, this.cdfBox));
  }

  private drawBars(box: HTMLElement, key: keyof TransportResult & string, kind: 'us' | 'B' | 'bytes'): void {
    const ts = this.r.transports;
    const scale = kind === 'bytes' ? 1 / 1024 : 1;
    const val = (t: TransportResult): number | null => {
      const v = t[key];
      return typeof v === 'number' ? v * scale : null;
    };
    const lo = ts.map((t) => (t.spread?.[key] ? t.spread[key].min * scale : val(t)));
    const hi = ts.map((t) => (t.spread?.[key] ? t.spread[key].max * scale : val(t)));
    const top = Math.max(0, ...hi.map((v) => v ?? 0)) * 1.18 || 1;
    const bottom = Math.min(0, ...lo.map((v) => v ?? 0)) * 1.18;
    const xs = ts.map((_, i) => i);
    const text = getVar('--text');
    const opts: uPlot.Options = {
      width: Math.max(200, box.clientWidth || 260),
      height: 180,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.5, ts.length - 0.5] }, y: { auto: false, range: [bottom, top] } },
      axes: [
        { stroke: getVar('--muted'), grid: { show: false }, font: '11px system-ui', size: 24, splits: () => xs, values: (_u, vs) => vs.map((v) => (ts[v] ? sideName(ts[v]) : '')) },
        { stroke: getVar('--muted'), grid: { stroke: getVar('--grid') }, font: '10px system-ui', size: 48 },
      ],
      series: [
        {},
        ...ts.map((t, i) => ({
          label: sideName(t),
          stroke: sideColour(i),
          fill: sideColour(i),
          points: { show: false },
          paths: uPlot.paths.bars!({ size: [0.55, 90], align: 0 }),
        })),
      ],
      hooks: {
        draw: [
          (u: uPlot) => {
            // Whiskers from the runs' min to max, and the median above.
            const ctx = u.ctx;
            const px = devicePixelRatio || 1;
            ctx.save();
            ctx.strokeStyle = text;
            ctx.fillStyle = text;
            ctx.lineWidth = 1.5 * px;
            ctx.font = `${11 * px}px system-ui`;
            ctx.textAlign = 'center';
            ts.forEach((t, i) => {
              const v = val(t);
              if (v === null) return;
              const x = u.valToPos(i, 'x', true);
              const y0 = u.valToPos(lo[i] ?? v, 'y', true);
              const y1 = u.valToPos(hi[i] ?? v, 'y', true);
              const cap = 8 * px;
              ctx.beginPath();
              ctx.moveTo(x, y0);
              ctx.lineTo(x, y1);
              ctx.moveTo(x - cap, y0);
              ctx.lineTo(x + cap, y0);
              ctx.moveTo(x - cap, y1);
              ctx.lineTo(x + cap, y1);
              ctx.stroke();
              ctx.fillText(fmtFigure(kind, v / scale), x, Math.min(y1, u.valToPos(v, 'y', true)) - 5 * px);
            });
            ctx.restore();
          },
        ],
      },
    };
    const data: uPlot.AlignedData = [xs, ...ts.map((t, i) => xs.map((j) => (j === i ? val(t) : null)))];
    this.plots.push(new uPlot(opts, data, box));
  }
}
