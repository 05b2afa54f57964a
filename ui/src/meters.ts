// Small, allocation-free meters for the connection panel and the compare
// view: an event rate over a sliding window, and delivery latencies kept in a
// ring for percentiles and histograms.

/** RateMeter counts events in 100 ms buckets and reports events/s over the last window. */
export class RateMeter {
  private readonly buckets: Float64Array;
  private readonly width = 100;
  private head = 0; // bucket index (time/width) of the newest bucket
  private total = 0;

  constructor(private readonly windowMs = 2000) {
    this.buckets = new Float64Array(Math.max(1, Math.round(windowMs / this.width)));
  }

  private advance(now: number): void {
    const b = Math.floor(now / this.width);
    if (this.head === 0) this.head = b;
    const n = this.buckets.length;
    if (b - this.head >= n) {
      this.buckets.fill(0);
    } else {
      for (let i = this.head + 1; i <= b; i++) this.buckets[i % n] = 0;
    }
    if (b > this.head) this.head = b;
  }

  add(now: number, count = 1): void {
    this.advance(now);
    this.buckets[this.head % this.buckets.length] += count;
    this.total += count;
  }

  /** Events per second over the window ending now. */
  rate(now: number): number {
    this.advance(now);
    let s = 0;
    for (let i = 0; i < this.buckets.length; i++) s += this.buckets[i];
    return (s * 1000) / this.windowMs;
  }

  get count(): number {
    return this.total;
  }
}

/** LatencyMeter keeps the newest samples (ms) in a ring. */
export class LatencyMeter {
  private readonly ring: Float64Array;
  private n = 0;
  private i = 0;

  constructor(size = 4096) {
    this.ring = new Float64Array(size);
  }

  add(ms: number): void {
    this.ring[this.i] = ms;
    this.i = (this.i + 1) % this.ring.length;
    if (this.n < this.ring.length) this.n++;
  }

  clear(): void {
    this.n = 0;
    this.i = 0;
  }

  get size(): number {
    return this.n;
  }

  /** The samples, sorted ascending (a copy). */
  sorted(): Float64Array {
    const a = this.ring.slice(0, this.n);
    a.sort();
    return a;
  }

  /** Percentiles (0…1) of the samples, NaN when empty. */
  percentiles(...ps: number[]): number[] {
    const a = this.sorted();
    return ps.map((p) => quantile(a, p));
  }
}

/** quantile of an ascending array by the nearest-rank method; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const k = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
  return sorted[k];
}

/** Log-spaced histogram edges in ms: 0.1 ms … 10 s, 5 buckets per decade. */
export const HIST_EDGES: number[] = (() => {
  const e: number[] = [];
  for (let x = -1; x <= 4 + 1e-9; x += 0.2) e.push(Math.round(10 ** x * 1000) / 1000);
  return e;
})();

/** Counts sorted samples into HIST_EDGES buckets (the last bucket takes everything above). */
export function histogram(sorted: ArrayLike<number>, edges = HIST_EDGES): number[] {
  const counts = new Array<number>(edges.length).fill(0);
  let b = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    while (b < edges.length - 1 && v > edges[b]) b++;
    counts[b]++;
  }
  return counts;
}
