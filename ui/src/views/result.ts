// The bench result table, read from a progress event's result whatever its
// exact shape (compare/bench owns it), so the table never silently drops a
// figure: a bench.Result as the CLI prints it, anything else generically.

import { fmtInt, fmtMs } from '../format';
import { BENCH_ROWS, type BenchKind, type BenchResult, type TransportResult } from '../types';

const num2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const num1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
/** About three significant digits, with thousands separators. */
const sig = (v: number) => (Math.abs(v) >= 100 ? fmtInt(v) : Math.abs(v) >= 10 ? num1.format(v) : num2.format(v));

/** A figure's value with its unit, as the CLI prints it. */
export function fmtFigure(kind: BenchKind, v: number): string {
  switch (kind) {
    case 'int':
      return fmtInt(v);
    case 'rate':
      return `${fmtInt(v)}/s`;
    case 'ms':
      return fmtMs(v);
    case 'B':
      return `${sig(v)} B`;
    case 'us':
      return `${sig(v)} µs`;
    case 'pct':
      return `${sig(v)} % of a core`;
    case 'bytes':
      return `${sig(v / 1024)} KiB`;
    default:
      return sig(v);
  }
}

/** The same without its unit, for a range after a value that has it. */
function fmtBare(kind: BenchKind, v: number): string {
  switch (kind) {
    case 'int':
    case 'rate':
      return fmtInt(v);
    case 'ms':
      return fmtMs(v).replace(' ms', '');
    case 'bytes':
      return sig(v / 1024);
    default:
      return sig(v);
  }
}

export interface BenchCell {
  value: string;
  /** "min–max" of the runs, when there was more than one. */
  range?: string;
}
export interface BenchRow {
  key: string;
  label: string;
  /** How the figure is measured: the row's tooltip. */
  how: string;
  cells: BenchCell[];
}
export interface BenchTable {
  head: string[];
  rows: BenchRow[];
  caption: string;
  machine: string;
  shared: boolean;
}

/** The side's name: its label, or its transport's. */
export const sideName = (t: TransportResult): string => t.label || (t.transport === 'ws' ? 'WebSocket' : t.transport === 'sse' ? 'SSE' : t.transport);

/** A bench.Result as the CLI prints it: one column per side, one row per figure, each cell the median [min–max] of the runs. */
export function benchTable(r: BenchResult): BenchTable {
  const ts = r.transports;
  const how = new Map((r.figures ?? []).map((f) => [f.key, f.how]));
  const rows: BenchRow[] = [];
  const runs = r.runs ?? 1;
  for (const [key, label, kind, fallback] of BENCH_ROWS) {
    const vals = ts.map((t) => t[key]);
    if (vals.every((v) => v === undefined)) continue; // an older server's result
    if (kind === 'text' && vals.every((v) => !v)) continue;
    rows.push({
      key,
      label,
      how: how.get(key) ?? fallback,
      cells: ts.map((t) => {
        const v = t[key];
        if (v === null || v === undefined) return { value: 'n/a' }; // not measured
        if (typeof v !== 'number') return { value: String(v) };
        const sp = t.spread?.[key];
        // An en dash between two numbers, " to " when one is negative.
        const to = sp && sp.min < 0 ? ' to ' : '–';
        const range = runs > 1 && sp ? (sp.min === sp.max ? 'all runs' : `${fmtBare(kind, sp.min)}${to}${fmtBare(kind, sp.max)}`) : undefined;
        return { value: fmtFigure(kind, v), range };
      }),
    });
  }
  const load = r.rate ? `× ${fmtInt(r.rate)} quotes/s` : "at the server's rate";
  const caption = `${r.scenario ? `Scenario ${r.scenario}: ` : ''}${fmtInt(r.clients)} clients per transport ${load}, ${runs} run${runs === 1 ? '' : 's'} each in turns, a ${r.durationSeconds} s window each · ${r.target}`;
  const m = r.machine;
  let machine = '';
  if (m) {
    machine = `Machine: ${m.cpu}, ${m.cores} cores, GOMAXPROCS ${m.gomaxprocs}, ${m.go}, ${m.os}${m.kernel ? ` ${m.kernel}` : ''}`;
    if (m.otherLoadCores !== null && m.otherLoadCores !== undefined) machine += `; other processes used ${num2.format(m.otherLoadCores)} cores during the windows`;
  }
  return { head: ['', ...ts.map(sideName)], rows, caption, machine, shared: r.sharedProcess };
}

export function isBenchResult(x: unknown): x is BenchResult {
  const t = (x as BenchResult | null)?.transports;
  return Array.isArray(t) && t.length > 0 && t.every((o) => o && typeof o === 'object' && typeof o.transport === 'string');
}

/** Turns a bench result, whatever its exact shape, into a header row and body rows. */
export function resultTable(result: unknown): { head: string[]; rows: string[][]; caption?: string } | null {
  if (isBenchResult(result)) {
    // The same table as plain strings: each median, without its range.
    const t = benchTable(result);
    return { head: t.head, rows: t.rows.map((r) => [r.label, ...r.cells.map((c) => c.value)]), caption: t.caption };
  }
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
