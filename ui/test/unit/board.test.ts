import { describe, expect, it } from 'vitest';
import { loadPrefs, PrefStore } from '../../src/prefs';
import { Store, TickRing } from '../../src/store';
import type { ConnStats } from '../../src/stream';
import type { History } from '../../src/types';
import { barsOfHistory, foldTrade, mergeTrades, type Bar } from '../../src/views/chart';
import { tileLabels } from '../../src/views/market';
import { boardState } from '../../src/views/status';
import { newestTrades } from '../../src/views/tape';
import { quote, snapshot } from './fakes';

const T0 = Date.UTC(2026, 0, 5, 15, 0, 0); // a whole minute

describe('chart: history merged with the live stream by id', () => {
  const hist: History = {
    symbol: 'A',
    interval: '1s',
    id: 100,
    bars: [
      { t: T0, o: 10, h: 11, l: 9, c: 10.5, v: 30 },
      { t: T0 + 1000, o: 10.5, h: 10.5, l: 10, c: 10, v: 5 },
    ],
  };

  it('takes only trades with a greater id, so no trade counts twice and none is lost', () => {
    const bars = barsOfHistory(hist, 1);
    const ring = new TickRing(16);
    ring.push(T0 + 500, 99, 0, 90); // a snapshot's quote: a state, not a trade
    ring.push(T0 + 1200, 10.2, 7, 100); // already in the history (id 100)
    ring.push(T0 + 1500, 12, 3, 101); // new, same second as the last bar
    ring.push(T0 + 2100, 8, 4, 102); // new bar
    const { touched, late } = mergeTrades(bars, ring, ring.first, hist.id, 1);
    expect(late).toBe(0);
    expect(bars.map((b) => [b.t - T0, b.open, b.high, b.low, b.close, b.volume])).toEqual([
      [0, 10, 11, 9, 10.5, 30],
      [1000, 10.5, 12, 10, 12, 8],
      [2000, 8, 8, 8, 8, 4],
    ]);
    expect(touched).toEqual([bars[1], bars[2]]);
    // Merging again from where it stopped adds nothing.
    expect(mergeTrades(bars, ring, ring.total, hist.id, 1).touched).toEqual([]);
  });

  it('drops a trade older than the newest bar instead of handing the chart an old update', () => {
    const bars: Bar[] = [];
    expect(foldTrade(bars, T0 + 5000, 10, 1, 1)).toBe('new');
    expect(foldTrade(bars, T0 + 5500, 11, 1, 1)).toBe('same');
    expect(foldTrade(bars, T0 + 3000, 12, 1, 1)).toBe('late');
    expect(bars).toHaveLength(1);
    expect(bars[0].high).toBe(11);
    const ring = new TickRing(4);
    ring.push(T0 + 1000, 5, 1, 200);
    expect(mergeTrades(bars, ring, 0, 150, 1)).toEqual({ touched: [], late: 1 });
  });

  it('without history, folds what the page has seen, snapshot quotes included', () => {
    const bars: Bar[] = [];
    const ring = new TickRing(4);
    ring.push(T0, 10, 0, 5);
    ring.push(T0 + 100, 11, 2, 6);
    mergeTrades(bars, ring, 0, null, 60);
    expect(bars.map((b) => [b.open, b.close, b.volume])).toEqual([[10, 11, 2]]);
  });

  it('places history bars on the same axis as live bars', () => {
    const [a] = barsOfHistory({ ...hist, interval: '1m', bars: [{ t: T0, o: 1, h: 1, l: 1, c: 1, v: 1 }] }, 60);
    const b: Bar[] = [];
    foldTrade(b, T0 + 59_999, 2, 1, 60);
    expect(b[0].time).toBe(a.time);
    expect(b[0].t).toBe(T0);
  });
});

describe('store: ids, session and age', () => {
  it('keeps each trade with its id, the snapshot session, and ages rows on the server clock', () => {
    let wall = 1_000_000;
    const s = new Store(() => 0, () => wall);
    s.apply({ name: 'snapshot', id: 50, data: { ...snapshot([quote('A', 10, wall - 60_000)]), session: { state: 'ended', reason: 'done', ts: 1 } } });
    expect(s.session?.state).toBe('ended');
    expect(s.snapshotId).toBe(50);
    const r = s.rows.get('A')!;
    expect(r.ticks.id[0]).toBe(50);
    expect(r.ticks.size[0]).toBe(0);
    // The snapshot's quote is a minute old: the row is that old, whenever it arrived.
    expect(s.ageOf(r, wall)).toBe(60_000);
    // Live quotes arrive 2 s behind the engine's clock: ages are measured on that clock.
    wall += 10_000;
    s.apply({ name: 'quote', id: 51, data: quote('A', 11, wall - 2000) });
    expect(r.ticks.id[1]).toBe(51);
    expect(s.ageOf(r, wall)).toBe(0);
    expect(s.ageOf(r, wall + 31_000)).toBe(31_000);
  });
});

