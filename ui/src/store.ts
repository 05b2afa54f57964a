// The page's state, by symbol. Events update it and mark what changed; the
// render loop (render.ts) reads it once per animation frame and paints only
// what is dirty. Nothing here touches the DOM.

import type { Market, Quote, Score, Status, StreamEvent, SymbolInfo, Trade } from './types';

/**
 * A bounded ring of trades (engine ts, price, size, event id) for the chart,
 * the sparkline and time and sales. A quote that came in a snapshot is held
 * with size 0 (it is a state, not a trade seen) and the snapshot's id.
 */
export class TickRing {
  readonly ts: Float64Array;
  readonly price: Float64Array;
  readonly size: Float64Array;
  /** The event id of each push, NaN when unknown. */
  readonly id: Float64Array;
  /** Total pushes ever; the ring holds the newest min(total, capacity). */
  total = 0;

  constructor(readonly capacity = 2048) {
    this.ts = new Float64Array(capacity);
    this.price = new Float64Array(capacity);
    this.size = new Float64Array(capacity);
    this.id = new Float64Array(capacity);
  }

  push(ts: number, price: number, size: number, id: number | null = null): void {
    const i = this.total % this.capacity;
    this.ts[i] = ts;
    this.price[i] = price;
    this.size[i] = size;
    this.id[i] = id ?? NaN;
    this.total++;
  }

  get length(): number {
    return Math.min(this.total, this.capacity);
  }

  /** Index (in push order) of the oldest tick still held. */
  get first(): number {
    return this.total - this.length;
  }

  /** Calls fn for pushes number from … total-1 that are still held. */
  each(from: number, fn: (ts: number, price: number, size: number, id: number) => void): void {
    for (let n = Math.max(from, this.first); n < this.total; n++) {
      const i = n % this.capacity;
      fn(this.ts[i], this.price[i], this.size[i], this.id[i]);
    }
  }

  lastTs(): number {
    return this.total ? this.ts[(this.total - 1) % this.capacity] : -Infinity;
  }

  clear(): void {
    this.total = 0;
  }
}

/** A row's last trades from the server (seed.ts), as of the event id: what its sparkline starts from. */
export interface Seed {
  readonly id: number;
  readonly trades: readonly Trade[];
}

/** One watchlist row's state. */
export interface Row {
  readonly sym: string;
  info?: SymbolInfo;
  quote?: Quote;
  score?: Score;
  status?: Status;
  /** Direction of the last price change, and when it came (performance.now()). */
  tick: 1 | -1 | 0;
  tickAt: number;
  /** Wall-clock ms when the last quote arrived. */
  seenAt: number;
  ticks: TickRing;
  /** The server's last trades, once fetched: the ring's trades with a greater id follow them. */
  seed?: Seed;
}

/** Store keeps the market as the stream tells it. */
export class Store {
  readonly rows = new Map<string, Row>();
  info = new Map<string, SymbolInfo>();
  market: Market | null = null;
  /** Session open/close, the newest status without a symbol. */
  session: Status | null = null;
  lastId: number | null = null;
  /** The id of the newest snapshot (null before one): history older than it may miss trades. */
  snapshotId: number | null = null;
  /** Whether a snapshot has arrived since the last reset. */
  ready = false;
  /**
   * How far behind the engine's clock a quote arrives, at best (ms): the
   * smallest arrival − ts seen since the last snapshot. It stands for the
   * difference between the server's clock and ours, so that a row's age is
   * measured on the server's clock. 0 until a live quote comes.
   */
  skew = 0;
  private skewSeen = false;

  /** Symbols changed since the last paint. */
  dirty = new Set<string>();
  marketDirty = false;
  /** Bumped when rows appear or vanish, or every row changed (snapshot, reset). */
  version = 0;

  /** Counts while paused, for the pause banner. */
  pausedEvents = 0;
  pausedSymbols = new Set<string>();
  paused = false;

  /** Events applied, and resets/snapshots seen (for the panel and the tests). */
  applied = 0;
  snapshots = 0;
  resets = 0;

  private readonly listeners = new Set<() => void>();

  constructor(private readonly clock: () => number = () => performance.now(), private readonly wall: () => number = () => Date.now()) {}

  /** Calls fn after every batch applied; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setSymbols(list: SymbolInfo[]): void {
    this.info = new Map(list.map((s) => [s.symbol, s]));
    for (const r of this.rows.values()) r.info = this.info.get(r.sym);
    this.version++;
    this.notify();
  }

  /** Applies a batch of events in order, then notifies once. */
  applyAll(evs: readonly StreamEvent[]): void {
    for (const ev of evs) this.apply(ev);
    this.notify();
  }

  private notify(): void {
    for (const fn of this.listeners) fn();
  }

  private row(sym: string): Row {
    let r = this.rows.get(sym);
    if (!r) {
      r = { sym, info: this.info.get(sym), tick: 0, tickAt: -Infinity, seenAt: 0, ticks: new TickRing() };
      this.rows.set(sym, r);
      this.version++;
    }
    return r;
  }

