// The watchlist: a virtual grid that paints only its visible rows, only what
// changed, at most once per frame. Sorting re-sorts at most once a second
// while prices tick, so rows do not jump under the pointer.
//
// Its columns are laid out from what they must hold: each column is as wide
// as its widest title (with room for a sort arrow) or its widest value, as
// measured in the page's own fonts for the prices this market has; the
// columns that do not fit are left out, least useful first, and a phone
// shows symbol, last, %chg and the sparkline. So no two texts ever overlap,
// whether a price is $22 or $650,000.

import { Cell, getVar, h, setText, signClass } from '../dom';
import { fmtChange, fmtPct, fmtPrice, fmtScore, fmtTime, fmtVolume } from '../format';
import type { Scope, SortKey } from '../prefs';
import type { Frame, View } from '../render';
import { sparkPrices } from '../seed';
import type { Row, Seed, Store } from '../store';

const ROW_H = 28;
const FLASH_MS = 700;
/** A row whose last trade is older than this (on the server's clock) fades. */
export const STALE_MS = 30000;
const RESORT_MS = 1000;
/** The trades a sparkline draws, the newest. */
export const SPARK_POINTS = 48;
const SPARK_W = 64;
const GAP = 6; // px between columns
const PAD = 4; // px at either end of a row
const NAME_MIN = 90; // px: a name column narrower than this is left out
const PHONE = '(max-width: 480px)';

type Key = SortKey;

interface Col {
  id: string;
  label: string;
  title: string;
  key?: Key;
  num?: boolean;
  /** Left out when space runs short: 1 first. Columns without it always show. */
  drop?: number;
  /** Shown on a phone. */
  phone?: boolean;
}

