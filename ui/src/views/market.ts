// The market's summary: the header (index, change, advancers/decliners),
// top movers by score and by %change, the sector heatmap and the halted
// symbols. (The session and the connection's state are views/status.ts.)

import { Cell, h, setText, signClass } from '../dom';
import { fmtChange, fmtPct, fmtPrice, fmtScore, fmtTime } from '../format';
import type { Frame, View } from '../render';
import type { Row, Store } from '../store';
import type { Sector } from '../types';

/** The market header's figures. */
export class MarketHeader implements View {
  readonly el: HTMLElement;
  private readonly index = new Cell(h('span.idx-level.num'));
  private readonly change = new Cell(h('span.idx-chg.num'));
  private readonly pct = new Cell(h('span.idx-pct.num'));
  private readonly adv = new Cell(h('span.up.num'));
  private readonly dec = new Cell(h('span.down.num'));
  private readonly unch = new Cell(h('span.num'));
  private readonly halted = new Cell(h('span.num'));
  private readonly bar: HTMLElement;
  private readonly barUp: HTMLElement;

  constructor(private readonly store: Store) {
    this.barUp = h('div.ad-up');
    this.bar = h('div.ad-bar', { 'aria-hidden': 'true' }, this.barUp);
    this.el = h(
      'div.market-head',
      { role: 'group', 'aria-label': 'Market summary' },
      h('span.label', { text: 'Index' }),
      this.index.el,
      this.change.el,
      this.pct.el,
      h('span.sep', { 'aria-hidden': 'true' }),
      h('span.label.breadth', { text: 'Adv' }),
      this.adv.el,
      h('span.label.breadth', { text: 'Dec' }),
      this.dec.el,
      this.bar,
      h('span.label.breadth.unch', { text: 'Unch' }),
      this.unch.el,
      h('span.label.breadth', { text: 'Halted' }),
      this.halted.el,
    );
    for (const c of [this.adv, this.dec, this.unch, this.halted]) c.el.classList.add('breadth');
    this.unch.el.classList.add('unch');
  }

  paint(f: Frame): void {
    if (f.paused || !f.marketDirty) return;
    const m = this.store.market;
    this.index.set(fmtPrice(m?.index));
    this.change.set(m ? fmtChange(m.change) : '–');
    this.change.cls(`idx-chg num ${signClass(m?.change)}`);
    this.pct.set(m ? `(${fmtPct(m.changePct)})` : '');
    this.pct.cls(`idx-pct num ${signClass(m?.change)}`);
    this.adv.set(m ? String(m.advancers) : '–');
    this.dec.set(m ? String(m.decliners) : '–');
    this.unch.set(m ? String(m.unchanged) : '–');
    this.halted.set(m ? String(m.halted) : '–');
    const total = m ? m.advancers + m.decliners : 0;
    this.barUp.style.width = total ? `${(100 * m!.advancers) / total}%` : '50%';
    this.bar.title = m ? `${m.advancers} advancing, ${m.decliners} declining` : '';
    this.bar.setAttribute('aria-label', this.bar.title);
  }
}

/**
 * Top movers by score and by %change, re-ranked at most once a second from
 * the current values of the rows the watchlist's scope shows (every symbol,
 * or my list). A gainer is up and a loser down: with three symbols, two up,
 * the losers list one.
 */
export class Movers implements View {
  readonly el: HTMLElement;
  private readonly lists: { key: (r: Row) => number | undefined; dir: 1 | -1; sign: 1 | -1 | 0; ol: HTMLOListElement; fmt: (r: Row) => string; none: HTMLElement }[] = [];
  private last = 0;
  private seenVersion = -1;
  private scopeKey = '';

