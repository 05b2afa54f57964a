// The main chart: candles and volume for the selected symbol. It opens on
// the server's history (GET /api/history) for its symbol and interval, then
// merges the live trades of the store's ring by event id: a trade whose id
// is not above the history's is already in the bars. The chart is created
// once and fed: setData when the symbol or interval changes (or a fresh
// snapshot may have left a gap), update per new bar or tick otherwise, never
// an update older than the last bar (lightweight-charts throws on those).
// Volume has a pane of its own, so no label of one covers the other.

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
import { getVar, h, setText } from '../dom';
import { fmtChange, fmtPct, fmtPrice, fmtTime, fmtVolume } from '../format';
import type { Frame, View } from '../render';
import type { Row, Store, TickRing } from '../store';
import { ENDPOINTS, HISTORY_INTERVALS, HISTORY_MAX, type History } from '../types';

/** Candle intervals in seconds. */
export const INTERVALS = HISTORY_INTERVALS.map((i) => i.s);
const MAX_BARS = 3000;

/** A bar under construction. */
export interface Bar {
  time: number; // seconds, local-time shifted (what the chart's axis shows)
  /** Start, Unix ms. */
  t: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

// lightweight-charts draws its time axis in UTC; shifting by the local offset shows local time.
const tzShift = (ms: number) => -new Date(ms).getTimezoneOffset() * 60;

/** Start (Unix ms) of the bar of a trade at ts (ms) for an interval (s). */
const startOf = (ts: number, interval: number): number => Math.floor(ts / 1000 / interval) * interval * 1000;

/** Bucket time (s) of a trade at ts (ms) for an interval (s). */
export const bucket = (ts: number, interval: number): number => startOf(ts, interval) / 1000 + tzShift(ts);

/**
 * Folds one trade into bars (the last one open). Returns 'new' when it
 * started a bar, 'same' when it went into the last one, and 'late' when it
 * belongs before the last bar: then it is dropped, as the chart could not
 * show it without rebuilding.
 */
export function foldTrade(bars: Bar[], ts: number, price: number, size: number, interval: number): 'new' | 'same' | 'late' {
  const t = bucket(ts, interval);
  const b = bars[bars.length - 1];
  if (b && t < b.time) return 'late';
  if (b && t === b.time) {
    if (price > b.high) b.high = price;
    if (price < b.low) b.low = price;
    b.close = price;
    b.volume += size;
    return 'same';
  }
  bars.push({ time: t, t: startOf(ts, interval), open: price, high: price, low: price, close: price, volume: size });
  return 'new';
}

/** Folds one trade into bars; returns true when it started a new bar. */
export function addTrade(bars: Bar[], ts: number, price: number, size: number, interval: number): boolean {
  return foldTrade(bars, ts, price, size, interval) === 'new';
}

/** Builds bars from every trade a ring holds. */
export function buildBars(ring: TickRing, interval: number, from = 0): Bar[] {
  const bars: Bar[] = [];
  ring.each(from, (ts, p, s) => addTrade(bars, ts, p, s, interval));
  return bars;
}

/** The bars of a history answer, for an interval (s). */
export function barsOfHistory(hist: History, interval: number): Bar[] {
  return hist.bars.map((b) => ({ time: bucket(b.t, interval), t: b.t, open: b.o, high: b.h, low: b.l, close: b.c, volume: b.v }));
}

/**
 * Folds into bars the trades of ring from push number `from` whose id is
 * above `after` (those at or below it are in the history already), and
 * returns the bars touched, in order, and how many trades came too late.
 * Snapshot quotes (size 0, not trades) only fold when there is no history.
 */
export function mergeTrades(bars: Bar[], ring: TickRing, from: number, after: number | null, interval: number): { touched: Bar[]; late: number } {
  const touched: Bar[] = [];
  let late = 0;
  ring.each(from, (ts, p, s, id) => {
    if (after !== null && !(id > after)) return;
    if (after !== null && s === 0) return;
    const r = foldTrade(bars, ts, p, s, interval);
    if (r === 'late') {
      late++;
      return;
    }
    const b = bars[bars.length - 1];
    if (touched[touched.length - 1] !== b) touched.push(b);
  });
  return { touched, late };
}

export interface ChartOptions {
  /** The interval changed (by its buttons): remember it. */
  onInterval?(seconds: number): void;
  /** The sheet's close button (a phone) was pressed. */
  onClose?(): void;
  fetch?: typeof fetch;
}

/** Bars of space right of the newest one when the chart is live. */
const RIGHT_OFFSET = 3;

export class ChartView implements View {
  readonly el: HTMLElement;
  private readonly box: HTMLElement;
  private readonly title: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly note: HTMLElement;
  private readonly live: HTMLButtonElement;
  private readonly ivButtons: HTMLButtonElement[] = [];
  /** Where the panel puts what goes under or beside the chart (time and sales). */
  readonly aside: HTMLElement;
  private chart: IChartApi | null = null;
  private candles: ISeriesApi<'Candlestick'> | null = null;
  private volume: ISeriesApi<'Histogram'> | null = null;

