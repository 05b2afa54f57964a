// The bench result table, read from a progress event's result whatever its
// exact shape (compare/ owns it), so the table never silently drops a figure.

import { fmtInt } from '../format';

/** Turns a bench result, whatever its exact shape, into a header row and body rows. */
export function resultTable(result: unknown): { head: string[]; rows: string[][] } | null {
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
