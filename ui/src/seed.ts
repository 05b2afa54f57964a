// The watchlist's trend from the start. The page sees only the trades made
// since it opened, and a quiet symbol trades once in many seconds; so after
// each snapshot (the first, and the one after a reset or a throttled spell)
// the seeder asks the server for every row's last trades, GET
// /api/trades?symbols=… with at most BATCH symbols a request, and gives each
// row its seed (Store.setSeeds). The sparkline draws a row's seed, then its
// live trades with a greater id (sparkPrices), as time and sales merges its
// page: no trade twice, and none missing as long as the seed's id is not
// older than the snapshot's; an answer older than that is kept and asked
// for again in a moment (the server folds each event just after publishing
// it).

import type { Seed, Store, TickRing } from './store';
import { ENDPOINTS, type TradesBatch } from './types';

/** The most symbols one request names (the server takes up to -max-filter-symbols, 1000 by default). */
export const BATCH = 250;
/** How often an answer older than the snapshot is asked for again. */
export const RETRIES = 5;

export interface SeederOptions {
  /** Trades per symbol: as many as a sparkline draws. */
  limit: number;
  fetch?: typeof fetch;
  /** The wait before asking again is this (ms) times the attempt. */
  retryMs?: number;
}

/**
 * The newest n prices of a row's sparkline, oldest first: the ring's trades
 * with an id above the seed's, after the seed's trades; the ring alone
 * (snapshot quotes included) without a seed, or when the ring no longer
 * holds every trade since the seed.
 */
export function sparkPrices(ring: TickRing, seed: Seed | undefined, n: number): number[] {
  const out: number[] = [];
  let joined = ring.first === 0; // the ring holds every trade it was given
  for (let k = ring.total - 1; k >= ring.first && out.length < n; k--) {
    const i = k % ring.capacity;
    if (seed && ring.id[i] <= seed.id) {
      joined = true; // in the seed; so is every older one
      break;
    }
    out.push(ring.price[i]);
  }
  if (seed && joined) for (let j = seed.trades.length - 1; j >= 0 && out.length < n; j--) out.push(seed.trades[j].p);
  return out.reverse();
}

/** Seeds the store's rows after each of its snapshots. */
export class Seeder {
  private seeded = -1; // store.snapshots when the last seeding began

  constructor(
    private readonly store: Store,
    private readonly opts: SeederOptions,
  ) {
    store.subscribe(() => this.check());
  }

  private check(): void {
    const s = this.store;
    if (!s.ready || s.snapshots === this.seeded) return;
    this.seeded = s.snapshots;
    const syms = [...s.rows.keys()];
    for (let i = 0; i < syms.length; i += BATCH) void this.load(syms.slice(i, i + BATCH), this.seeded, 1);
  }

  private async load(syms: string[], snapshots: number, attempt: number): Promise<void> {
    const get = this.opts.fetch ?? fetch.bind(globalThis);
    let b: TradesBatch;
    try {
      const res = await get(ENDPOINTS.tradesOf(syms, this.opts.limit));
      if (!res.ok) return; // an older server: the live trades alone, as before
      b = (await res.json()) as TradesBatch;
    } catch {
      return; // the server is away: its next snapshot seeds again
    }
    const s = this.store;
    if (s.snapshots !== snapshots) return; // a newer snapshot is seeding
    s.setSeeds(b.id, b.symbols);
    if (s.snapshotId !== null && b.id < s.snapshotId && attempt <= RETRIES) {
      setTimeout(() => {
        if (s.snapshots === snapshots) void this.load(syms, snapshots, attempt + 1);
      }, (this.opts.retryMs ?? 200) * attempt);
    }
  }
}
