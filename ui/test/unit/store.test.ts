import { describe, expect, it } from 'vitest';
import { Store, TickRing } from '../../src/store';
import { addTrade, buildBars, type Bar } from '../../src/views/chart';
import { heatColor, squarify } from '../../src/views/market';
import { resultTable } from '../../src/views/result';
import { HIST_EDGES, histogram, quantile, RateMeter } from '../../src/meters';
import { fmtChange, fmtPct, fmtPrice, fmtScore } from '../../src/format';
import { quote, snapshot } from './fakes';

describe('store', () => {
  it('replaces state on snapshot, applies events in id order, drops duplicates', () => {
    let now = 0;
    const s = new Store(() => now, () => 0);
    s.apply({ name: 'quote', id: 1, data: quote('A', 1) }); // before any snapshot: ignored
    expect(s.rows.size).toBe(0);
    s.apply({ name: 'snapshot', id: 10, data: snapshot([quote('A', 100), quote('B', 50)]) });
    expect(s.rows.size).toBe(2);
    now = 5;
    s.apply({ name: 'quote', id: 11, data: quote('A', 101, 1_800_000_000_100) });
    s.apply({ name: 'quote', id: 11, data: quote('A', 999, 1_800_000_000_200) });
    expect(s.rows.get('A')!.quote!.price).toBe(101);
    expect(s.rows.get('A')!.tick).toBe(1);
    expect(s.rows.get('A')!.tickAt).toBe(5);
    s.apply({ name: 'quote', id: 12, data: quote('A', 100.5, 1_800_000_000_300) });
    expect(s.rows.get('A')!.tick).toBe(-1);
    expect(s.takeDirty().has('A')).toBe(true);
    expect(s.takeDirty().size).toBe(0);
    // A snapshot without B removes it.
    s.apply({ name: 'snapshot', id: 20, data: snapshot([quote('A', 100)]) });
    expect([...s.rows.keys()]).toEqual(['A']);
  });

  it('keeps halts from the snapshot and from status events', () => {
    const s = new Store(() => 0, () => 0);
    const snap = { ...snapshot([quote('A', 1), quote('B', 2)]), statuses: [{ symbol: 'A', state: 'halted', reason: 'volatility', ts: 1 }] };
    s.apply({ name: 'snapshot', id: 1, data: snap });
    expect(s.halted().map((r) => r.sym)).toEqual(['A']);
    s.apply({ name: 'status', id: 2, data: { symbol: 'A', state: 'trading', reason: 'resumed', ts: 2 } });
    s.apply({ name: 'status', id: 3, data: { symbol: 'B', state: 'halted', reason: 'news', ts: 3 } });
    expect(s.halted().map((r) => r.sym)).toEqual(['B']);
    s.apply({ name: 'status', id: 4, data: { state: 'closed', reason: 'bell', ts: 4 } });
    expect(s.session?.state).toBe('closed');
  });

  it('counts what changed while paused', () => {
    const s = new Store(() => 0, () => 0);
    s.apply({ name: 'snapshot', id: 1, data: snapshot([quote('A', 1), quote('B', 2)]) });
    s.setPaused(true);
    s.apply({ name: 'quote', id: 2, data: quote('A', 2, 1_800_000_000_001) });
    s.apply({ name: 'quote', id: 3, data: quote('A', 3, 1_800_000_000_002) });
    s.apply({ name: 'quote', id: 4, data: quote('B', 3, 1_800_000_000_003) });
    expect(s.pausedEvents).toBe(3);
    expect(s.pausedSymbols.size).toBe(2);
    s.setPaused(false);
    expect(s.pausedEvents).toBe(0);
  });
});

describe('trade ring and candles', () => {
  it('keeps the newest ticks', () => {
    const r = new TickRing(4);
    for (let i = 0; i < 10; i++) r.push(i, i * 10, 1);
    expect(r.length).toBe(4);
    const seen: number[] = [];
    r.each(0, (ts) => seen.push(ts));
    expect(seen).toEqual([6, 7, 8, 9]);
  });

  it('folds trades into OHLCV bars per interval', () => {
    const r = new TickRing(100);
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    r.push(t0 + 100, 10, 1);
    r.push(t0 + 2000, 12, 2);
    r.push(t0 + 4000, 9, 3);
    r.push(t0 + 5100, 11, 4);
    const bars = buildBars(r, 5);
    expect(bars.map((b) => [b.open, b.high, b.low, b.close, b.volume])).toEqual([
      [10, 12, 9, 9, 6],
      [11, 11, 11, 11, 4],
    ]);
    expect(bars[1].time - bars[0].time).toBe(5);
    const more: Bar[] = [...bars];
    expect(addTrade(more, t0 + 5900, 13, 1, 5)).toBe(false);
    expect(more[1].high).toBe(13);
  });
});

