import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BATCH, RETRIES, Seeder, sparkPrices } from '../../src/seed';
import { Store, TickRing } from '../../src/store';
import type { TradesBatch } from '../../src/types';
import { quote, snapshot } from './fakes';

/** A fake fetch for GET /api/trades?symbols=…: answers each request with answer(symbols, limit), after delay ms, and records them. */
function fakeServer(answer: (syms: string[], limit: number) => TradesBatch | number, delay = () => 0) {
  const asked: { syms: string[]; limit: number }[] = [];
  const fetch = vi.fn(async (url: string) => {
    const u = new URL(url, 'http://x');
    expect(u.pathname).toBe('/api/trades');
    const syms = u.searchParams.get('symbols')!.split(',');
    const limit = Number(u.searchParams.get('limit'));
    asked.push({ syms, limit });
    const a = answer(syms, limit);
    const ms = delay();
    if (ms) await new Promise((r) => setTimeout(r, ms));
    const status = typeof a === 'number' ? a : 200;
    return { ok: status === 200, status, json: async () => (typeof a === 'number' ? { error: 'x' } : structuredClone(a)) };
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, asked };
}

const trades = (sym: string, n: number) => Array.from({ length: n }, (_, k) => ({ t: 1000 + k, p: sym.length * 10 + k, s: 1 }));
const batch = (id: number, syms: string[], n = 3): TradesBatch => ({ id, symbols: syms.map((symbol) => ({ symbol, trades: trades(symbol, n) })) });
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('seeder: each snapshot seeds every row from the server', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks for every row after the snapshot, at most BATCH symbols a request, and gives each row its trades and the id', async () => {
    const syms = Array.from({ length: 600 }, (_, i) => `S${i}`);
    const srv = fakeServer((s) => batch(120, s));
    const store = new Store();
    new Seeder(store, { limit: 48, fetch: srv.fetch });
    store.applyAll([{ name: 'quote', id: 1, data: quote('S0', 10) }]); // before the snapshot: nothing to seed
    expect(srv.asked).toHaveLength(0);
    store.applyAll([{ name: 'snapshot', id: 120, data: snapshot(syms.map((s) => quote(s, 10))) }]);
    await settle();
    expect(srv.asked.map((a) => a.syms.length)).toEqual([BATCH, BATCH, 600 - 2 * BATCH]);
    expect(srv.asked.flatMap((a) => a.syms).sort()).toEqual([...syms].sort());
    expect(srv.asked.every((a) => a.limit === 48)).toBe(true);
    for (const s of syms) expect(store.rows.get(s)!.seed).toEqual({ id: 120, trades: trades(s, 3) });
    expect(store.dirty.has('S599')).toBe(true);
    // Live events ask for nothing more.
    store.applyAll([{ name: 'quote', id: 121, data: quote('S1', 11) }]);
    await settle();
    expect(srv.asked).toHaveLength(3);
  });

  it('asks again, shortly, while the answer is older than the snapshot, keeping the older seed meanwhile', async () => {
    let id = 90;
    const srv = fakeServer((s) => batch(id, s));
    const store = new Store();
    new Seeder(store, { limit: 48, fetch: srv.fetch, retryMs: 100 });
    store.applyAll([{ name: 'snapshot', id: 100, data: snapshot([quote('A', 10), quote('B', 20)]) }]);
    await settle();
    expect(srv.asked).toHaveLength(1);
    expect(store.rows.get('A')!.seed?.id).toBe(90);
    await vi.advanceTimersByTimeAsync(100);
    expect(srv.asked).toHaveLength(2);
    id = 100;
    await vi.advanceTimersByTimeAsync(200);
    expect(srv.asked).toHaveLength(3);
    expect(store.rows.get('B')!.seed?.id).toBe(100);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(srv.asked).toHaveLength(3); // caught up: no more
  });

  it('gives up after RETRIES more, with the newest answer it had', async () => {
    const srv = fakeServer((s) => batch(5, s));
    const store = new Store();
    new Seeder(store, { limit: 10, fetch: srv.fetch, retryMs: 10 });
    store.applyAll([{ name: 'snapshot', id: 100, data: snapshot([quote('A', 10)]) }]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(srv.asked).toHaveLength(1 + RETRIES);
    expect(store.rows.get('A')!.seed?.id).toBe(5);
  });

  it('seeds again after a reset and its snapshot; an answer for an earlier snapshot is dropped', async () => {
    let id = 100;
    let slow = 50;
    const srv = fakeServer((s) => batch(id, s), () => slow);
    const store = new Store();
    new Seeder(store, { limit: 48, fetch: srv.fetch });
    store.applyAll([{ name: 'snapshot', id: 100, data: snapshot([quote('A', 10)]) }]);
    // The reset and its snapshot come before the first answer does, whose answer comes last.
    id = 500;
    slow = 0;
    store.applyAll([{ name: 'reset', id: null, data: { reason: 'lapped' } }, { name: 'snapshot', id: 500, data: snapshot([quote('A', 11), quote('C', 12)]) }]);
    await vi.advanceTimersByTimeAsync(100);
    expect(srv.asked.map((a) => a.syms.join())).toEqual(['A', 'A,C']);
    expect(store.rows.get('A')!.seed?.id).toBe(500);
    expect(store.rows.get('C')!.seed?.id).toBe(500);
  });

  it('leaves the rows unseeded when the server has no batch form or is away', async () => {
    const store = new Store();
    new Seeder(store, { limit: 48, fetch: fakeServer(() => 400).fetch });
    const away = new Store();
    new Seeder(away, { limit: 48, fetch: (async () => Promise.reject(new TypeError('failed to fetch'))) as typeof fetch });
    for (const s of [store, away]) s.applyAll([{ name: 'snapshot', id: 100, data: snapshot([quote('A', 10)]) }]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.rows.get('A')!.seed).toBeUndefined();
    expect(away.rows.get('A')!.seed).toBeUndefined();
  });
});

describe('sparkline: the seed, then the live trades above its id', () => {
  const seed = { id: 100, trades: [1, 2, 3, 4].map((p, k) => ({ t: k, p, s: 1 })) };

  it('draws every trade once: the snapshot quote and the trades at or below the seed id are in the seed', () => {
    const ring = new TickRing(8);
    ring.push(10, 4, 0, 90); // the snapshot's quote: the seed's last trade
    ring.push(11, 99, 5, 100); // live, but folded into the seed already
    ring.push(12, 5, 5, 101);
    ring.push(13, 6, 5, 102);
    expect(sparkPrices(ring, seed, 48)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sparkPrices(ring, seed, 3)).toEqual([4, 5, 6]);
  });

  it('draws the seed alone before any live trade, and the ring alone without a seed or past a gap', () => {
    const ring = new TickRing(4);
    ring.push(10, 4, 0, 100);
    expect(sparkPrices(ring, seed, 48)).toEqual([1, 2, 3, 4]);
    expect(sparkPrices(ring, undefined, 48)).toEqual([4]);
    for (let k = 0; k < 6; k++) ring.push(20 + k, 10 + k, 1, 101 + k);
    expect(sparkPrices(ring, undefined, 48)).toEqual([12, 13, 14, 15]); // what the ring still holds
    // The ring lost trades newer than the seed: the seed would leave a gap, so the ring alone.
    expect(sparkPrices(ring, seed, 48)).toEqual([12, 13, 14, 15]);
  });
});