  private touch(sym: string): void {
    this.dirty.add(sym);
    if (this.paused) this.pausedSymbols.add(sym);
  }

  /** Applies one event. */
  apply(ev: StreamEvent): void {
    if (ev.name === 'reset') {
      this.clear();
      this.resets++;
      return;
    }
    if (ev.name === 'snapshot') {
      this.replace(ev.data, ev.id);
      return;
    }
    // Nothing but a snapshot makes sense before the first snapshot, and a
    // repeated id is a duplicate (the hub already drops them; be safe).
    if (!this.ready) return;
    if (ev.id !== null) {
      if (this.lastId !== null && ev.id <= this.lastId) return;
      this.lastId = ev.id;
    }
    this.applied++;
    if (this.paused) this.pausedEvents++;
    switch (ev.name) {
      case 'quote':
        this.quote(ev.data, true, ev.id);
        break;
      case 'score': {
        const r = this.row(ev.data.symbol);
        r.score = ev.data;
        this.touch(r.sym);
        break;
      }
      case 'market':
        this.market = ev.data;
        this.marketDirty = true;
        break;
      case 'status':
        this.status(ev.data);
        break;
    }
  }

  private quote(q: Quote, live: boolean, id: number | null): void {
    const r = this.row(q.symbol);
    const prev = r.quote?.price;
    if (live && prev !== undefined && q.price !== prev) {
      r.tick = q.price > prev ? 1 : -1;
      r.tickAt = this.clock();
    }
    r.quote = q;
    r.seenAt = this.wall();
    if (live && Number.isFinite(q.ts)) {
      const lag = r.seenAt - q.ts;
      if (!this.skewSeen || lag < this.skew) this.skew = lag;
      this.skewSeen = true;
    }
    if (q.ts > r.ticks.lastTs()) r.ticks.push(q.ts, q.price, live ? q.size : 0, id);
    this.touch(r.sym);
  }

  /** How old a row's last trade is (ms) at wall time, on the server's clock; Infinity without one. */
  ageOf(r: Row, wall: number): number {
    const ts = r.quote?.ts;
    return ts === undefined || !Number.isFinite(ts) ? Infinity : Math.max(0, wall - this.skew - ts);
  }

  private status(s: Status): void {
    if (!s.symbol) {
      this.session = s;
      this.marketDirty = true;
      return;
    }
    const r = this.row(s.symbol);
    r.status = s;
    this.touch(r.sym);
    this.marketDirty = true; // the halts list lives in the market panel
  }

  /** Forgets everything: a reset means what we hold no longer follows from the stream. */
  clear(): void {
    this.rows.clear();
    this.market = null;
    this.session = null;
    this.lastId = null;
    this.snapshotId = null;
    this.ready = false;
    this.dirty.clear();
    this.marketDirty = true;
    this.version++;
  }

  /**
   * Replaces the state with a snapshot. The trade history of symbols that
   * stay is kept (a snapshot after a throttled spell continues the same
   * market; a reset has already cleared it when the market changed).
   */
  replace(snap: { quotes?: Quote[]; scores?: Score[]; market?: Market | null; statuses?: Status[] | null; session?: Status | null }, id: number | null): void {
    const keep = new Set((snap.quotes ?? []).map((q) => q.symbol));
    for (const sym of [...this.rows.keys()]) if (!keep.has(sym)) this.rows.delete(sym);
    for (const r of this.rows.values()) {
      r.score = undefined;
      r.status = undefined;
    }
    this.skew = 0;
    this.skewSeen = false;
    for (const q of snap.quotes ?? []) this.quote(q, false, id);
    for (const s of snap.scores ?? []) {
      const r = this.row(s.symbol);
      r.score = s;
    }
    for (const s of snap.statuses ?? []) this.status(s);
    this.market = snap.market ?? null;
    this.session = snap.session ?? null;
    this.lastId = id;
    this.snapshotId = id;
    this.ready = true;
    this.snapshots++;
    this.marketDirty = true;
    for (const sym of this.rows.keys()) this.dirty.add(sym);
    this.version++;
  }

  /** Gives each listed row its seed: the server's last trades as of id (seed.ts). */
  setSeeds(id: number, list: readonly { symbol: string; trades: readonly Trade[] }[]): void {
    for (const x of list) {
      const r = this.rows.get(x.symbol);
      if (!r) continue;
      r.seed = { id, trades: x.trades };
      this.dirty.add(r.sym);
    }
    this.notify();
  }

  /** Hands over the dirty set and starts a new one. */
  takeDirty(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    return d;
  }

  /** Symbols currently halted. */
  halted(): Row[] {
    const out: Row[] = [];
    for (const r of this.rows.values()) if (r.status?.state === 'halted') out.push(r);
    return out;
  }

  setPaused(p: boolean): void {
    this.paused = p;
    this.pausedEvents = 0;
    this.pausedSymbols.clear();
  }
}
