// Time and sales: the last trades of the selected symbol, newest first, each
// with its time, price, size and whether it ticked up or down from the trade
// before it. It opens on the server's last trades (GET /api/trades), then
// merges the live trades of the store's ring by event id, as the chart
// merges its history: a trade whose id is not above the page's is in the
// page already. A quote from a snapshot is a state, not a trade, and is left
// out. Repainted at most ten times a second (four in a fast market).

import { h, setText } from '../dom';
import { fmtInt, fmtPrice, fmtTime } from '../format';
import type { Frame, View } from '../render';
import type { Row, Store, TickRing } from '../store';
import { ENDPOINTS, type Trade, type Trades } from '../types';

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

/**
 * The newest n trades, newest first, from the ring's live trades whose id
 * is above after (all of them when after is null: no page from the server)
 * and then the server's page (oldest first, every trade at or below after).
 */
export function newestTrades(ring: TickRing, page: readonly Trade[], after: number | null, n: number): Trade[] {
  const out: Trade[] = [];
  const cap = ring.capacity;
  for (let k = ring.total - 1; k >= ring.first && out.length < n; k--) {
    const i = k % cap;
    if (!(ring.size[i] > 0)) continue; // a snapshot's quote
    if (after !== null && ring.id[i] <= after) break; // in the page; so is every older one
    out.push({ t: ring.ts[i], p: ring.price[i], s: ring.size[i] });
  }
  if (after !== null) for (let j = page.length - 1; j >= 0 && out.length < n; j--) out.push(page[j]);
  return out;
}

export interface TapeOptions {
  fetch?: typeof fetch;
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

  // The server's last trades (GET /api/trades) for sym.
  private page: Trade[] = [];
  private pageId: number | null = null; // null: none (loading, failed, or an older server)
  private pageVersion = 0; // bumped when the page changes
  private paintedPage = -1;
  private needLoad = true;
  private loading: AbortController | null = null;
  private loadSeq = 0;
  private retries = 0;
  private row: Row | null = null;
  private snapSeen = -1;

  constructor(
    private readonly store: Store,
    private readonly opts: TapeOptions = {},
  ) {
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
    this.page = [];
    this.pageId = null;
    this.pageVersion++;
    this.needLoad = true;
    // The last symbol's trades leave now, not at the next paint: until this
    // symbol's come, the list says so rather than showing another's.
    while (this.rows.length) this.rows.pop()!.el.remove();
    setText(this.empty, 'Loading trades…');
    this.empty.hidden = false;
  }

  /** Fetches the symbol's last trades; until they come the list shows what the page has seen. */
  private load(sym: string): void {
    this.needLoad = false;
    this.loading?.abort();
    const ctl = new AbortController();
    this.loading = ctl;
    const seq = ++this.loadSeq;
    const get = this.opts.fetch ?? fetch.bind(globalThis);
    // One more than the list shows, so that its oldest row has a trade before it for its tick.
    get(ENDPOINTS.trades(sym, TAPE_ROWS + 1), { signal: ctl.signal })
      .then(async (res) => {
        if (!res.ok) throw new Error(`${res.status}`);
        return (await res.json()) as Trades;
      })
      .then((p) => {
        if (seq !== this.loadSeq || this.sym !== sym) return;
        this.loading = null;
        // A page older than our snapshot may lack trades between the two:
        // ask again in a moment (the server folds each event as it publishes it).
        const snapId = this.store.snapshotId;
        if (snapId !== null && p.id < snapId && this.retries < 5) {
          this.retries++;
          setTimeout(() => {
            if (seq === this.loadSeq) this.needLoad = true;
          }, 200 * this.retries);
        } else this.retries = 0;
        this.page = p.trades;
        this.pageId = p.id;
        this.pageVersion++;
      })
      .catch((err: unknown) => {
        if (seq !== this.loadSeq || (err instanceof DOMException && err.name === 'AbortError')) return;
        this.loading = null; // no trades from the server: the live ones alone, as before
      });
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
    const row = this.store.rows.get(this.sym);
    if (!row) return;
    // A new symbol, a new row (after a reset) or a fresh snapshot (back
    // from a throttled spell, which may have left trades out of the ring):
    // ask the server again.
    if (this.needLoad || row !== this.row || this.store.snapshots !== this.snapSeen) {
      this.row = row;
      this.snapSeen = this.store.snapshots;
      this.load(this.sym);
    }
    const ring = row.ticks;
    const pageNew = this.paintedPage !== this.pageVersion;
    if (!pageNew && ring === this.seenRing && ring.total === this.seen) return;
    if (!pageNew && f.now - this.lastPaint < (f.fast ? 250 : 100) && ring === this.seenRing && this.seen >= 0) return;
    this.lastPaint = f.now;
    const cap = ring.capacity;
    if (pageNew || ring !== this.seenRing || this.seen < ring.first || this.seen < 0 || ring.total - this.seen > TAPE_ROWS) {
      // A new page, symbol or ring, or more new trades than rows: paint them
      // all, newest first (the trade before each one gives it its tick).
      const picked = newestTrades(ring, this.page, this.pageId, TAPE_ROWS + 1);
      const n = Math.min(TAPE_ROWS, picked.length);
      while (this.rows.length < n) {
        const r = this.make();
        this.rows.push(r);
        this.list.append(r.el);
      }
      while (this.rows.length > n) this.rows.pop()!.el.remove();
      for (let j = 0; j < n; j++) {
        const x = picked[j];
        this.fill(this.rows[j], x.t, x.p, x.s, picked[j + 1]?.p ?? NaN);
      }
      this.lastPrice = n ? picked[0].p : NaN;
      this.paintedPage = this.pageVersion;
    } else {
      // New trades go on top; the oldest rows leave at the bottom. The rows in
      // between keep their text (a trade's tick never changes), so a busy
      // symbol costs a row or two per paint, not fifty.
      for (let k = this.seen; k < ring.total; k++) {
        const i = k % cap;
        if (!(ring.size[i] > 0)) continue;
        if (this.pageId !== null && ring.id[i] <= this.pageId) continue; // in the page already
        const r = this.rows.length < TAPE_ROWS ? this.make() : this.rows.pop()!;
        this.fill(r, ring.ts[i], ring.price[i], ring.size[i], this.lastPrice);
        this.rows.unshift(r);
        this.list.prepend(r.el);
        this.lastPrice = ring.price[i];
      }
    }
    this.seen = ring.total;
    this.seenRing = ring;
    const empty = this.rows.length === 0;
    // Without trades from the server (an older one, or none yet) the list waits for the stream's.
    if (empty) setText(this.empty, this.loading ? 'Loading trades…' : this.pageId !== null ? 'No trades yet.' : 'Waiting for trades…');
    this.empty.hidden = !empty;
  }
}