const COLS: Col[] = [
  { id: 'star', label: '★', title: 'My list: ★ a row to keep it there', phone: true },
  { id: 'sym', label: 'Symbol', title: 'Symbol', key: 'sym', phone: true },
  { id: 'name', label: 'Name', title: 'Company name', key: 'name', drop: 5 },
  { id: 'last', label: 'Last', title: 'Last trade price', key: 'last', num: true, phone: true },
  { id: 'chg', label: 'Chg', title: 'Change since previous close', key: 'chg', num: true, drop: 6 },
  { id: 'pct', label: '%Chg', title: 'Change since previous close, per cent', key: 'pct', num: true, phone: true },
  { id: 'ba', label: 'Bid / Ask', title: 'Best bid and ask', num: true, drop: 3 },
  { id: 'hl', label: 'Low – High', title: "Day's low and high", num: true, drop: 1 },
  { id: 'vol', label: 'Volume', title: "Day's volume", key: 'vol', num: true, drop: 4 },
  { id: 'time', label: 'Time', title: 'Time of the last trade', key: 'time', num: true, drop: 2 },
  { id: 'score', label: 'Score', title: 'Score: −100 strong sell … +100 strong buy', key: 'score', num: true, drop: 7 },
  { id: 'spark', label: 'Trend', title: 'Recent trades', phone: true },
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

/** The smallest power of ten above x (at least 100): the widths are laid out for values below it. */
const capOf = (x: number): number => Math.max(100, 10 ** Math.ceil(Math.log10(Math.abs(x) * 1.02 + 0.01)));
/** A formatted value with every digit an 8, the widest digit in most fonts even with tabular numbers. */
const widest = (s: string): string => s.replace(/\d/g, '8');

/** One pooled row element and what it currently shows. */
class RowView {
  readonly el: HTMLElement;
  readonly cells: Record<string, Cell>;
  readonly arrow: HTMLElement;
  readonly star: HTMLButtonElement;
  sym = '';
  index = -1;
  flashing = 0; // 1 or -1 while the flash class is on
  flashAt = -Infinity;
  sparkTotal = -1;
  sparkSeed: Seed | undefined;
  classes = '';
  starred: boolean | null = null;

  constructor(onClick: (rv: RowView) => void, onStar: (rv: RowView, pointer: boolean) => void) {
    this.cells = {};
    const kids: HTMLElement[] = [];
    this.star = h('button.star', { type: 'button' });
    this.star.addEventListener('click', (e) => {
      e.stopPropagation();
      onStar(this, e.detail > 0);
    });
    this.star.tabIndex = -1; // the list is one tab stop; the keyboard stars the selected row with s
    for (const c of COLS) {
      const el = h('div', { role: 'gridcell', class: `c-${c.id}${c.num ? ' num' : ''}` });
      if (c.id === 'star') el.append(this.star);
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
  /** A row was chosen (Enter, click, tap): show it in the chart. */
  onOpen(sym: string): void;
  /** My list, the scope or the sort changed: remember them. */
  onChange?(what: { mine: string[]; scope: Scope; sort: { key: Key; dir: 1 | -1 } | null }): void;
  /** Something worth saying to a screen reader. */
  announce?(msg: string): void;
}

export class Watchlist implements View {
  readonly el: HTMLElement;
  readonly filterInput: HTMLInputElement;
  readonly grid: HTMLElement;
  private readonly body: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly countEl: HTMLElement;
  private readonly emptyEl: HTMLElement;
  private readonly addBtn: HTMLButtonElement;
  private readonly scopeBtns: Record<Scope, HTMLButtonElement>;
  private readonly headRow: HTMLElement;
  private readonly heads = new Map<string, { cell: HTMLElement; arrow: HTMLElement | null }>();
  private readonly pool: RowView[] = [];
  /** One canvas draws the sparklines of every visible row: one layer instead of one per row. */
  private readonly spark: HTMLCanvasElement;
  private sparkFirst = -1;
  private sparkRows = 0;
  private sparkDpr = 0;

  // Column layout (see layout()).
  private readonly sheet: HTMLStyleElement;
  private readonly measureBox: HTMLElement;
  private layoutNeeded = true;
  private priceCap = 0;
  private chgCap = 0;
  private pctCap = 0;
  private symLen = 0;
  private readonly phone = matchMedia(PHONE);

  private list: string[] = [];
  private listVersion = -1;
  private filter = '';
  private filterDirty = true;
  private sortKey: Key | null = null;
  private sortDir: 1 | -1 = -1;
  private sortNeeded = true;
  private lastSort = 0;

  private mine: string[] = [];
  private mineSet = new Set<string>();
  private scope: Scope = 'all';

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
      placeholder: 'Filter or add  ( / )',
      'aria-label': 'Filter the watchlist by symbol, name or sector; Add puts the symbol typed on my list',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    this.addBtn = h('button.wl-add', { type: 'button', text: '+ Add', title: 'Add the symbol typed to my list', disabled: true });
    this.addBtn.addEventListener('click', () => this.addTyped());
    this.countEl = h('span.wl-count', { 'aria-live': 'polite' });
    const scopeBtn = (s: Scope, text: string, title: string) => {
      const b = h('button.scope', { type: 'button', text, title, 'aria-pressed': 'false' });
      b.addEventListener('click', () => this.setScope(s));
      return b;
    };
    this.scopeBtns = { all: scopeBtn('all', 'All', 'Every symbol of the market'), mine: scopeBtn('mine', 'My list', 'Only the symbols of my list (★)') };
    this.headRow = h('div.wl-row.wl-headrow', { role: 'row', 'aria-rowindex': 1 });
    for (const c of COLS) {
      const cell = h('div', { role: 'columnheader', class: `c-${c.id}${c.num ? ' num' : ''}`, title: c.title });
      let arrow: HTMLElement | null = null;
      if (c.key) {
        const key = c.key;
        cell.setAttribute('aria-sort', 'none');
        arrow = h('span.sort-arrow', { 'aria-hidden': 'true' });
        const b = h('button.sort', { type: 'button' }, h('span', { text: c.label }), arrow);
        b.addEventListener('click', (e) => {
          this.sortBy(key);
          // A click with the pointer leaves the keyboard on the list, so that
          // Enter opens the selected row instead of sorting again.
          if (e.detail > 0) this.grid.focus();
        });
        cell.append(b);
      } else cell.textContent = c.label;
      this.heads.set(c.id, { cell, arrow });
      this.headRow.append(cell);
    }
    this.spark = h('canvas.wl-spark', { 'aria-hidden': 'true' });
    this.spacer = h('div.wl-spacer', {}, this.spark);
    this.emptyEl = h('p.wl-empty', { hidden: true });
    this.body = h('div.wl-body', { role: 'rowgroup' }, this.spacer, this.emptyEl);
    this.measureBox = h('div.wl-measure', { 'aria-hidden': 'true' });
    this.sheet = h('style');
    this.grid = h(
      'div.wl-grid',
      { role: 'grid', 'aria-label': 'Watchlist', 'aria-colcount': COLS.length, 'aria-readonly': 'true', tabindex: 0 },
      h('div.wl-head', { role: 'rowgroup' }, this.headRow),
      this.body,
      this.measureBox,
    );
    this.el = h(
      'section.panel.watchlist',
      { 'aria-label': 'Watchlist' },
      this.sheet,
      h(
        'div.panel-head.wl-tools',
        {},
        h('h2', { text: 'Watchlist' }),
        h('div.scopes', { role: 'group', 'aria-label': 'Which symbols' }, this.scopeBtns.all, this.scopeBtns.mine),
        h('div.wl-search', {}, this.filterInput, this.addBtn),
        this.countEl,
      ),
      this.grid,
      h('p.wl-foot', { text: `Faded rows: no trade for ${STALE_MS / 1000} s or more.` }),
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
        if (this.list.length && (!this.selected || !this.list.includes(this.selected))) this.select(this.list[0]);
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
    let width = -1;
    new ResizeObserver((entries) => {
      for (const e of entries) {
        this.viewH = e.contentRect.height;
        if (e.contentRect.width !== width) {
          width = e.contentRect.width;
          this.layoutNeeded = true;
        }
      }
      this.dpr = window.devicePixelRatio || 1;
      this.layoutDirty = true;
      this.request();
    }).observe(this.body);
    this.phone.addEventListener('change', () => {
      this.layoutNeeded = true;
      this.request();
    });
    // Web fonts (or a slow system font) change every width: measure again.
    void document.fonts?.ready.then(() => {
      this.layoutNeeded = true;
      this.request();
    });
    this.paintScope();
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

  /** The rows the watchlist's scope takes in, whatever the filter: every row, or those of my list. */
  scopeRows(): Row[] {
    const rows = this.store.rows;
    if (this.scope === 'all') return [...rows.values()];
    const out: Row[] = [];
    for (const s of this.mine) {
      const r = rows.get(s);
      if (r) out.push(r);
    }
    return out;
  }

  /** Restores what was remembered (main calls it once, before the first paint). */
  restore(p: { mine: string[]; scope: Scope; sort: { key: Key; dir: 1 | -1 } | null }): void {
    this.mine = [...p.mine];
    this.mineSet = new Set(this.mine);
    this.scope = p.scope;
    if (p.sort) {
      this.sortKey = p.sort.key;
      this.sortDir = p.sort.dir;
    }
    this.paintSortHeads();
    this.paintScope();
    this.filterDirty = true;
    this.request();
  }

  private changed(): void {
    this.opts.onChange?.({ mine: [...this.mine], scope: this.scope, sort: this.sortKey ? { key: this.sortKey, dir: this.sortDir } : null });
  }

  setScope(s: Scope): void {
    if (s === this.scope) return;
    this.scope = s;
    this.paintScope();
    this.filterDirty = true;
    this.body.scrollTop = 0;
    this.scrollTop = 0;
    this.layoutDirty = true;
    this.changed();
    this.request();
  }

  private paintScope(): void {
    for (const [s, b] of Object.entries(this.scopeBtns) as [Scope, HTMLButtonElement][]) b.setAttribute('aria-pressed', String(s === this.scope));
    setText(this.scopeBtns.mine, this.mine.length ? `My list (${this.mine.length})` : 'My list');
  }

  /** Puts sym on my list, or takes it off. */
  toggleMine(sym: string): void {
    if (this.mineSet.has(sym)) {
      this.mine = this.mine.filter((s) => s !== sym);
      this.mineSet.delete(sym);
      this.opts.announce?.(`${sym} taken off my list`);
    } else {
      this.mine.push(sym);
      this.mineSet.add(sym);
      this.opts.announce?.(`${sym} added to my list`);
    }
    this.paintScope();
    if (this.scope === 'mine') this.filterDirty = true;
    for (const rv of this.pool) rv.starred = null;
    this.layoutDirty = true;
    this.changed();
    this.request();
  }

  /** The symbol "add" would add: the one typed, or the only one the filter matches. */
  private addTarget(): string | null {
    const typed = this.filter.toUpperCase();
    if (!typed) return null;
    if (this.store.rows.has(typed)) return typed;
    let only: string | null = null;
    for (const r of this.store.rows.values()) {
      if (!this.matches(r, this.filter)) continue;
      if (only) return null;
      only = r.sym;
    }
    return only;
  }

  private addTyped(): void {
    const sym = this.addTarget();
    if (!sym) return;
    if (!this.mineSet.has(sym)) this.toggleMine(sym);
    this.filterInput.value = '';
    this.filterInput.dispatchEvent(new Event('input'));
    this.select(sym);
  }

  sortBy(key: Key): void {
    if (this.sortKey === key) this.sortDir = this.sortDir === 1 ? -1 : 1;
    else {
      this.sortKey = key;
      this.sortDir = key === 'sym' || key === 'name' ? 1 : -1;
    }
    this.paintSortHeads();
    this.sortNeeded = true;
    this.lastSort = 0;
    this.changed();
    this.request();
  }

  private paintSortHeads(): void {
    for (const c of COLS) {
      const head = this.heads.get(c.id)!;
      if (!c.key || !head.arrow) continue;
      const on = c.key === this.sortKey;
      head.cell.setAttribute('aria-sort', on ? (this.sortDir === 1 ? 'ascending' : 'descending') : 'none');
      setText(head.arrow, on ? (this.sortDir === 1 ? '▲' : '▼') : '');
    }
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

  private matches(r: Row, f: string): boolean {
    return `${r.sym} ${r.info?.name ?? ''} ${r.info?.sector ?? ''}`.toLowerCase().includes(f);
  }

  private rebuildList(): void {
    const f = this.filter;
    const out: string[] = [];
    for (const r of this.scopeRows()) {
      if (f && !this.matches(r, f)) continue;
      out.push(r.sym);
    }
    this.list = out;
    this.sortNeeded = true;
    const target = this.addTarget();
    this.addBtn.disabled = !target || this.mineSet.has(target);
    this.addBtn.title = target ? (this.mineSet.has(target) ? `${target} is on my list` : `Add ${target} to my list`) : 'Type a symbol to add it to my list';
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

  /** Whether a value now needs wider columns than the layout has. */
  private outgrown(dirty: Set<string>): boolean {
    for (const sym of dirty) {
      const q = this.store.rows.get(sym)?.quote;
      if (!q) continue;
      if (Math.max(q.high, q.ask, q.price) >= this.priceCap || Math.abs(q.change) >= this.chgCap || Math.abs(q.changePct) >= this.pctCap) return true;
      if (sym.length > this.symLen) return true;
    }
    return false;
  }

  /**
   * Measures what each column must hold, in the page's fonts, and lays the
   * columns out in the list's width: a style sheet of the grid's columns and
   * of the columns left out.
   */
  private layout(): void {
    this.layoutNeeded = false;
    let maxP = 0;
    let maxChg = 0;
    let maxPct = 0;
    const syms: string[] = [];
    for (const r of this.store.rows.values()) {
      const q = r.quote;
      if (q) {
        maxP = Math.max(maxP, q.high || 0, q.ask || 0, q.price || 0);
        maxChg = Math.max(maxChg, Math.abs(q.change || 0));
        maxPct = Math.max(maxPct, Math.abs(q.changePct || 0));
      }
      syms.push(r.sym);
    }
    this.priceCap = capOf(maxP);
    this.chgCap = capOf(maxChg);
    this.pctCap = Math.max(100, capOf(maxPct));
    syms.sort((a, b) => b.length - a.length);
    const longest = syms.slice(0, 3);
    this.symLen = longest[0]?.length ?? 0;
    const price = widest(fmtPrice(this.priceCap - 0.01));
    const samples: Record<string, string[]> = {
      star: ['★'],
      sym: longest.length ? longest : ['MMMM'],
      name: [],
      last: [price],
      chg: ['+' + widest(fmtChange(this.chgCap - 0.01)).replace('+', '')],
      pct: ['+' + widest(fmtPct(this.pctCap - 0.01)).replace('+', '')],
      ba: [`${price} / ${price}`],
      hl: [`${price} – ${price}`],
      vol: ['888.8M', '888.8K'],
      time: ['88:88:88'],
      score: ['HALT', '+88'],
      spark: [],
    };
    // One hidden row of titles and one of values, in the real cells' classes.
    const headM = h('div.wl-headrow.wl-mrow');
    const dataM = h('div.wl-mrow');
    const width = new Map<string, { head: HTMLElement; vals: HTMLElement[] }>();
    for (const c of COLS) {
      const head = h('div', { class: `c-${c.id}` });
      if (c.key) head.append(h('span.sort', {}, h('span', { text: c.label }), h('span.sort-arrow', { text: '▼' })));
      else head.textContent = c.label;
      headM.append(head);
      const vals = samples[c.id].map((s) => {
        const el = h('div', { class: `c-${c.id}${c.num ? ' num' : ''}${c.id === 'score' ? ' badge halt' : ''}` });
        if (c.id === 'last') el.append(h('span.arrow', { text: '▲' }), s);
        else if (c.id === 'star') el.append(h('button.star', { text: s }));
        else el.textContent = s;
        dataM.append(el);
        return el;
      });
      width.set(c.id, { head, vals });
    }
    this.measureBox.replaceChildren(headM, dataM);
    const w: Record<string, number> = {};
    for (const c of COLS) {
      const m = width.get(c.id)!;
      const need = Math.max(m.head.getBoundingClientRect().width, ...m.vals.map((v) => v.getBoundingClientRect().width));
      w[c.id] = Math.ceil(need) + 2;
    }
    w.spark = Math.max(w.spark, SPARK_W);
    w.name = Math.max(w.name, NAME_MIN);
    this.measureBox.replaceChildren();

    const avail = this.body.clientWidth - 2 * PAD;
    let shown = this.phone.matches ? COLS.filter((c) => c.phone) : [...COLS];
    const need = () => shown.reduce((a, c) => a + w[c.id], 0) + GAP * (shown.length - 1);
    for (const c of COLS.filter((c) => c.drop).sort((a, b) => a.drop! - b.drop!)) {
      if (need() <= avail || avail <= 0) break;
      shown = shown.filter((x) => x !== c);
    }
    const flex = shown.find((c) => c.id === 'name') ?? shown.find((c) => c.id === 'sym')!;
    const template = shown.map((c) => (c === flex ? `minmax(${w[c.id]}px, 1fr)` : `${w[c.id]}px`)).join(' ');
    const hidden = COLS.filter((c) => !shown.includes(c)).map((c) => `.wl-grid .wl-row > .c-${c.id}`);
    const scrollbar = this.body.offsetWidth - this.body.clientWidth;
    this.sheet.textContent =
      `.wl-grid .wl-row { grid-template-columns: ${template}; column-gap: ${GAP}px; padding: 0 ${PAD}px; }\n` +
      `.wl-grid .wl-headrow { padding-right: ${PAD + scrollbar}px; }\n` +
      (hidden.length ? `${hidden.join(', ')} { display: none; }\n` : '');
    this.sparkFirst = -1;
  }

  paint(f: Frame): boolean {
    if (f.paused) return false;
    let orderChanged = false;
    if (f.version !== this.listVersion || this.filterDirty) {
      if (f.version !== this.listVersion) this.layoutNeeded = true;
      this.listVersion = f.version;
      this.filterDirty = false;
      this.rebuildList();
      orderChanged = true;
    }
    if (this.layoutNeeded || (f.dirty.size > 0 && this.outgrown(f.dirty))) this.layout();
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
      const total = this.scope === 'all' ? this.store.rows.size : this.scopeRows().length;
      const of = this.scope === 'all' ? (this.list.length === total ? `${total} symbols` : `${this.list.length} of ${total}`) : this.list.length === total ? `${total} in my list` : `${this.list.length} of ${total} in my list`;
      // A live region: written only when the words change, or screen readers repeat it.
      setText(this.countEl, of);
      let empty = '';
      if (!this.list.length && this.store.ready) {
        if (this.filter) empty = `No symbol matches “${this.filterInput.value.trim()}”${this.scope === 'mine' ? ' in my list' : ''}.`;
        else if (this.scope === 'mine') empty = 'My list is empty: ★ a row, or type a symbol and press Add.';
      }
      setText(this.emptyEl, empty);
      this.emptyEl.hidden = !empty;
    }

    const first = Math.max(0, Math.floor(this.scrollTop / ROW_H) - 2);
    const last = Math.min(this.list.length, Math.ceil((this.scrollTop + this.viewH) / ROW_H) + 2);
    const need = last - first;
    while (this.pool.length < need) {
      const rv = new RowView(
        (r) => {
          this.select(r.sym);
          this.opts.onOpen(r.sym);
        },
        (r, pointer) => {
          this.toggleMine(r.sym);
          if (pointer) this.grid.focus(); // Enter still opens the selected row
        },
      );
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
        rv.starred = null;
        rv.flashAt = row.tickAt; // no flash for a row that merely scrolled in
        full = true;
      }
      if (rv.index !== i) {
        rv.index = i;
        rv.el.style.transform = `translateY(${i * ROW_H}px)`;
        rv.el.setAttribute('aria-rowindex', String(i + 2));
      }
      if (full || f.dirty.has(sym) || staleTick || this.selectionDirty || rv.flashing || rv.sparkTotal === -1 || rv.starred === null) {
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
    const starred = this.mineSet.has(r.sym);
    if (rv.starred !== starred) {
      rv.starred = starred;
      rv.star.textContent = starred ? '★' : '☆';
      rv.star.setAttribute('aria-pressed', String(starred));
      rv.star.setAttribute('aria-label', starred ? `Take ${r.sym} off my list` : `Add ${r.sym} to my list`);
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

    const stale = halted || this.store.ageOf(r, f.wall) > STALE_MS;
    const cls = `wl-row${this.selected === r.sym ? ' selected' : ''}${stale ? ' stale' : ''}${flash === 1 ? ' flash-up' : flash === -1 ? ' flash-down' : ''}`;
    if (rv.classes !== cls) {
      rv.classes = cls;
      rv.el.className = cls;
      rv.el.setAttribute('aria-selected', String(this.selected === r.sym));
    }

    if (rv.sparkTotal !== r.ticks.total || rv.sparkSeed !== r.seed) {
      rv.sparkTotal = r.ticks.total;
      rv.sparkSeed = r.seed;
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
    // The row's seed (the server's last trades) and then its live trades.
    const prices = sparkPrices(r.ticks, r.seed, SPARK_POINTS);
    const n = prices.length;
    if (n < 2) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of prices) {
      if (p < lo) lo = p;
      if (p > hi) hi = p;
    }
    const span = hi - lo || 1;
    ctx.strokeStyle = prices[n - 1] >= prices[0] ? getVar('--up') : getVar('--down');
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    for (let k = 0; k < n; k++) {
      const x = (k / (n - 1)) * (w - 2) + 1;
      const y = sh - 2 - ((prices[k] - lo) / span) * (sh - 4);
      if (k === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
}
