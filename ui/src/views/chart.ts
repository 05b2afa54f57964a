// The main chart: candles and volume for the selected symbol, built from the
// live quotes kept in the store's trade ring. The chart is created once and
// fed: setData when the symbol or interval changes, update per new bar or
// tick otherwise, with a bounded window.

import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  createChart,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type MouseEventParams,
  type UTCTimestamp,
} from 'lightweight-charts';
import { getVar, h } from '../dom';
import { fmtChange, fmtPct, fmtPrice, fmtVolume } from '../format';
import type { Frame, View } from '../render';
import type { Row, Store, TickRing } from '../store';

/** Candle intervals in seconds. */
export const INTERVALS = [1, 5, 15, 60] as const;
const MAX_BARS = 3000;

/** A bar under construction. */
export interface Bar {
  time: number; // seconds, local-time shifted
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

// lightweight-charts draws its time axis in UTC; shifting by the local offset shows local time.
const tzShift = (ms: number) => -new Date(ms).getTimezoneOffset() * 60;

/** Bucket time (s) of a trade at ts (ms) for an interval (s). */
export const bucket = (ts: number, interval: number): number => Math.floor(ts / 1000 / interval) * interval + tzShift(ts);

/** Folds one trade into bars (the last one open); returns true when it started a new bar. */
export function addTrade(bars: Bar[], ts: number, price: number, size: number, interval: number): boolean {
  const t = bucket(ts, interval);
  const b = bars[bars.length - 1];
  if (b && t <= b.time) {
    if (price > b.high) b.high = price;
    if (price < b.low) b.low = price;
    b.close = price;
    b.volume += size;
    return false;
  }
  bars.push({ time: t, open: price, high: price, low: price, close: price, volume: size });
  return true;
}

/** Builds bars from every trade a ring holds. */
export function buildBars(ring: TickRing, interval: number, from = 0): Bar[] {
  const bars: Bar[] = [];
  ring.each(from, (ts, p, s) => addTrade(bars, ts, p, s, interval));
  return bars;
}

export class ChartView implements View {
  readonly el: HTMLElement;
  private readonly box: HTMLElement;
  private readonly title: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly live: HTMLButtonElement;
  private readonly ivButtons: HTMLButtonElement[] = [];
  private chart: IChartApi | null = null;
  private candles: ISeriesApi<'Candlestick'> | null = null;
  private volume: ISeriesApi<'Histogram'> | null = null;

  private sym: string | null = null;
  private row: Row | null = null;
  private interval: number = 5;
  private bars: Bar[] = [];
  private built = 0; // ring.total folded into bars
  private needRebuild = true;
  private hovering = false;
  private lastUpdate = 0;

  constructor(private readonly store: Store) {
    this.title = h('h2.chart-title', { text: 'Chart' });
    this.legend = h('div.legend', { 'aria-label': 'Values under the crosshair' });
    const ivs = h('div.intervals', { role: 'group', 'aria-label': 'Candle interval' });
    for (const s of INTERVALS) {
      const b = h('button.iv', { type: 'button', text: s < 60 ? `${s}s` : `${s / 60}m`, 'aria-pressed': String(s === this.interval) });
      b.addEventListener('click', () => this.setInterval(s));
      this.ivButtons.push(b);
      ivs.append(b);
    }
    this.live = h('button.live', { type: 'button', text: 'Back to live ⇥', hidden: true });
    this.live.addEventListener('click', () => this.chart?.timeScale().scrollToRealTime());
    this.box = h('div.chart-box');
    this.el = h(
      'section.panel.chart',
      { 'aria-label': 'Chart of the selected symbol' },
      h('div.panel-head', {}, this.title, ivs),
      h('div.chart-wrap', {}, this.box, this.legend, this.live),
    );
  }