describe('heatmap', () => {
  it('lays out sectors with areas in proportion to weight, inside the box', () => {
    const w = [0.4, 0.3, 0.2, 0.1];
    const rs = squarify(w, { x: 0, y: 0, w: 200, h: 100 });
    rs.forEach((r, i) => {
      expect(r.w * r.h).toBeCloseTo(w[i] * 20000, 6);
      expect(r.x).toBeGreaterThanOrEqual(-1e-9);
      expect(r.x + r.w).toBeLessThanOrEqual(200 + 1e-9);
      expect(r.y + r.h).toBeLessThanOrEqual(100 + 1e-9);
    });
    expect(heatColor(3)).toContain('142');
    expect(heatColor(-3)).toMatch(/^hsl\(0 /);
  });
});

describe('meters and formats', () => {
  it('computes nearest-rank quantiles and histograms', () => {
    const a = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(a, 0.5)).toBe(50);
    expect(quantile(a, 0.99)).toBe(99);
    expect(Number.isNaN(quantile([], 0.5))).toBe(true);
    const h = histogram([0.05, 0.5, 5, 50000]);
    expect(h.reduce((x, y) => x + y, 0)).toBe(4);
    expect(h[h.length - 1]).toBe(1);
    expect(HIST_EDGES[0]).toBe(0.1);
  });

  it('rates events over its window', () => {
    const m = new RateMeter(1000);
    for (let t = 0; t < 1000; t += 10) m.add(10_000 + t);
    expect(m.rate(10_999)).toBeCloseTo(100, -1);
    expect(m.rate(13_000)).toBe(0);
  });

  it('formats with signs and a real minus', () => {
    expect(fmtPrice(1234.5)).toBe('1,234.50');
    expect(fmtChange(-1.5)).toBe('−1.50');
    expect(fmtChange(0)).toBe('0.00');
    expect(fmtPct(0.123)).toBe('+0.12%');
    expect(fmtScore(-42.4)).toBe('−42');
    expect(fmtPrice(undefined)).toBe('–');
  });
});

describe('bench result table', () => {
  it('reads rows of objects, an object per transport, or columns and rows', () => {
    expect(resultTable([{ transport: 'sse', p50: 1.5 }, { transport: 'ws', p50: 2 }])).toEqual({
      head: ['transport', 'p50'],
      rows: [
        ['sse', '1.5'],
        ['ws', '2'],
      ],
    });
    expect(resultTable({ sse: { clients: 10 }, ws: { clients: 12 } })).toEqual({ head: ['', 'sse', 'ws'], rows: [['clients', '10', '12']] });
    expect(resultTable({ columns: ['a', 'b'], rows: [[1, 'x']] })).toEqual({ head: ['a', 'b'], rows: [['1', 'x']] });
    expect(resultTable(null)).toBeNull();
  });

  it('shows a compare.Result side by side, one column per transport', () => {
    const row = (transport: string, p50: number) => ({
      transport, clientsHeld: 50, marketEventsPerSec: 1000, eventsPerSec: 50000, latencyP50Ms: p50, latencyP99Ms: 3, latencyP999Ms: 9, latencyMaxMs: 20,
      bytesPerEvent: 210.4, serverCpuSecondsPerMillionEvents: 1.25, serverMemoryPerClientBytes: 20480, serverRssPerClientBytes: 40960, gaps: 0, duplicates: 0, resets: 0, errors: 0,
    });
    const t = resultTable({ date: '2026-11-25T19:00:00Z', target: 'this server', sharedProcess: true, clients: 50, durationSeconds: 5, rate: 1000, symbols: '', transports: [row('sse', 0.5), row('ws', 0.7)] })!;
    expect(t.head).toEqual(['', 'SSE', 'WebSocket']);
    expect(t.rows.find((r) => r[0] === 'Latency p50')).toEqual(['Latency p50', '0.50 ms', '0.70 ms']);
    expect(t.rows.find((r) => r[0] === 'Server heap per client')).toEqual(['Server heap per client', '20 KiB', '20 KiB']);
    expect(t.rows.some((r) => r[0] === 'First error')).toBe(false);
    expect(t.caption).toContain('50 clients per transport × 1,000 quotes/s');
    expect(t.caption).toContain('a 5 s window');
  });
});