  constructor(
    private readonly store: Store,
    private readonly onPick: (sym: string) => void,
    /** The rows to rank (the watchlist's scope); every row by default. */
    private readonly scope: () => Row[] = () => [...store.rows.values()],
  ) {
    const make = (title: string, key: (r: Row) => number | undefined, dir: 1 | -1, fmt: (r: Row) => string, sign: 1 | -1 | 0 = 0) => {
      const ol = h('ol.movers-list', { 'aria-label': title });
      ol.addEventListener('click', (e) => {
        const li = (e.target as HTMLElement).closest('li');
        if (li?.dataset.sym) this.onPick(li.dataset.sym);
      });
      const none = h('p.movers-none', { text: sign > 0 ? 'None up.' : sign < 0 ? 'None down.' : 'None yet.', hidden: true });
      this.lists.push({ key, dir, sign, ol, fmt, none });
      return h('div.movers-col', {}, h('h3', { text: title }), ol, none);
    };
    const score = (r: Row) => r.score?.score;
    const pct = (r: Row) => r.quote?.changePct;
    this.el = h(
      'section.panel.movers',
      { 'aria-label': 'Top movers' },
      h('div.panel-head', {}, h('h2', { text: 'Top movers' })),
      h(
        'div.movers-grid',
        {},
        make('Best score', score, -1, (r) => fmtScore(r.score?.score)),
        make('Worst score', score, 1, (r) => fmtScore(r.score?.score)),
        make('Gainers', pct, -1, (r) => fmtPct(r.quote?.changePct), 1),
        make('Losers', pct, 1, (r) => fmtPct(r.quote?.changePct), -1),
      ),
    );
  }

