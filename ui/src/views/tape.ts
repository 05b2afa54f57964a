// Time and sales: the last trades of the selected symbol, newest first, each
// with its time, price, size and whether it ticked up or down from the trade
// before it. Read from the store's trade ring (a quote from a snapshot is a
// state, not a trade, and is left out); repainted at most ten times a second.

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

  private row(i: number): TapeRow {
    let r = this.rows[i];
    if (!r) {
      const time = h('span.t-time');
      const tick = h('span.t-tick', { 'aria-hidden': 'true' });
      const price = h('span.t-price.num');
      const size = h('span.t-size.num');
      r = { el: h('div.tape-row', { role: 'listitem' }, time, tick, price, size), time, tick, price, size, cls: '' };
      this.rows.push(r);
      this.list.append(r.el);
    }
    return r;
  }

  paint(f: Frame): void {
    if (f.paused || !this.sym) return;
    const ring = this.store.rows.get(this.sym)?.ticks;
    if (!ring) return;
    if (ring === this.seenRing && ring.total === this.seen) return;
    if (f.now - this.lastPaint < 100 && ring === this.seenRing && this.seen >= 0) return;
    this.lastPaint = f.now;
    this.seen = ring.total;
    this.seenRing = ring;
    // Newest first: walk the ring backwards over trades (size > 0).
    const cap = ring.capacity;
    let n = 0;
    let k = ring.total - 1;
    const picked: number[] = [];
    for (; k >= ring.first && picked.length <= TAPE_ROWS; k--) {
      if (ring.size[k % cap] > 0) picked.push(k % cap);
    }
    // picked[i + 1] is the trade before picked[i]; the 51st only gives the 50th its tick.
    for (; n < Math.min(TAPE_ROWS, picked.length); n++) {
      const i = picked[n];
      const before = picked[n + 1];
      const p = ring.price[i];
      const d = before === undefined ? 0 : p - ring.price[before];
      const r = this.row(n);
      setText(r.time, fmtTime(ring.ts[i]));
      setText(r.price, fmtPrice(p));
      setText(r.size, fmtInt(ring.size[i]));
      setText(r.tick, d > 0 ? '▲' : d < 0 ? '▼' : '');
      const cls = `tape-row${d > 0 ? ' up' : d < 0 ? ' down' : ''}`;
      if (r.cls !== cls) r.el.className = r.cls = cls;
      if (r.el.hidden) r.el.hidden = false;
    }
    for (let j = n; j < this.rows.length; j++) if (!this.rows[j].el.hidden) this.rows[j].el.hidden = true;
    this.empty.hidden = n > 0;
  }
}
