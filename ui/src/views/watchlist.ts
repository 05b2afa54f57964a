// The watchlist: a virtual grid that paints only its visible rows, only what
// changed, at most once per frame. Sorting re-sorts at most once a second
// while prices tick, so rows do not jump under the pointer.

import { Cell, getVar, h, setText, signClass } from '../dom';
import { fmtChange, fmtPct, fmtPrice, fmtScore, fmtTime, fmtVolume } from '../format';
import type { Frame, View } from '../render';
import type { Row, Store } from '../store';

const ROW_H = 28;
const FLASH_MS = 700;
const STALE_MS = 30000;
const RESORT_MS = 1000;
const SPARK_POINTS = 48;
const SPARK_W = 64;

type Key = 'sym' | 'name' | 'last' | 'chg' | 'pct' | 'vol' | 'time' | 'score';

interface Col {
  id: string;
  label: string;
  title: string;
  key?: Key;
  num?: boolean;
}

const COLS: Col[] = [
  { id: 'sym', label: 'Symbol', title: 'Symbol', key: 'sym' },
  { id: 'name', label: 'Name', title: 'Company name', key: 'name' },
  { id: 'last', label: 'Last', title: 'Last trade price', key: 'last', num: true },
  { id: 'chg', label: 'Chg', title: 'Change since previous close', key: 'chg', num: true },
  { id: 'pct', label: '%Chg', title: 'Change since previous close, per cent', key: 'pct', num: true },
  { id: 'ba', label: 'Bid / Ask', title: 'Best bid and ask', num: true },
  { id: 'hl', label: 'Low – High', title: "Day's low and high", num: true },
  { id: 'vol', label: 'Volume', title: "Day's volume", key: 'vol', num: true },
  { id: 'time', label: 'Time', title: 'Time of the last trade', key: 'time', num: true },
  { id: 'score', label: 'Score', title: 'Score: −100 strong sell … +100 strong buy', key: 'score', num: true },
  { id: 'spark', label: 'Trend', title: 'Recent trades' },
];

const GETTERS: Record<Key, (r: Row) => number | string> = {
  sym: (r) => r.sym,
  name: (r) => r.info?.name ?? '',
  last: (r) => r.quote?.price ?? -Infinity,
  chg: (r) => r.quote?.change ?? -Infinity,
  pct: (r) => r.quote?.changePct ?? -Infinity,
  vol: (r) => r.quote?.volume ?? -Infinity,
  time: (r) => r.quote?.ts ?? -Infinity,
  score: (r) => r.score?.score ?? -Infinity,
};

/** One pooled row element and what it currently shows. */
class RowView {
  readonly el: HTMLElement;
  readonly cells: Record<string, Cell>;
  readonly arrow: HTMLElement;
  sym = '';
  index = -1;
  flashing = 0; // 1 or -1 while the flash class is on
  flashAt = -Infinity;
  sparkTotal = -1;
  classes = '';

  constructor(onClick: (rv: RowView) => void) {
    this.cells = {};
    const kids: HTMLElement[] = [];
    for (const c of COLS) {
      const el = h('div', { role: 'gridcell', class: `c-${c.id}${c.num ? ' num' : ''}` });
      kids.push(el);
      this.cells[c.id] = new Cell(el);
    }
    this.arrow = h('span.arrow', { 'aria-hidden': 'true' });
    this.el = h('div.wl-row', { role: 'row' }, ...kids);
    this.el.addEventListener('click', () => onClick(this));
  }
}

export interface WatchlistOptions {
  /** The selection moved (arrows, click). */
  onSelect(sym: string): void;
  /** A row was chosen (Enter, double click): show it in the chart. */
  onOpen(sym: string): void;
}

export class Watchlist implements View {
  readonly el: HTMLElement;
  readonly filterInput: HTMLInputElement;
  readonly grid: HTMLElement;
  private readonly body: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly countEl: HTMLElement;
  private readonly heads = new Map<string, HTMLElement>();
  private readonly pool: RowView[] = [];
  /** One canvas draws the sparklines of every visible row: one layer instead of one per row. */
  private readonly spark: HTMLCanvasElement;
  private sparkFirst = -1;
  private sparkRows = 0;
  private sparkDpr = 0;

  private list: string[] = [];
  private listVersion = -1;
  private filter = '';
  private filterDirty = true;
  private sortKey: Key | null = null;
  private sortDir: 1 | -1 = -1;
  private sortNeeded = true;
  private lastSort = 0;

  private scrollTop = 0;
  private viewH = 600;
  private layoutDirty = true;
  private lastStaleCheck = 0;
  private dpr = 1;

  selected: string | null = null;
  private selectionDirty = true;

