import { describe, expect, it } from 'vitest';
import { alignCdfs } from '../../src/views/benchplots';
import { benchTable, fmtFigure } from '../../src/views/result';
import type { BenchResult, TransportResult } from '../../src/types';

const side = (transport: string, label: string, p50: number, heap: number | null): TransportResult => ({
  transport, label, clientsHeld: 100, connections: 100, marketEventsPerSec: 2000, eventsPerSec: 177567.5, latencyP50Ms: p50, latencyP99Ms: 3, latencyP999Ms: 9,
  latencyMaxMs: 20, bytesPerEvent: 241.7, serverCpuSecondsPerMillionEvents: 2.86, serverMemoryPerClientBytes: heap, serverRssPerClientBytes: 40960,
  gaps: 0, duplicates: 0, resets: 0, errors: 0,
  spread: { latencyP50Ms: { min: p50 - 0.5, max: p50 + 0.5, runs: [p50 - 0.5, p50, p50 + 0.5] }, eventsPerSec: { min: 177000, max: 177567.5, runs: [177000, 177567.5, 177567.5] } },
});

describe('bench result', () => {
  it('formats every figure with its unit and thousands separators', () => {
    expect(fmtFigure('rate', 177567.5)).toBe('177,568/s');
    expect(fmtFigure('us', 2.861)).toBe('2.86 µs');
    expect(fmtFigure('B', 241.7)).toBe('242 B');
    expect(fmtFigure('bytes', 40960)).toBe('40 KiB');
    expect(fmtFigure('pct', 3)).toBe('3 % of a core');
  });

  it('gives each row its median, its range over the runs and how it is measured', () => {
    const r: BenchResult = {
      date: '', target: 'a child process', sharedProcess: false, clients: 100, runs: 3, durationSeconds: 10, rate: 2000, symbols: '50',
      machine: { cpu: 'Some CPU', cores: 2, gomaxprocs: 2, go: 'go1.26', os: 'linux', arch: 'amd64', kernel: '6.1', otherLoadCores: 0.25 },
      figures: [{ key: 'latencyP50Ms', label: 'latency p50', unit: 'ms', how: 'Time of reading minus ts.' }],
      transports: [side('sse', 'SSE', 1.9, 2048), side('ws', 'WebSocket', 2.6, null)],
    };
    const t = benchTable(r);
    expect(t.head).toEqual(['', 'SSE', 'WebSocket']);
    const p50 = t.rows.find((x) => x.key === 'latencyP50Ms')!;
    expect(p50.how).toBe('Time of reading minus ts.');
    expect(p50.cells).toEqual([{ value: '1.9 ms', range: '1.4–2.4' }, { value: '2.6 ms', range: '2.1–3.1' }]);
    expect(t.rows.find((x) => x.key === 'eventsPerSec')!.cells[0]).toEqual({ value: '177,568/s', range: '177,000–177,568' });
    expect(t.rows.find((x) => x.key === 'serverMemoryPerClientBytes')!.cells.map((c) => c.value)).toEqual(['2 KiB', 'n/a']);
    expect(t.rows.every((x) => x.how.length > 10)).toBe(true);
    expect(t.machine).toContain('Some CPU, 2 cores, GOMAXPROCS 2, go1.26, linux 6.1');
    expect(t.machine).toContain('0.25 cores');
  });

  it('puts every side’s CDF on one x axis, as steps', () => {
    const [xs, a, b] = alignCdfs([
      [[0.1, 0.5], [1, 1]],
      [[0.5, 0.2], [2, 1]],
    ]);
    expect(xs).toEqual([0.1, 0.5, 1, 2]);
    expect(a).toEqual([0.5, 0.5, 1, 1]);
    expect(b).toEqual([null, 0.2, 0.2, 1]);
  });
});