describe('top bar', () => {
  const stats = (p: Partial<ConnStats>): ConnStats => ({
    transport: 'sse', state: 'open', throttle: null, lastId: 1, events: 1, eventsPerSec: 1, lastEventAge: 100, reconnects: 0, resets: 0, gaps: 0, p50: 1, p99: 1, p999: 1, buffered: null, downFor: null, ...p,
  });
  const session = (state: string) => ({ session: { state, reason: '', ts: 0 }, market: null });

  it('says live only while live, and what the market does', () => {
    expect(boardState(stats({}), 0, session('open'))).toMatchObject({ badge: 'SSE live', pill: 'Session open' });
    expect(boardState(stats({ transport: 'ws' }), 0, session('ended'))).toMatchObject({ badge: 'WS live', pill: 'Feed ended' });
    expect(boardState(stats({}), 0, session('closed')).pill).toBe('Market closed');
    expect(boardState(stats({ lastEventAge: 9000 }), 2500, session('open')).pill).toBe('No data for 11 s');
  });

  it('counts the seconds of an outage and claims nothing else meanwhile', () => {
    expect(boardState(stats({ state: 'reconnecting', downFor: 4200 }), 900, session('open'))).toEqual({ badge: 'reconnecting (5 s)', badgeClass: 'st-reconnecting', pill: '', pillClass: '' });
    expect(boardState(null, 0, session('open')).badge).toBe('connecting');
  });
});

describe('heatmap labels', () => {
  const text = { name: 60, short: 30, pct: 40, pctSmall: 32 };
  it('shows the most that fits, down to a small % alone', () => {
    expect(tileLabels(80, 40, text)).toBe('full');
    expect(tileLabels(55, 40, text)).toBe('short');
    expect(tileLabels(50, 20, text)).toBe('pct');
    expect(tileLabels(36, 12, text)).toBe('pct-small');
    expect(tileLabels(35, 40, text)).toBe('none');
    expect(tileLabels(90, 11, text)).toBe('none');
  });
});

describe('prefs', () => {
  it('remembers my list, scope, selection, interval and sort, and survives garbage', () => {
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
    const p = new PrefStore(storage);
    p.set('mine', ['AAPL', 'BRK.B']);
    p.set('scope', 'mine');
    p.set('selected', 'AAPL');
    p.set('interval', 15);
    p.set('sort', { key: 'pct', dir: -1 });
    expect(loadPrefs(storage)).toEqual({ mine: ['AAPL', 'BRK.B'], scope: 'mine', selected: 'AAPL', interval: 15, sort: { key: 'pct', dir: -1 } });
    mem.set('tickertape-board', '{"mine":["<b>",1,"MSFT","MSFT"],"scope":"x","interval":7,"sort":{"key":"nope","dir":1}}');
    expect(loadPrefs(storage)).toEqual({ mine: ['MSFT'], scope: 'all', selected: null, interval: 60, sort: null });
    mem.set('tickertape-board', '{not json');
    expect(loadPrefs(storage).mine).toEqual([]);
  });
});

describe('time and sales: the server page merged with the live ring by id', () => {
  const page = [
    { t: 1000, p: 10, s: 1 },
    { t: 2000, p: 11, s: 2 },
    { t: 3000, p: 12, s: 3 }, // id 100's trade: the newest the page has
  ];

  it('takes the ring trades above the page id, newest first, then the page, newest first', () => {
    const ring = new TickRing(16);
    ring.push(2500, 99, 0, 95); // a snapshot's quote: a state, not a trade
    ring.push(3000, 12, 3, 100); // in the page already
    ring.push(4000, 13, 4, 101);
    ring.push(5000, 12.5, 5, 102);
    expect(newestTrades(ring, page, 100, 10).map((x) => x.t)).toEqual([5000, 4000, 3000, 2000, 1000]);
    expect(newestTrades(ring, page, 100, 3).map((x) => x.t)).toEqual([5000, 4000, 3000]);
    expect(newestTrades(ring, page, 100, 10)[0]).toEqual({ t: 5000, p: 12.5, s: 5 });
  });

  it('without a page, lists the ring trades alone', () => {
    const ring = new TickRing(4);
    ring.push(2500, 99, 0, 95);
    for (let k = 0; k < 6; k++) ring.push(3000 + k, 10 + k, 1, 101 + k); // the ring keeps the newest 4
    expect(newestTrades(ring, page, null, 10).map((x) => x.p)).toEqual([15, 14, 13, 12]);
  });
});
