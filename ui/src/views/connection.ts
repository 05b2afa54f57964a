// The connection panel: transport (switchable live), state, events/s, age of
// the last event, reconnects, delivery latency p50/p99 with a small uPlot
// chart of the last two minutes, and a warning when the stream looks
// buffered by a proxy.

import uPlot from 'uplot';
import { Cell, getVar, h } from '../dom';
import { fmtAge, fmtInt, fmtMs, fmtRate } from '../format';
import type { HubToTab } from '../hub';
import type { Frame, View } from '../render';
import type { ConnStats, Transport } from '../stream';

const HISTORY = 240; // points, one per stats message (every 500 ms)

type StatsMsg = Extract<HubToTab, { t: 'stats' }>;

export class ConnectionPanel implements View {
  readonly el: HTMLElement;
  private readonly radios: Record<Transport, HTMLInputElement>;
  private readonly state = new Cell(h('span.state'));
  private readonly rate = new Cell(h('dd.num'));
  private readonly age = new Cell(h('dd.num'));
  private readonly reconnects = new Cell(h('dd.num'));
  private readonly resets = new Cell(h('dd.num'));
  private readonly gaps = new Cell(h('dd.num'));
  private readonly p50 = new Cell(h('dd.num'));
  private readonly p99 = new Cell(h('dd.num'));
  private readonly lastId = new Cell(h('dd.num.id-pair'));
  private readonly mode = new Cell(h('dd'));
  private readonly warn: HTMLElement;
  private readonly plotBox: HTMLElement;
  private plot: uPlot | null = null;
  private readonly data: [number[], number[], number[]] = [[], [], []];

  private msg: StatsMsg | null = null;
  private statsTransport: Transport | null = null;
  private msgAt = 0;
  private dirty = false;

  /** The latest stats, for the header badge and the tests. */
  get stats(): ConnStats | null {
    return this.msg?.stats ?? null;
  }

  /** performance.now() when the latest stats came. */
  get statsAt(): number {
    return this.msgAt;
  }

  constructor(onTransport: (t: Transport) => void) {
    const radio = (t: Transport, label: string) => {
      const input = h('input', { type: 'radio', name: 'transport', value: t, id: `tr-${t}` });
      input.addEventListener('change', () => input.checked && onTransport(t));
      return { input, label: h('label', { for: `tr-${t}` }, input, ` ${label}`) };
    };
    const sse = radio('sse', 'SSE');
    const ws = radio('ws', 'WebSocket');
    this.radios = { sse: sse.input, ws: ws.input };
    this.warn = h('p.warn', { role: 'alert', hidden: true });
    this.plotBox = h('div.latency-plot', { 'aria-label': 'Delivery latency p50 and p99 over the last two minutes', role: 'img' });
    const dl = h(
      'dl.stats',
      {},
      h('dt', { text: 'Events/s' }),
      this.rate.el,
      h('dt', { text: 'Last event' }),
      this.age.el,
      h('dt', { text: 'Latency p50' }),
      this.p50.el,
      h('dt', { text: 'Latency p99' }),
      this.p99.el,
      h('dt', { text: 'Reconnects' }),
      this.reconnects.el,
      h('dt', { text: 'Resets' }),
      this.resets.el,
      h('dt', { text: 'Gaps', title: 'Event ids missed on the full-rate stream' }),
      this.gaps.el,
      h('dt', { text: 'Stream' }),
      this.mode.el,
      h('dt.id-pair', { text: 'Last id' }),
      this.lastId.el,
    );
    this.el = h(
      'section.panel.connection',
      { 'aria-label': 'Connection' },
      h('div.panel-head', {}, h('h2', { text: 'Connection' }), this.state.el),
      h('div.conn-main', {}, h('div.conn-info', {}, h('fieldset.transport', {}, h('legend', { text: 'Transport' }), sse.label, ws.label), dl, this.warn), this.plotBox),
    );
  }

  setTransport(t: Transport): void {
    this.radios[t].checked = true;
  }

  /** Called by main for each stats message from the hub. */
  update(m: StatsMsg, now: number): void {
    // now: performance.now(), for the age; the chart's x axis is wall-clock seconds.
    this.msg = m;
    this.msgAt = now;
    this.dirty = true;
    const s = m.stats;
    const d = this.data;
    d[0].push(Date.now() / 1000);
    d[1].push(Number.isFinite(s.p50) ? s.p50 : (null as unknown as number));
    d[2].push(Number.isFinite(s.p99) ? s.p99 : (null as unknown as number));
    if (d[0].length > HISTORY) for (const a of d) a.shift();
  }

  /** The theme changed: uPlot takes its colours at creation, so make the small chart again. */
  retheme(): void {
    if (!this.plot) return;
    this.plot.destroy();
    this.plot = null;
    this.mount();
  }

  mount(): void {
    const w = Math.max(160, this.plotBox.clientWidth || 280);
    this.plot = new uPlot(
      {
        width: w,
        height: Math.max(60, this.plotBox.clientHeight || 90),
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { auto: true, range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [
          { stroke: getVar('--muted'), grid: { stroke: getVar('--grid') }, ticks: { show: false }, size: 24, font: '10px system-ui', values: '{HH}:{mm}:{ss}' },
          { stroke: getVar('--muted'), grid: { stroke: getVar('--grid') }, ticks: { show: false }, size: 44, font: '10px system-ui', values: (_u, v) => v.map((x) => (x == null ? '' : `${+x.toFixed(2)} ms`)) },
        ],
        series: [{}, { label: 'p50', stroke: getVar('--accent'), width: 1.5, points: { show: false } }, { label: 'p99', stroke: getVar('--warn'), width: 1.5, points: { show: false } }],
      },
      this.data,
      this.plotBox,
    );
    if (this.observed) return;
    this.observed = true;
    new ResizeObserver((es) => {
      for (const e of es) if (this.plot && e.contentRect.width > 0) this.plot.setSize({ width: e.contentRect.width, height: Math.max(60, e.contentRect.height) });
    }).observe(this.plotBox);
  }

  private observed = false;

  paint(f: Frame): void {
    if (f.paused) return;
    const m = this.msg;
    if (!m) return;
    const s = m.stats;
    const stateText = s.state === 'open' ? (s.throttle ? `live · throttled ${s.throttle}` : 'live') : s.state;
    this.state.set(stateText);
    this.state.cls(`state st-${s.state}`);
    // Follow the stream's transport only when it changes (another tab switched it): a stats message
    // already on its way must not undo the choice just clicked.
    if (s.transport !== this.statsTransport) {
      this.statsTransport = s.transport;
      this.radios[s.transport].checked = true;
    }
    this.rate.set(fmtRate(s.eventsPerSec));
    this.age.set(s.lastEventAge === null ? '–' : `${fmtAge(s.lastEventAge + (f.now - this.msgAt))} ago`);
    this.p50.set(fmtMs(s.p50));
    this.p99.set(fmtMs(s.p99));
    this.reconnects.set(fmtInt(s.reconnects));
    this.resets.set(fmtInt(s.resets));
    this.gaps.set(fmtInt(s.gaps));
    this.lastId.set(s.lastId === null ? '–' : String(s.lastId));
    this.mode.set(m.shared ? `shared by ${m.tabs} tab${m.tabs === 1 ? '' : 's'}` : 'this tab only');
    const warn = s.buffered ?? '';
    if (this.warn.textContent !== warn) {
      this.warn.textContent = warn ? `⚠ ${warn}` : '';
      this.warn.hidden = !warn;
    }
    if (this.dirty && this.plot) {
      this.dirty = false;
      this.plot.setData(this.data);
    }
  }
}