  private sym: string | null = null;
  private row: Row | null = null;
  private interval: number = 60;
  private bars: Bar[] = [];
  private built = 0; // ring.total folded into bars
  private histId: number | null = null; // the history's id, null without history
  private needLoad = true;
  private loading: AbortController | null = null;
  private loadSeq = 0;
  private loadedFor = ''; // symbol@interval the bars are of
  private snapSeen = -1; // store.snapshots when the bars were built
  private retries = 0;
  private hovering = false;
  /** The chart box's width as the ResizeObserver last saw it (0 before), so that asking for history reads no layout. */
  private boxWidth = 0;
  private lastUpdate = 0;
  /** Trades dropped because they came older than the newest bar (for the tests and the curious). */
  late = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: ChartOptions = {},
  ) {
    this.title = h('h2.chart-title', { text: 'Chart' });
    this.legend = h('div.legend', { 'aria-label': 'Values under the crosshair' });
    this.note = h('p.chart-note', { hidden: true });
    const ivs = h('div.intervals', { role: 'group', 'aria-label': 'Candle interval' });
    HISTORY_INTERVALS.forEach(({ name, s }) => {
      const b = h('button.iv', { type: 'button', text: name, 'aria-pressed': String(s === this.interval) });
      b.addEventListener('click', () => {
        this.setInterval(s);
        this.opts.onInterval?.(s);
      });
      this.ivButtons.push(b);
      ivs.append(b);
    });
    this.live = h('button.live', { type: 'button', text: 'Back to live ⇥', hidden: true, title: 'Scroll back to the newest bar' });
    this.live.addEventListener('click', () => this.backToLive());
    const close = h('button.sheet-close', { type: 'button', text: '✕', 'aria-label': 'Close the chart' });
    close.addEventListener('click', () => this.opts.onClose?.());
    this.box = h('div.chart-box');
    this.aside = h('div.chart-aside');
    this.el = h(
      'section.panel.chart',
      { 'aria-label': 'Chart of the selected symbol' },
      h('div.panel-head.chart-head', {}, this.title, ivs, close),
      h('div.chart-body', {}, h('div.chart-wrap', {}, this.box, this.legend, this.note, this.live), this.aside),
    );
  }