  /** Creates the chart once the element is in the page (it measures its box). */
  mount(): void {
    const chart = createChart(this.box, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: getVar('--muted'), attributionLogo: false },
      grid: { vertLines: { color: getVar('--grid') }, horzLines: { color: getVar('--grid') } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true, rightOffset: 4 },
    });
    this.candles = chart.addSeries(CandlestickSeries, {
      upColor: getVar('--up'),
      downColor: getVar('--down'),
      wickUpColor: getVar('--up'),
      wickDownColor: getVar('--down'),
      borderVisible: false,
    });
    this.volume = chart.addSeries(HistogramSeries, { priceScaleId: 'vol', priceFormat: { type: 'volume' } });
    chart.priceScale('vol').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
    chart.subscribeCrosshairMove((p) => this.crosshair(p));
    chart.timeScale().subscribeVisibleLogicalRangeChange(() => {
      const away = chart.timeScale().scrollPosition() < -2;
      if (this.live.hidden === away) this.live.hidden = !away;
    });
    this.chart = chart;
  }

  /** Re-reads the theme's colours. */
  retheme(): void {
    if (!this.chart) return;
    this.chart.applyOptions({
      layout: { textColor: getVar('--muted') },
      grid: { vertLines: { color: getVar('--grid') }, horzLines: { color: getVar('--grid') } },
    });
    this.candles?.applyOptions({ upColor: getVar('--up'), downColor: getVar('--down'), wickUpColor: getVar('--up'), wickDownColor: getVar('--down') });
    this.needRebuild = true;
  }

  show(sym: string): void {
    if (sym === this.sym) return;
    this.sym = sym;
    this.needRebuild = true;
  }

  get symbol(): string | null {
    return this.sym;
  }

  setInterval(s: number): void {
    this.interval = s;
    this.ivButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(INTERVALS[i] === s)));
    this.needRebuild = true;
    this.chart?.timeScale().scrollToRealTime();
  }

  private volData(b: Bar): HistogramData {
    return { time: b.time as UTCTimestamp, value: b.volume, color: b.close >= b.open ? getVar('--up-a') : getVar('--down-a') };
  }

  paint(f: Frame): void {
    if (f.paused || !this.chart || !this.candles || !this.volume || !this.sym) return;
    const row = this.store.rows.get(this.sym) ?? null;
    if (row !== this.row) {
      this.row = row;
      this.needRebuild = true;
    }
    if (!row) {
      if (this.bars.length) {
        this.bars = [];
        this.candles.setData([]);
        this.volume.setData([]);
      }
      return;
    }
    const ring = row.ticks;
    if (this.needRebuild || ring.total - this.built > ring.capacity || this.bars.length > MAX_BARS) {
      this.needRebuild = false;
      this.bars = buildBars(ring, this.interval).slice(-MAX_BARS / 2);
      this.built = ring.total;
      this.candles.setData(this.bars as unknown as CandlestickData[]);
      this.volume.setData(this.bars.map((b) => this.volData(b)));
      const info = row.info;
      this.title.textContent = info ? `${row.sym} · ${info.name}` : row.sym;
      this.paintLegend(this.bars[this.bars.length - 1]);
      return;
    }
    // Ten updates a second are plenty for candles; the chart redraws whole canvases on each.
    if (ring.total === this.built || f.now - this.lastUpdate < 100) return;
    this.lastUpdate = f.now;
    const touched = new Set<Bar>();
    ring.each(this.built, (ts, p, s) => {
      addTrade(this.bars, ts, p, s, this.interval);
      touched.add(this.bars[this.bars.length - 1]);
    });
    this.built = ring.total;
    for (const b of touched) {
      this.candles.update(b as unknown as CandlestickData);
      this.volume.update(this.volData(b));
    }
    if (!this.hovering) this.paintLegend(this.bars[this.bars.length - 1]);
  }

  private crosshair(p: MouseEventParams): void {
    const d = p.time !== undefined && this.candles ? (p.seriesData.get(this.candles) as CandlestickData | undefined) : undefined;
    this.hovering = !!d;
    if (d) {
      const v = this.bars.find((b) => b.time === d.time);
      this.paintLegend(v ?? { ...(d as unknown as Bar), volume: NaN });
    } else this.paintLegend(this.bars[this.bars.length - 1]);
  }

  private paintLegend(b: Bar | undefined): void {
    if (!b) {
      this.legend.textContent = '';
      return;
    }
    const q = this.row?.quote;
    const chg = b.close - b.open;
    this.legend.textContent =
      `O ${fmtPrice(b.open)}  H ${fmtPrice(b.high)}  L ${fmtPrice(b.low)}  C ${fmtPrice(b.close)}  ` +
      `${fmtChange(chg)} (${fmtPct(b.open ? (chg / b.open) * 100 : 0)})  V ${fmtVolume(b.volume)}` +
      (q && !this.hovering ? `  · day ${fmtPct(q.changePct)}` : '');
  }
}