  paint(f: Frame): boolean {
    if (f.paused) return false;
    const rows = this.scope();
    const scopeKey = rows.length < 200 ? rows.map((r) => r.sym).join() : String(rows.length);
    if (f.version === this.seenVersion && scopeKey === this.scopeKey && (f.dirty.size === 0 || f.now - this.last < 1000)) return false;
    this.seenVersion = f.version;
    this.scopeKey = scopeKey;
    this.last = f.now;
    for (const l of this.lists) {
      const ranked = rows
        .filter((r) => {
          const k = l.key(r);
          return k !== undefined && Number.isFinite(k) && (l.sign === 0 || Math.sign(k) === l.sign);
        })
        .sort((a, b) => (l.key(a)! - l.key(b)!) * l.dir || (a.sym < b.sym ? -1 : 1))
        .slice(0, 5);
      l.none.hidden = ranked.length > 0 || !this.store.ready;
      const items = l.ol.children;
      for (let i = 0; i < 5; i++) {
        let li = items[i] as HTMLLIElement | undefined;
        if (!li) {
          li = h('li', {}, h('button.mv-sym', { type: 'button' }), h('span.mv-val.num'));
          l.ol.append(li);
        }
        const r = ranked[i];
        const b = li.firstChild as HTMLElement;
        const v = li.lastChild as HTMLElement;
        const sym = r?.sym ?? '';
        if (li.dataset.sym !== sym) li.dataset.sym = sym;
        setText(b, sym);
        const val = r ? l.fmt(r) : '';
        setText(v, val);
        const k = r ? l.key(r) : undefined;
        const cls = `mv-val num ${signClass(k)}`;
        if (v.className !== cls) v.className = cls;
        li.hidden = !r;
      }
    }
    return false;
  }
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Squarified treemap (Bruls, Huizing, van Wijk) of weights into a w×h box. */
export function squarify(weights: number[], box: Rect): Rect[] {
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  const area = box.w * box.h;
  const items = weights.map((w, i) => ({ i, a: (w / total) * area })).sort((p, q) => q.a - p.a);
  const out: Rect[] = new Array(weights.length);
  let { x, y, w, h: hh } = box;
  let row: { i: number; a: number }[] = [];
  const worst = (r: { a: number }[], side: number) => {
    const s = r.reduce((acc, it) => acc + it.a, 0);
    let max = 0;
    let min = Infinity;
    for (const it of r) {
      max = Math.max(max, it.a);
      min = Math.min(min, it.a);
    }
    return Math.max((side * side * max) / (s * s), (s * s) / (side * side * min));
  };
  const layout = (r: { i: number; a: number }[]) => {
    const s = r.reduce((acc, it) => acc + it.a, 0);
    if (w >= hh) {
      const cw = s / hh;
      let cy = y;
      for (const it of r) {
        const ch = it.a / cw;
        out[it.i] = { x, y: cy, w: cw, h: ch };
        cy += ch;
      }
      x += cw;
      w -= cw;
    } else {
      const ch = s / w;
      let cx = x;
      for (const it of r) {
        const cw = it.a / ch;
        out[it.i] = { x: cx, y, w: cw, h: ch };
        cx += cw;
      }
      y += ch;
      hh -= ch;
    }
  };
  for (const it of items) {
    const side = Math.min(w, hh);
    if (row.length === 0 || worst([...row, it], side) <= worst(row, side)) row.push(it);
    else {
      layout(row);
      row = [it];
    }
  }
  if (row.length) layout(row);
  return out;
}

/** A colour for a %change: red … neutral … green, saturating at ±2%. */
export function heatColor(pct: number): string {
  const t = Math.max(-1, Math.min(1, pct / 2));
  const hue = t >= 0 ? 142 : 0;
  const sat = 10 + Math.abs(t) * 60;
  const light = 30 + (1 - Math.abs(t)) * 6;
  return `hsl(${hue} ${sat.toFixed(0)}% ${light.toFixed(0)}%)`;
}

/** Short names for sectors, for tiles too small for the full one. */
const SHORT: Record<string, string> = {
  Technology: 'Tech',
  Communication: 'Comm',
  'Consumer Discretionary': 'Cons. disc.',
  'Consumer Staples': 'Staples',
  'Health Care': 'Health',
  Financials: 'Fin',
  Industrials: 'Indus',
  Energy: 'Energy',
  Materials: 'Mat',
  Utilities: 'Util',
  'Real Estate': 'RE',
};

interface Tile {
  el: HTMLElement;
  name: HTMLElement;
  pct: HTMLElement;
  w: number;
  h: number;
  fitted: string; // the pct text the labels were fitted for
}

/** Which labels a tile of w×h has room for, given the widths of its texts. */
export function tileLabels(w: number, hgt: number, text: { name: number; short: number; pct: number; pctSmall: number }): 'full' | 'short' | 'pct' | 'pct-small' | 'none' {
  if (hgt >= 34 && w >= Math.max(text.name, text.pct) + 10) return 'full';
  if (hgt >= 34 && w >= Math.max(text.short, text.pct) + 10) return 'short';
  if (hgt >= 18 && w >= text.pct + 10) return 'pct';
  if (hgt >= 12 && w >= text.pctSmall + 4) return 'pct-small';
  return 'none';
}

/**
 * The sector heatmap, sized by weight and coloured by %change: each tile
 * shows its name and %, or its short name, or its % alone in a smaller type,
 * down to the smallest tile that fits a number; the title tells the rest.
 * And the halts.
 */
export class Heatmap implements View {
  readonly el: HTMLElement;
  private readonly map: HTMLElement;
  private readonly halts: HTMLElement;
  private tiles = new Map<string, Tile>();
  private measureCtx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null = null;
  private font = '';
  private layoutKey = '';
  private w = 0;
  private hgt = 0;
  private sized = false;

  constructor(private readonly store: Store) {
    this.map = h('div.heatmap', { role: 'list', 'aria-label': 'Sectors, sized by weight, coloured by change' });
    this.halts = h('ul.halts', { 'aria-label': 'Halted symbols' });
    this.el = h(
      'section.panel.sectors',
      { 'aria-label': 'Sectors and halts' },
      h('div.panel-head', {}, h('h2', { text: 'Sectors' })),
      this.map,
      h('h3.halts-title', { text: 'Halts' }),
      this.halts,
    );
    new ResizeObserver((es) => {
      for (const e of es) {
        this.w = e.contentRect.width;
        this.hgt = e.contentRect.height;
      }
      this.sized = false;
    }).observe(this.map);
  }

