// Fakes of the browser's EventSource and WebSocket that behave as the
// standard says where the client depends on it (readyState, lastEventId
// carried over events without an id, native retry), driven by the test.

import type { EventSourceLike, StreamEnv, WebSocketLike } from '../../src/stream';

export class FakeEventSource implements EventSourceLike {
  static all: FakeEventSource[] = [];
  readyState = 0; // CONNECTING
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  private listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  private lastEventId = '';
  closed = false;

  constructor(readonly url: string) {
    FakeEventSource.all.push(this);
  }

  static last(): FakeEventSource {
    return FakeEventSource.all[FakeEventSource.all.length - 1];
  }

  static open(): FakeEventSource[] {
    return FakeEventSource.all.filter((e) => !e.closed);
  }

  addEventListener(type: string, l: (ev: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  /** The server answered 200 text/event-stream. */
  accept(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  /** One event on the wire: id (if any) sets the last event id, as the standard says. */
  emit(name: string, data: unknown, id?: number | string): void {
    if (this.closed) throw new Error('emit on a closed EventSource');
    if (id !== undefined) this.lastEventId = String(id);
    const ev = { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: this.lastEventId } as MessageEvent;
    for (const l of this.listeners.get(name) ?? []) l(ev);
  }

  /** The connection dropped; the browser will retry by itself (readyState CONNECTING). */
  drop(): void {
    this.readyState = 0;
    this.onerror?.(new Event('error'));
  }

  /** The browser gave up (an HTTP error): readyState CLOSED. */
  fail(): void {
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }
}

export class FakeWebSocket implements WebSocketLike {
  static all: FakeWebSocket[] = [];
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  closed = false;

  constructor(readonly url: string) {
    FakeWebSocket.all.push(this);
  }

  static last(): FakeWebSocket {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1];
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }

  accept(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  send(text: string): void {
    this.onmessage?.({ data: text } as MessageEvent);
  }

  /** The server went away (1001) or the network dropped. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

/** A StreamEnv on the fakes, with a clock the test moves. */
export function fakeEnv(): StreamEnv & { clock: { now: number } } {
  FakeEventSource.all = [];
  FakeWebSocket.all = [];
  const clock = { now: 1_800_000_000_000 };
  return {
    clock,
    EventSource: FakeEventSource,
    WebSocket: FakeWebSocket,
    now: () => clock.now,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    random: () => 0.5,
  };
}

let seq = 1000;
/** A plausible quote. */
export function quote(symbol: string, price: number, ts = 1_800_000_000_000) {
  return { symbol, price, bid: price - 0.01, ask: price + 0.01, open: 100, high: Math.max(100, price), low: Math.min(100, price), prevClose: 100, change: price - 100, changePct: price - 100, size: 10, volume: seq++, ts };
}
export function score(symbol: string, s: number, ts = 1_800_000_000_000) {
  return { symbol, score: s, momentum: 0.1, rsi: 55, volatility: 0.02, volumeSurge: 1, ts };
}
export function market(ts = 1_800_000_000_000) {
  return { index: 4000, change: 1, changePct: 0.025, advancers: 2, decliners: 1, unchanged: 0, halted: 0, session: 'open', sectors: [], ts };
}
export function snapshot(quotes: ReturnType<typeof quote>[]) {
  return { quotes, scores: quotes.map((q) => score(q.symbol, 10)), market: market(), statuses: [] };
}
