// The market's summary: the header (index, change, advancers/decliners,
// session), top movers by score and by %change, the sector heatmap and the
// halted symbols.

import { Cell, h, signClass } from '../dom';
import { fmtChange, fmtPct, fmtPrice, fmtScore, fmtTime } from '../format';
import type { Frame, View } from '../render';
import type { Row, Store } from '../store';
import type { Sector } from '../types';

/** The market header's figures. */
export class MarketHeader implements View {
  readonly el: HTMLElement;
  private readonly index = new Cell(h('span.idx-level.num'));
  private readonly change = new Cell(h('span.idx-chg.num'));
  private readonly adv = new Cell(h('span.up.num'));
  private readonly dec = new Cell(h('span.down.num'));
  private readonly unch = new Cell(h('span.num'));
  private readonly halted = new Cell(h('span.num'));
  private readonly session = new Cell(h('span.session'));
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
      h('span.sep', { 'aria-hidden': 'true' }),
      h('span.label', { text: 'Adv' }),
      this.adv.el,
      h('span.label', { text: 'Dec' }),
      this.dec.el,
      this.bar,
      h('span.label', { text: 'Unch' }),
      this.unch.el,
      h('span.label', { text: 'Halted' }),
      this.halted.el,
      this.session.el,
    );
  }

  paint(f: Frame): void {
    if (f.paused || !f.marketDirty) return;
    const m = this.store.market;
    this.index.set(fmtPrice(m?.index));
    this.change.set(m ? `${fmtChange(m.change)} (${fmtPct(m.changePct)})` : '–');
    this.change.cls(`idx-chg num ${signClass(m?.change)}`);
    this.adv.set(m ? String(m.advancers) : '–');
    this.dec.set(m ? String(m.decliners) : '–');
    this.unch.set(m ? String(m.unchanged) : '–');
    this.halted.set(m ? String(m.halted) : '–');
    const total = m ? m.advancers + m.decliners : 0;
    this.barUp.style.width = total ? `${(100 * m!.advancers) / total}%` : '50%';
    this.bar.title = m ? `${m.advancers} advancing, ${m.decliners} declining` : '';
    const session = this.store.session?.state ?? m?.session ?? '';
    this.session.set(session ? `Session ${session}` : '');
    this.session.cls(`session ${session === 'open' ? 'open' : 'closed'}`);
  }
}

/** Top movers by score and by %change, re-ranked at most once a second. */
export class Movers implements View {
  readonly el: HTMLElement;
  private readonly lists: { key: (r: Row) => number | undefined; dir: 1 | -1; ol: HTMLOListElement; fmt: (r: Row) => string }[] = [];
  private last = 0;
  private seenVersion = -1;

  constructor(
    private readonly store: Store,
    private readonly onPick: (sym: string) => void,
  ) {
    const make = (title: string, key: (r: Row) => number | undefined, dir: 1 | -1, fmt: (r: Row) => string) => {
      const ol = h('ol.movers-list', { 'aria-label': title });
      ol.addEventListener('click', (e) => {
        const li = (e.target as HTMLElement).closest('li');
        if (li?.dataset.sym) this.onPick(li.dataset.sym);
      });
      this.lists.push({ key, dir, ol, fmt });
      return h('div.movers-col', {}, h('h3', { text: title }), ol);
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
        make('Gainers', pct, -1, (r) => fmtPct(r.quote?.changePct)),
        make('Losers', pct, 1, (r) => fmtPct(r.quote?.changePct)),
      ),
    );
  }

  paint(f: Frame): boolean {
    if (f.paused) return false;
    if (f.version === this.seenVersion && (f.dirty.size === 0 || f.now - this.last < 1000)) return false;
    this.seenVersion = f.version;
    this.last = f.now;
    const rows = [...this.store.rows.values()];
    for (const l of this.lists) {
      const ranked = rows
        .filter((r) => l.key(r) !== undefined)
        .sort((a, b) => (l.key(a)! - l.key(b)!) * l.dir)
        .slice(0, 5);
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
        if (b.textContent !== sym) b.textContent = sym;
        const val = r ? l.fmt(r) : '';
        if (v.textContent !== val) v.textContent = val;
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

/** The sector heatmap, sized by weight and coloured by %change; and the halts. */
export class Heatmap implements View {
  readonly el: HTMLElement;
  private readonly map: HTMLElement;
  private readonly halts: HTMLElement;
  private tiles = new Map<string, { el: HTMLElement; name: HTMLElement; pct: HTMLElement }>();
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
          t = { el: h('div.tile', { role: 'listitem' }, name, pct), name, pct };
          this.tiles.set(s.sector, t);
          this.map.append(t.el);
        }
        const r = rects[i];
        Object.assign(t.el.style, { left: `${r.x}px`, top: `${r.y}px`, width: `${Math.max(0, r.w - 2)}px`, height: `${Math.max(0, r.h - 2)}px` });
        t.el.classList.toggle('small', r.w < 70 || r.h < 34);
        t.el.classList.toggle('tiny', r.w < 44 || r.h < 26); // too small for words: the title tells
      });
    }
    for (const s of sectors) {
      const t = this.tiles.get(s.sector);
      if (!t) continue;
      const p = fmtPct(s.changePct);
      if (t.pct.textContent !== p) t.pct.textContent = p;
      t.el.style.background = heatColor(s.changePct);
      t.el.title = `${s.sector}: ${p}, weight ${(s.weight * 100).toFixed(1)}%, ${s.advancers} up, ${s.decliners} down`;
      t.el.setAttribute('aria-label', `${s.sector} ${p}`);
    }
    this.paintHalts();
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
