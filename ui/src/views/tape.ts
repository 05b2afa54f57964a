// Time and sales: the last trades of the selected symbol, newest first, each
// with its time, price, size and whether it ticked up or down from the trade
// before it. Read from the store's trade ring (a quote from a snapshot is a
// state, not a trade, and is left out); repainted at most ten times a second
// (four in a fast market).

import { h, setText } from '../dom';
import { fmtInt, fmtPrice, fmtTime } from '../format';
import type { Frame, View } from '../render';
import type { Store } from '../store';

/** How many trades the list shows. */
export const TAPE_ROWS = 50;

interface TapeRow {
  el: HTMLElement;
  time: HTMLElement;
  tick: HTMLElement;
  price: HTMLElement;
  size: HTMLElement;
  cls: string;
}

export class Tape implements View {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly rows: TapeRow[] = [];
  private sym: string | null = null;
  private seen = -1; // ring.total painted
  private seenRing: unknown = null;
  private lastPaint = 0;
  private lastPrice = NaN; // of the newest trade listed

  constructor(private readonly store: Store) {
    this.list = h('div.tape-list', { role: 'list', 'aria-label': 'Last trades, newest first' });
    this.empty = h('p.tape-empty', { text: 'Waiting for trades…' });
    this.el = h(
      'section.tape',
      { 'aria-label': 'Time and sales' },
      h('h3', { text: 'Time & sales' }),
      h('div.tape-head', { 'aria-hidden': 'true' }, h('span.t-time', { text: 'Time' }), h('span.t-tick'), h('span.t-price', { text: 'Price' }), h('span.t-size', { text: 'Size' })),
      this.list,
      this.empty,
    );
  }

  show(sym: string): void {
    if (sym === this.sym) return;
    this.sym = sym;
    this.seen = -1;
  }

  private make(): TapeRow {
    const time = h('span.t-time');
    const tick = h('span.t-tick', { 'aria-hidden': 'true' });
    const price = h('span.t-price.num');
    const size = h('span.t-size.num');
    return { el: h('div.tape-row', { role: 'listitem' }, time, tick, price, size), time, tick, price, size, cls: '' };
  }

  private fill(r: TapeRow, ts: number, price: number, size: number, before: number): void {
    const d = Number.isNaN(before) ? 0 : price - before;
    setText(r.time, fmtTime(ts));
    setText(r.price, fmtPrice(price));
    setText(r.size, fmtInt(size));
    setText(r.tick, d > 0 ? '▲' : d < 0 ? '▼' : '');
    const cls = `tape-row${d > 0 ? ' up' : d < 0 ? ' down' : ''}`;
    if (r.cls !== cls) r.el.className = r.cls = cls;
  }

  paint(f: Frame): void {
    if (f.paused || !this.sym) return;
    const ring = this.store.rows.get(this.sym)?.ticks;
    if (!ring) return;
    if (ring === this.seenRing && ring.total === this.seen) return;
    if (f.now - this.lastPaint < (f.fast ? 250 : 100) && ring === this.seenRing && this.seen >= 0) return;
    this.lastPaint = f.now;
    const cap = ring.capacity;
    if (ring !== this.seenRing || this.seen < ring.first || this.seen < 0 || ring.total - this.seen > TAPE_ROWS) {
      // A new symbol, a reset, or more new trades than rows: paint them all,
      // newest first (the trade before each one gives it its tick).
      const picked: number[] = [];
      for (let k = ring.total - 1; k >= ring.first && picked.length <= TAPE_ROWS; k--) if (ring.size[k % cap] > 0) picked.push(k % cap);
      const n = Math.min(TAPE_ROWS, picked.length);
      while (this.rows.length < n) {
        const r = this.make();
        this.rows.push(r);
        this.list.append(r.el);
      }
      while (this.rows.length > n) this.rows.pop()!.el.remove();
      for (let j = 0; j < n; j++) {
        const i = picked[j];
        const before = picked[j + 1];
        this.fill(this.rows[j], ring.ts[i], ring.price[i], ring.size[i], before === undefined ? NaN : ring.price[before]);
      }
      this.lastPrice = n ? ring.price[picked[0]] : NaN;
    } else {
      // New trades go on top; the oldest rows leave at the bottom. The rows in
      // between keep their text (a trade's tick never changes), so a busy
      // symbol costs a row or two per paint, not fifty.
      for (let k = this.seen; k < ring.total; k++) {
        const i = k % cap;
        if (!(ring.size[i] > 0)) continue;
        const r = this.rows.length < TAPE_ROWS ? this.make() : this.rows.pop()!;
        this.fill(r, ring.ts[i], ring.price[i], ring.size[i], this.lastPrice);
        this.rows.unshift(r);
        this.list.prepend(r.el);
        this.lastPrice = ring.price[i];
      }
    }
    this.seen = ring.total;
    this.seenRing = ring;
    this.empty.hidden = this.rows.length > 0;
  }
}