  paint(f: Frame): void {
    if (f.paused || (!f.marketDirty && this.sized)) return;
    const sectors: Sector[] = this.store.market?.sectors ?? [];
    const key = `${sectors.map((s) => `${s.sector}:${s.weight.toFixed(4)}`).join('|')}@${Math.round(this.w)}x${Math.round(this.hgt)}`;
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.sized = true;
      const rects = squarify(
        sectors.map((s) => s.weight),
        { x: 0, y: 0, w: this.w, h: this.hgt },
      );
      const keep = new Set(sectors.map((s) => s.sector));
      for (const [name, t] of this.tiles) if (!keep.has(name)) (t.el.remove(), this.tiles.delete(name));
      sectors.forEach((s, i) => {
        let t = this.tiles.get(s.sector);
        if (!t) {
          const name = h('span.tile-name', { text: s.sector });
          const pct = h('span.tile-pct.num');
          t = { el: h('div.tile', { role: 'listitem' }, name, pct), name, pct, w: 0, h: 0, fitted: '' };
          this.tiles.set(s.sector, t);
          this.map.append(t.el);
        }
        const r = rects[i];
        t.w = Math.max(0, r.w - 2);
        t.h = Math.max(0, r.h - 2);
        t.fitted = '';
        Object.assign(t.el.style, { left: `${r.x}px`, top: `${r.y}px`, width: `${t.w}px`, height: `${t.h}px` });
      });
    }
    for (const s of sectors) {
      const t = this.tiles.get(s.sector);
      if (!t) continue;
      const p = fmtPct(s.changePct);
      setText(t.pct, p);
      if (t.fitted !== p) this.fit(t, s.sector, p);
      t.el.style.background = heatColor(s.changePct);
      t.el.title = `${s.sector}: ${p}, weight ${(s.weight * 100).toFixed(1)}%, ${s.advancers} up, ${s.decliners} down`;
      t.el.setAttribute('aria-label', `${s.sector} ${p}`);
    }
    this.paintHalts();
  }

  /** Text width in px at a font size, in the page's font, weight 600. */
  private textWidth(text: string, px: number): number {
    if (!this.measureCtx) {
      this.measureCtx = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1).getContext('2d') : document.createElement('canvas').getContext('2d');
    }
    const c = this.measureCtx;
    if (!c) return Infinity;
    this.font ||= getComputedStyle(this.map).fontFamily;
    c.font = `600 ${px}px ${this.font}`;
    return c.measureText(text).width;
  }

  /** Chooses the labels a tile has room for. */
  private fit(t: Tile, sector: string, pct: string): void {
    t.fitted = pct;
    const short = SHORT[sector] ?? sector.split(/\s+/).map((w) => w[0]).join('');
    const kind = tileLabels(t.w, t.h, { name: this.textWidth(sector, 11), short: this.textWidth(short, 11), pct: this.textWidth(pct, 11), pctSmall: this.textWidth(pct, 9) });
    const name = kind === 'short' ? short : sector;
    if (t.name.textContent !== name) t.name.textContent = name;
    const cls = `tile lbl-${kind}`;
    if (t.el.className !== cls) t.el.className = cls;
  }

  private paintHalts(): void {
    const halted = this.store.halted();
    const items = halted.map((r) => `${r.sym}|${r.status?.reason ?? ''}|${r.status?.ts ?? 0}`).join('\n');
    if (this.halts.dataset.key === items) return;
    this.halts.dataset.key = items;
    this.halts.replaceChildren(
      ...(halted.length
        ? halted.map((r) =>
            h('li', {}, h('span.badge.halt', { text: 'HALT' }), h('b', { text: r.sym }), h('span.muted', { text: ` ${r.status?.reason ?? ''} · since ${fmtTime(r.status?.ts)}` })),
          )
        : [h('li.muted', { text: 'No symbol is halted.' })]),
    );
  }
}
