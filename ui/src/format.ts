// Number and time formatting, with the Intl formatters made once and reused:
// a ticking cell is formatted thousands of times a second.

const price = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const signed = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });
const pct = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

const dash = '–';
const ok = (x: number | undefined | null): x is number => typeof x === 'number' && Number.isFinite(x);

/** 1234.5 → "1,234.50" */
export const fmtPrice = (x: number | undefined | null): string => (ok(x) ? price.format(x) : dash);
/** 1.5 → "+1.50", -1.5 → "−1.50" (a real minus sign) */
export const fmtChange = (x: number | undefined | null): string => (ok(x) ? signed.format(x).replace('-', '−') : dash);
/** 1.234 (already a percentage) → "+1.23%" */
export const fmtPct = (x: number | undefined | null): string => (ok(x) ? pct.format(x).replace('-', '−') + '%' : dash);
/** 1234567 → "1.2M" */
export const fmtVolume = (x: number | undefined | null): string => (ok(x) ? compact.format(x) : dash);
/** 1234.4 → "1,234" */
export const fmtInt = (x: number | undefined | null): string => (ok(x) ? int.format(x) : dash);
/** A score -100…100 → "+42" */
export const fmtScore = (x: number | undefined | null): string => (ok(x) ? (x > 0.5 ? '+' : x < -0.5 ? '−' : '') + int.format(Math.abs(x)) : dash);

/** A latency in ms: "0.42 ms", "12.3 ms", "1,250 ms". */
export function fmtMs(x: number | undefined | null): string {
  if (!ok(x)) return dash;
  if (Math.abs(x) < 1) return x.toFixed(2) + ' ms';
  if (Math.abs(x) < 100) return one.format(x) + ' ms';
  return int.format(x) + ' ms';
}

/** An age in ms: "0.3 s", "12 s", "3 min". */
export function fmtAge(x: number | undefined | null): string {
  if (!ok(x)) return dash;
  if (x < 10000) return one.format(x / 1000) + ' s';
  if (x < 120000) return int.format(x / 1000) + ' s';
  return int.format(x / 60000) + ' min';
}

/** A rate: "1,234/s" */
export const fmtRate = (x: number | undefined | null): string => (ok(x) ? int.format(x) + '/s' : dash);

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

/** Unix ms → local "HH:MM:SS" (hand-made: Intl.DateTimeFormat is slow for ticking cells). */
export function fmtTime(ms: number | undefined | null): string {
  if (!ok(ms)) return dash;
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Sign of a change as a direction: 1 up, -1 down, 0 flat. */
export const dir = (x: number | undefined | null): 1 | -1 | 0 => (!ok(x) || x === 0 ? 0 : x > 0 ? 1 : -1);