  constructor(
    private readonly store: Store,
    private readonly opts: WatchlistOptions,
  ) {
    this.filterInput = h('input.wl-filter', {
      type: 'search',
      placeholder: 'Filter symbols  ( / )',
      'aria-label': 'Filter the watchlist by symbol, name or sector',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    this.countEl = h('span.wl-count', { 'aria-live': 'polite' });
    const headRow = h('div.wl-row.wl-headrow', { role: 'row', 'aria-rowindex': 1 });
    for (const c of COLS) {
      const cell = h('div', { role: 'columnheader', class: `c-${c.id}${c.num ? ' num' : ''}`, title: c.title });
      if (c.key) {
        const key = c.key;
        cell.setAttribute('aria-sort', 'none');
        const b = h('button.sort', { type: 'button', text: c.label });
        b.addEventListener('click', () => this.sortBy(key));
        cell.append(b);
      } else cell.textContent = c.label;
      this.heads.set(c.id, cell);
      headRow.append(cell);
    }
    this.spark = h('canvas.wl-spark', { 'aria-hidden': 'true' });
    this.spacer = h('div.wl-spacer', {}, this.spark);
    this.body = h('div.wl-body', { role: 'rowgroup' }, this.spacer);
    this.grid = h(
      'div.wl-grid',
      { role: 'grid', 'aria-label': 'Watchlist', 'aria-colcount': COLS.length, 'aria-readonly': 'true', tabindex: 0 },
      h('div.wl-head', { role: 'rowgroup' }, headRow),
      this.body,
    );
    this.el = h(
      'section.panel.watchlist',
      { 'aria-label': 'Watchlist' },
      h('div.panel-head', {}, h('h2', { text: 'Watchlist' }), this.filterInput, this.countEl),
      this.grid,
    );

    this.filterInput.addEventListener('input', () => {
      this.filter = this.filterInput.value.trim().toLowerCase();
      this.filterDirty = true;
      this.body.scrollTop = 0;
      this.scrollTop = 0;
      this.layoutDirty = true;
      this.request();
    });
    this.filterInput.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        this.filterInput.value = '';
        this.filterInput.dispatchEvent(new Event('input'));
        this.grid.focus();
      } else if (e.key === 'ArrowDown' || e.key === 'Enter') {
        e.preventDefault();
        this.grid.focus();
        if (!this.selected && this.list.length) this.select(this.list[0]);
      }
    });
    this.body.addEventListener(
      'scroll',
      () => {
        this.scrollTop = this.body.scrollTop;
        this.layoutDirty = true;
        this.request();
      },
      { passive: true },
    );
    new ResizeObserver((entries) => {
      for (const e of entries) this.viewH = e.contentRect.height;
      this.dpr = window.devicePixelRatio || 1;
      this.layoutDirty = true;
      this.request();
    }).observe(this.body);
    this.grid.addEventListener('dblclick', () => {
      if (this.selected) this.opts.onOpen(this.selected);
    });
  }

  /** Redraws what depends on the theme's colours (the sparklines). */
  retheme(): void {
    this.sparkFirst = -1;
    this.request();
  }

  /** Set by main: asks the renderer for a frame. */
  request: () => void = () => {};

  /** The symbols in display order (filtered and sorted), for the keyboard and the tests. */
  get order(): readonly string[] {
    return this.list;
  }

  sortBy(key: Key): void {
    if (this.sortKey === key) this.sortDir = this.sortDir === 1 ? -1 : 1;
    else {
      this.sortKey = key;
      this.sortDir = key === 'sym' || key === 'name' ? 1 : -1;
    }
    for (const c of COLS) {
      const head = this.heads.get(c.id)!;
      if (!c.key) continue;
      head.setAttribute('aria-sort', c.key === this.sortKey ? (this.sortDir === 1 ? 'ascending' : 'descending') : 'none');
    }
    this.sortNeeded = true;
    this.lastSort = 0;
    this.request();
  }

  /** Moves the selection by delta rows in display order. */
  move(delta: number): void {
    if (!this.list.length) return;
    const i = this.selected ? this.list.indexOf(this.selected) : -1;
    const j = Math.max(0, Math.min(this.list.length - 1, i < 0 ? 0 : i + delta));
    this.select(this.list[j]);
    this.scrollIntoView(j);
  }

  select(sym: string): void {
    if (this.selected === sym) return;
    this.selected = sym;
    this.selectionDirty = true;
    this.opts.onSelect(sym);
    this.request();
  }

  private scrollIntoView(i: number): void {
    const top = i * ROW_H;
    if (top < this.scrollTop) this.body.scrollTop = top;
    else if (top + ROW_H > this.scrollTop + this.viewH) this.body.scrollTop = top + ROW_H - this.viewH;
  }

  private rebuildList(): void {
    const f = this.filter;
    const out: string[] = [];
    for (const r of this.store.rows.values()) {
      if (f) {
        const hay = `${r.sym} ${r.info?.name ?? ''} ${r.info?.sector ?? ''}`.toLowerCase();
        if (!hay.includes(f)) continue;
      }
      out.push(r.sym);
    }
    this.list = out;
    this.sortNeeded = true;
  }

  private sort(): void {
    const key = this.sortKey;
    if (!key) {
      this.sortNeeded = false;
      return;
    }
    const get = GETTERS[key];
    const dir = this.sortDir;
    const rows = this.store.rows;
    const vals = new Map<string, number | string>();
    for (const s of this.list) vals.set(s, get(rows.get(s)!));
    this.list.sort((a, b) => {
      const x = vals.get(a)!;
      const y = vals.get(b)!;
      const c = x < y ? -1 : x > y ? 1 : 0;
      return c !== 0 ? c * dir : a < b ? -1 : 1;
    });
    this.sortNeeded = false;
  }

  paint(f: Frame): boolean {
    if (f.paused) return false;
    let orderChanged = false;
    if (f.version !== this.listVersion || this.filterDirty) {
      this.listVersion = f.version;
      this.filterDirty = false;
      this.rebuildList();
      orderChanged = true;
    }
    // Re-sort for a new key at once, for ticking values at most once a second.
    if (this.sortKey && (this.sortNeeded || (f.dirty.size > 0 && f.now - this.lastSort > RESORT_MS))) {
      const before = this.list.join();
      this.sort();
      this.lastSort = f.now;
      if (this.list.join() !== before) orderChanged = true;
    }
    if (orderChanged || this.layoutDirty) {
      this.spacer.style.height = `${this.list.length * ROW_H}px`;
      this.grid.setAttribute('aria-rowcount', String(this.list.length + 1));
      const total = this.store.rows.size;
      // A live region: written only when the words change, or screen readers repeat it.
      setText(this.countEl, this.list.length === total ? `${total} symbols` : `${this.list.length} of ${total}`);
    }

    const first = Math.max(0, Math.floor(this.scrollTop / ROW_H) - 2);
    const last = Math.min(this.list.length, Math.ceil((this.scrollTop + this.viewH) / ROW_H) + 2);
    const need = last - first;
    while (this.pool.length < need) {
      const rv = new RowView((r) => {
        this.select(r.sym);
        this.opts.onOpen(r.sym);
      });
      this.pool.push(rv);
      this.spacer.append(rv.el);
    }
    // The sparkline canvas covers the visible rows; a new window redraws it whole.
    const sparkAll = first !== this.sparkFirst || need !== this.sparkRows || this.dpr !== this.sparkDpr || orderChanged;
    if (sparkAll) {
      this.sparkFirst = first;
      this.sparkRows = need;
      this.sparkDpr = this.dpr;
      this.spark.style.transform = `translateY(${first * ROW_H}px)`;
      this.spark.style.height = `${need * ROW_H}px`;
      const w = Math.round(SPARK_W * this.dpr);
      const hh = Math.round(need * ROW_H * this.dpr);
      if (this.spark.width !== w || this.spark.height !== hh) {
        this.spark.width = w;
        this.spark.height = hh;
      } else this.spark.getContext('2d')?.clearRect(0, 0, w, hh);
      for (const rv of this.pool) rv.sparkTotal = -1;
    }
    const staleTick = f.wall - this.lastStaleCheck > 1000;
    if (staleTick) this.lastStaleCheck = f.wall;
    let animating = false;
    for (let j = 0; j < this.pool.length; j++) {
      const rv = this.pool[j];
      const i = first + j;
      if (i >= last) {
        if (rv.sym !== '') {
          rv.el.hidden = true;
          rv.sym = '';
          rv.index = -1;
          rv.classes = rv.el.className = 'wl-row';
        }
        continue;
      }
      const sym = this.list[i];
      const row = this.store.rows.get(sym);
      if (!row) continue;
      let full = false;
      if (rv.sym !== sym) {
        rv.sym = sym;
        rv.el.hidden = false;
        rv.sparkTotal = -1;
        rv.flashAt = row.tickAt; // no flash for a row that merely scrolled in
        full = true;
      }
      if (rv.index !== i) {
        rv.index = i;
        rv.el.style.transform = `translateY(${i * ROW_H}px)`;
        rv.el.setAttribute('aria-rowindex', String(i + 2));
      }
      if (full || f.dirty.has(sym) || staleTick || this.selectionDirty || rv.flashing || rv.sparkTotal === -1) {
        if (this.paintRow(rv, row, f, full)) animating = true;
      }
    }
    this.selectionDirty = false;
    this.layoutDirty = false;
    return animating;
  }

  private paintRow(rv: RowView, r: Row, f: Frame, full: boolean): boolean {
    const q = r.quote;
    const c = rv.cells;
    if (full) {
      c.sym.set(r.sym);
      c.name.set(r.info?.name ?? '');
      c.name.el.title = r.info ? `${r.info.name} · ${r.info.sector}` : '';
    }
    const last = fmtPrice(q?.price);
    if (c.last.el.lastChild !== null && c.last.el.firstChild === rv.arrow) {
      const t = c.last.el.lastChild as Text;
      if (t.data !== last) t.data = last;
    } else {
      c.last.el.replaceChildren(rv.arrow, document.createTextNode(last));
    }
    const dirCls = r.tick === 1 ? 'arrow up' : r.tick === -1 ? 'arrow down' : 'arrow';
    if (rv.arrow.className !== dirCls) {
      rv.arrow.className = dirCls;
      rv.arrow.textContent = r.tick === 1 ? '▲' : r.tick === -1 ? '▼' : '';
    }
    c.chg.set(fmtChange(q?.change));
    c.chg.cls(`c-chg num ${signClass(q?.change)}`);
    c.pct.set(fmtPct(q?.changePct));
    c.pct.cls(`c-pct num ${signClass(q?.changePct)}`);
    c.ba.set(q ? `${fmtPrice(q.bid)} / ${fmtPrice(q.ask)}` : '–');
    c.hl.set(q ? `${fmtPrice(q.low)} – ${fmtPrice(q.high)}` : '–');
    c.vol.set(fmtVolume(q?.volume));
    c.time.set(fmtTime(q?.ts));

    const halted = r.status?.state === 'halted';
    if (halted) {
      c.score.set('HALT');
      c.score.cls('c-score num badge halt');
      c.score.el.title = `Halted: ${r.status?.reason ?? ''}`;
    } else {
      const s = r.score?.score;
      c.score.set(fmtScore(s));
      c.score.cls(`c-score num badge ${s === undefined ? '' : s >= 50 ? 'b-sbuy' : s >= 15 ? 'b-buy' : s <= -50 ? 'b-ssell' : s <= -15 ? 'b-sell' : 'b-hold'}`);
      c.score.el.title = r.score
        ? `Score ${fmtScore(s)} · momentum ${r.score.momentum.toFixed(2)} · RSI ${r.score.rsi.toFixed(0)} · volatility ${r.score.volatility.toFixed(3)}`
        : '';
    }

    // The flash: on for FLASH_MS after an up or down tick.
    let flash = 0;
    if (r.tickAt > rv.flashAt) {
      rv.flashAt = r.tickAt;
    }
    if (f.now - rv.flashAt < FLASH_MS && r.tick !== 0) flash = r.tick;
    rv.flashing = flash;

    const stale = halted || f.wall - r.seenAt > STALE_MS;
    const cls = `wl-row${this.selected === r.sym ? ' selected' : ''}${stale ? ' stale' : ''}${flash === 1 ? ' flash-up' : flash === -1 ? ' flash-down' : ''}`;
    if (rv.classes !== cls) {
      rv.classes = cls;
      rv.el.className = cls;
      rv.el.setAttribute('aria-selected', String(this.selected === r.sym));
    }

    if (rv.sparkTotal !== r.ticks.total) {
      rv.sparkTotal = r.ticks.total;
      this.drawSpark((rv.index - this.sparkFirst) * ROW_H, r);
    }
    return flash !== 0;
  }

  /** Draws one row's sparkline into its strip of the shared canvas, top at y (CSS px). */
  private drawSpark(y: number, r: Row): void {
    const w = SPARK_W;
    const hgt = ROW_H;
    const ctx = this.spark.getContext('2d');
    if (!ctx) return;
    const dpr = this.dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, y * dpr);
    ctx.clearRect(0, 0, w, hgt);
    ctx.translate(0, (ROW_H - 18) / 2);
    const sh = 18;
    const t = r.ticks;
    const from = Math.max(t.first, t.total - SPARK_POINTS);
    const n = t.total - from;
    if (n < 2) return;
    let lo = Infinity;
    let hi = -Infinity;
    t.each(from, (_ts, p) => {
      if (p < lo) lo = p;
      if (p > hi) hi = p;
    });
    const span = hi - lo || 1;
    const first = t.price[from % t.capacity];
    const lastP = t.price[(t.total - 1) % t.capacity];
    ctx.strokeStyle = lastP >= first ? getVar('--up') : getVar('--down');
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    let k = 0;
    t.each(from, (_ts, p) => {
      const x = (k / (n - 1)) * (w - 2) + 1;
      const y = sh - 2 - ((p - lo) / span) * (sh - 4);
      if (k === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
      k++;
    });
    ctx.stroke();
  }
}
