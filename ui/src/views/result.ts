// The bench result table, read from a progress event's result whatever its
// exact shape (compare/ owns it), so the table never silently drops a figure.

import { fmtInt, fmtMs } from '../format';
import { BENCH_ROWS, type BenchResult } from '../types';

const bytes = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${Math.round(n)} B`);

/** A compare.Result as the CLI prints it: one column per transport, one row per figure. */
export function benchTable(r: BenchResult): { head: string[]; rows: string[][]; caption: string } {
  const ts = r.transports;
  const rows: string[][] = [];
  for (const [key, label, kind] of BENCH_ROWS) {
    const vals = ts.map((t) => t[key]);
    if (kind === 'text' && vals.every((v) => !v)) continue;
    rows.push([
      label,
      ...vals.map((v) => {
        if (v === null) return 'below noise'; // compare/: the figure did not grow
        if (typeof v !== 'number') return v === undefined ? '' : String(v);
        switch (kind) {
          case 'int':
            return fmtInt(v);
          case 'ms':
            return fmtMs(v);
          case 'bytes':
            return bytes(v);
          default:
            return v.toLocaleString('en-US', { maximumFractionDigits: v < 10 ? 3 : 1 });
        }
      }),
    ]);
  }
  const caption = `${r.clients} clients per transport for ${r.durationSeconds} s at ${r.rate ? `${r.rate} quotes/s` : "the server's rate"} · ${r.target}${r.sharedProcess ? ' (shared process)' : ''}`;
  return { head: ['', ...ts.map((t) => (t.transport === 'ws' ? 'WebSocket' : t.transport === 'sse' ? 'SSE' : t.transport))], rows, caption };
}

function isBenchResult(x: unknown): x is BenchResult {
  const t = (x as BenchResult | null)?.transports;
  return Array.isArray(t) && t.length > 0 && t.every((o) => o && typeof o === 'object' && typeof o.transport === 'string');
}

/** Turns a bench result, whatever its exact shape, into a header row and body rows. */
export function resultTable(result: unknown): { head: string[]; rows: string[][]; caption?: string } | null {
  if (isBenchResult(result)) return benchTable(result);
  const cell = (v: unknown): string =>
    v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? fmtInt(v) : v.toLocaleString('en-US', { maximumFractionDigits: 3 })) : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (!result || typeof result !== 'object') return null;
  const r = result as Record<string, unknown>;
  // {columns|header: [...], rows: [[...]]}
  const head = (r.columns ?? r.header ?? r.head) as unknown;
  if (Array.isArray(head) && Array.isArray(r.rows) && r.rows.every(Array.isArray)) {
    return { head: head.map(String), rows: (r.rows as unknown[][]).map((row) => row.map(cell)) };
  }
  // [{...}, {...}] or {rows: [{...}]} or {transports|results: [{...}]}
  const list = Array.isArray(result) ? result : (['rows', 'transports', 'results', 'table'].map((k) => r[k]).find(Array.isArray) as unknown[] | undefined);
  if (list && list.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
    const keys: string[] = [];
    for (const o of list as Record<string, unknown>[]) for (const k of Object.keys(o)) if (!keys.includes(k)) keys.push(k);
    return { head: keys, rows: (list as Record<string, unknown>[]).map((o) => keys.map((k) => cell(o[k]))) };
  }
  // {sse: {...}, ws: {...}}: one column per transport, one row per metric.
  const sides = Object.entries(r).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v)) as [string, Record<string, unknown>][];
  if (sides.length) {
    const keys: string[] = [];
    for (const [, o] of sides) for (const k of Object.keys(o)) if (!keys.includes(k)) keys.push(k);
    return { head: ['', ...sides.map(([k]) => k)], rows: keys.map((k) => [k, ...sides.map(([, o]) => cell(o[k]))]) };
  }
  return { head: Object.keys(r), rows: [Object.values(r).map(cell)] };
}