  /** Creates the chart once the element is in the page (it measures its box). */
  mount(): void {
    const chart = createChart(this.box, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: 'transparent' },
        textColor: getVar('--muted'),
        attributionLogo: false,
        panes: { separatorColor: getVar('--line'), enableResize: false },
      },
      grid: { vertLines: { color: getVar('--grid') }, horzLines: { color: getVar('--grid') } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true, rightOffset: RIGHT_OFFSET },
    });
    this.candles = chart.addSeries(CandlestickSeries, {
      upColor: getVar('--up'),
      downColor: getVar('--down'),
      wickUpColor: getVar('--up'),
      wickDownColor: getVar('--down'),
      borderVisible: false,
    });
    // The legend's two lines sit above the highest candle. Each axis shows
    // only labels it can show whole, so the price's lowest and the volume's
    // highest never meet at the line between the panes.
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.18, bottom: 0.06 }, entireTextOnly: true });
    // Volume in a pane of its own, below the price: its axis and labels never cover the price's.
    this.volume = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceLineVisible: false, lastValueVisible: false }, 1);
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.15, bottom: 0 }, entireTextOnly: true });
    const [pricePane, volPane] = chart.panes();
    pricePane.setStretchFactor(3.2);
    volPane?.setStretchFactor(1);
    // A chart built while hidden (a phone's sheet, closed) is fitted when it shows.
    let shown = false;
    new ResizeObserver(([e]) => {
      this.boxWidth = e.contentRect.width;
      const now = e.contentRect.width > 0 && e.contentRect.height > 0;
      if (now && !shown && this.bars.length) chart.timeScale().fitContent();
      shown = now;
    }).observe(this.box);
    chart.subscribeCrosshairMove((p) => this.crosshair(p));
    chart.timeScale().subscribeVisibleLogicalRangeChange(() => {
      const away = chart.timeScale().scrollPosition() < -2;
      if (this.live.hidden === away) this.live.hidden = !away;
    });
    this.chart = chart;
  }

  /** Scrolls to the newest bar: a glide, or with reduced motion asked for, a jump. */
  private backToLive(): void {
    const ts = this.chart?.timeScale();
    if (!ts) return;
    if (matchMedia('(prefers-reduced-motion: reduce)').matches) ts.scrollToPosition(RIGHT_OFFSET, false);
    else ts.scrollToRealTime();
  }

  /** Re-reads the theme's colours. */
  retheme(): void {
    if (!this.chart) return;
    this.chart.applyOptions({
      layout: { textColor: getVar('--muted'), panes: { separatorColor: getVar('--line') } },
      grid: { vertLines: { color: getVar('--grid') }, horzLines: { color: getVar('--grid') } },
    });
    this.candles?.applyOptions({ upColor: getVar('--up'), downColor: getVar('--down'), wickUpColor: getVar('--up'), wickDownColor: getVar('--down') });
    this.volume?.setData(this.bars.map((b) => this.volData(b)));
  }

  show(sym: string): void {
    if (sym === this.sym) return;
    this.sym = sym;
    this.needLoad = true;
  }

  get symbol(): string | null {
    return this.sym;
  }

  get seconds(): number {
    return this.interval;
  }

  setInterval(s: number): void {
    if (!INTERVALS.includes(s as (typeof INTERVALS)[number])) return;
    this.interval = s;
    this.ivButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(INTERVALS[i] === s)));
    this.needLoad = true;
  }

  private volData(b: Bar): HistogramData {
    return { time: b.time as UTCTimestamp, value: b.volume, color: b.close >= b.open ? getVar('--up-a') : getVar('--down-a') };
  }

  private say(text: string): void {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  /** How many bars the chart asks for: about one per 6 px, so that candles are readable once fitted. */
  private limit(): number {
    // Not box.clientWidth: the chart asks for history in the middle of a paint, where reading layout
    // would lay out at once everything the watchlist has just written (and again at the frame's end).
    const w = this.boxWidth || 600;
    return Math.max(60, Math.min(500, Math.round(w / 6)));
  }

  /** Fetches the history of the symbol and interval shown, then rebuilds the bars on it. */
  private load(row: Row): void {
    this.needLoad = false;
    this.loading?.abort();
    const ctl = new AbortController();
    this.loading = ctl;
    const seq = ++this.loadSeq;
    const sym = row.sym;
    const iv = this.interval;
    const name = HISTORY_INTERVALS.find((x) => x.s === iv)!.name;
    const key = `${sym}@${iv}`;
    if (this.loadedFor !== key) {
      // Until the history comes, what this page has seen, so the chart is never blank.
      this.bars = buildBars(row.ticks, iv).slice(-MAX_BARS / 2);
      this.histId = null;
      this.setAll(true);
      this.say('Loading history…');
    }
    const title = row.info ? `${row.sym} · ${row.info.name}` : row.sym;
    if (this.title.textContent !== title) this.title.textContent = title;
    const get = this.opts.fetch ?? fetch.bind(globalThis);
    get(ENDPOINTS.history(sym, name, Math.min(HISTORY_MAX, this.limit())), { signal: ctl.signal })
      .then(async (res) => {
        if (!res.ok) throw new Error(`${res.status}`);
        return (await res.json()) as History;
      })
      .then((hist) => {
        if (seq !== this.loadSeq || this.sym !== sym || this.interval !== iv) return;
        this.loading = null;
        const cur = this.store.rows.get(sym);
        if (!cur) return;
        // A history older than our snapshot may lack trades between the two:
        // ask again in a moment (the server folds each event as it publishes it).
        const snapId = this.store.snapshotId;
        if (snapId !== null && hist.id < snapId && this.retries < 5) {
          this.retries++;
          setTimeout(() => {
            if (seq === this.loadSeq) this.needLoad = true;
          }, 200 * this.retries);
        } else this.retries = 0;
        this.bars = barsOfHistory(hist, iv);
        this.histId = hist.id;
        mergeTrades(this.bars, cur.ticks, cur.ticks.first, hist.id, iv);
        this.bars = this.bars.slice(-MAX_BARS / 2);
        this.built = cur.ticks.total;
        this.loadedFor = key;
        this.setAll(true);
        this.say(this.bars.length ? '' : 'No trades yet.');
      })
      .catch((err: unknown) => {
        if (seq !== this.loadSeq || (err instanceof DOMException && err.name === 'AbortError')) return;
        this.loading = null;
        // No history (an older server, a network error): the trades this page has seen.
        const cur = this.store.rows.get(sym);
        this.bars = cur ? buildBars(cur.ticks, iv).slice(-MAX_BARS / 2) : [];
        this.histId = null;
        this.built = cur?.ticks.total ?? 0;
        this.loadedFor = key;
        this.setAll(true);
        this.say(`No history (${String(err instanceof Error ? err.message : err)}): showing the trades since the page opened.`);
      });
  }

  /** Gives the series every bar; fit: show them all (on open). */
  private setAll(fit: boolean): void {
    if (!this.candles || !this.volume) return;
    this.candles.setData(this.bars as unknown as CandlestickData[]);
    this.volume.setData(this.bars.map((b) => this.volData(b)));
    if (fit && this.bars.length) this.chart?.timeScale().fitContent();
    if (!this.hovering) this.paintLegend(this.bars[this.bars.length - 1]);
  }

  paint(f: Frame): void {
    if (f.paused || !this.chart || !this.candles || !this.volume || !this.sym) return;
    const row = this.store.rows.get(this.sym) ?? null;
    if (!row) {
      if (this.bars.length) {
        this.bars = [];
        this.setAll(false);
      }
      return;
    }
    // A new symbol or interval, a new row object (after a reset) or a fresh
    // snapshot (back from a throttled spell, which may have left trades out
    // of the ring): start again from the history.
    if (this.needLoad || row !== this.row || this.store.snapshots !== this.snapSeen) {
      this.row = row;
      this.snapSeen = this.store.snapshots;
      this.load(row);
      return;
    }
    if (this.loading) return; // the history decides where the live trades start
    const ring = row.ticks;
    if (ring.total - this.built > ring.capacity) {
      this.needLoad = true; // trades fell out of the ring before we folded them
      return;
    }
    // Ten updates a second are plenty for candles (four in a fast market); the chart redraws whole canvases on each.
    if (ring.total === this.built || f.now - this.lastUpdate < (f.fast ? 250 : 100)) return;
    this.lastUpdate = f.now;
    const lastTime = this.bars.length ? this.bars[this.bars.length - 1].time : -Infinity;
    const { touched, late } = mergeTrades(this.bars, ring, this.built, this.histId, this.interval);
    this.late += late;
    this.built = ring.total;
    if (this.bars.length > MAX_BARS) {
      this.bars = this.bars.slice(-MAX_BARS / 2);
      this.setAll(false);
      return;
    }
    for (const b of touched) {
      if (b.time < lastTime) continue; // never older than what the series holds
      try {
        this.candles.update(b as unknown as CandlestickData);
        this.volume.update(this.volData(b));
      } catch {
        this.setAll(false); // rebuild rather than throw
        break;
      }
    }
    if (touched.length && this.note.textContent === 'No trades yet.') this.say('');
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
      this.legend.replaceChildren();
      return;
    }
    const q = this.row?.quote;
    const chg = b.close - b.open;
    const parts = [
      fmtTime(b.t),
      `O ${fmtPrice(b.open)}`,
      `H ${fmtPrice(b.high)}`,
      `L ${fmtPrice(b.low)}`,
      `C ${fmtPrice(b.close)}`,
      `${fmtChange(chg)} (${fmtPct(b.open ? (chg / b.open) * 100 : 0)})`,
      `V ${fmtVolume(b.volume)}`,
    ];
    if (q && !this.hovering) parts.push(`day ${fmtPct(q.changePct)}`);
    const kids = this.legend.children;
    if (kids.length !== parts.length) this.legend.replaceChildren(...parts.flatMap((_, i) => (i ? [' ', h('span')] : [h('span')])));
    parts.forEach((s, i) => {
      const el = this.legend.children[i] as HTMLElement;
      setText(el, s);
    });
  }
}
