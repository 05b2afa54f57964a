// The stream client: one connection to /events (EventSource) or /ws
// (WebSocket), its state, resume by id, and the meters the connection panel
// shows. It knows events, not the DOM: whoever owns it gets StreamEvents
// through onEvent and decides what to do with them.

import { LatencyMeter, RateMeter } from './meters';
import {
  ENDPOINTS,
  EVENT_NAMES,
  QUERY,
  eventTs,
  makeEvent,
  parseId,
  parseWsMessage,
  type StreamEvent,
} from './types';

export type Transport = 'sse' | 'ws';
export type ConnState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What to subscribe to, and how. */
export interface StreamConfig {
  /** Origin of the server, e.g. "http://127.0.0.1:8080". */
  base: string;
  transport: Transport;
  symbols?: string[];
  events?: string[];
  /** Conflation interval such as "250ms"; absent for the full-rate stream. */
  throttle?: string;
}

/** A snapshot of the connection's health, for the connection panel. */
export interface ConnStats {
  transport: Transport;
  state: ConnState;
  throttle: string | null;
  lastId: number | null;
  events: number;
  eventsPerSec: number;
  /** ms since the last event, null before the first. */
  lastEventAge: number | null;
  reconnects: number;
  resets: number;
  /** Ids skipped on a stream that should have none (unfiltered, unthrottled), outside resets. */
  gaps: number;
  /** Delivery latency (now - ts) percentiles in ms, NaN without samples. */
  p50: number;
  p99: number;
  p999: number;
  /** Why the stream looks buffered by a proxy, or null. */
  buffered: string | null;
  /** ms since the open stream dropped, while it is not open again; null while open or before it ever opened. */
  downFor: number | null;
}

/** The minimal EventSource the client needs (the browser's, or a fake in tests). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}

/** The minimal WebSocket the client needs. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  close(code?: number, reason?: string): void;
}

/** Everything the client takes from its surroundings, so tests can hand in fakes. */
export interface StreamEnv {
  EventSource: new (url: string) => EventSourceLike;
  WebSocket: new (url: string) => WebSocketLike;
  /** Wall clock in ms with a fraction (the same clock as the engine's ts on this machine). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

/** The browser's (or worker's) own globals. */
export function browserEnv(): StreamEnv {
  const g = globalThis as unknown as {
    EventSource: StreamEnv['EventSource'];
    WebSocket: StreamEnv['WebSocket'];
  };
  return {
    EventSource: g.EventSource,
    WebSocket: g.WebSocket,
    now: () => performance.timeOrigin + performance.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    random: Math.random,
  };
}

const ES_CLOSED = 2;

/** Builds the URL of a stream. resumeFrom adds ?lastEventId=. */
export function streamUrl(cfg: StreamConfig, resumeFrom: number | null): string {
  const path = cfg.transport === 'ws' ? ENDPOINTS.ws : ENDPOINTS.events;
  const u = new URL(path, cfg.base);
  if (cfg.transport === 'ws') u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (cfg.symbols && cfg.symbols.length) u.searchParams.set(QUERY.symbols, cfg.symbols.join(','));
  if (cfg.events && cfg.events.length) u.searchParams.set(QUERY.events, cfg.events.join(','));
  if (cfg.throttle) u.searchParams.set(QUERY.throttle, cfg.throttle);
  if (resumeFrom != null) u.searchParams.set(QUERY.lastEventId, String(resumeFrom));
  // URLSearchParams encodes ',' as %2C; the server decodes either, but the
  // plain form is what a person types and reads in the network panel.
  return u.toString().replace(/%2C/g, ',');
}

/**
 * StreamClient holds one connection and keeps it alive. Events reach onEvent
 * in id order without duplicates: an event whose id is not above the last one
 * seen is dropped, except a snapshot, which always replaces state. After a
 * drop it reconnects and resumes from the last id it saw (EventSource does it
 * natively with Last-Event-ID; otherwise ?lastEventId=), so a dropped
 * connection costs no event and no snapshot.
 */
export class StreamClient {
  onEvent: (ev: StreamEvent) => void = () => {};
  onState: (state: ConnState) => void = () => {};

  private cfg: StreamConfig;
  private readonly env: StreamEnv;
  private es: EventSourceLike | null = null;
  private ws: WebSocketLike | null = null;
  private timer: unknown = null;
  private attempt = 0;

  private st: ConnState = 'idle';
  private lastId: number | null = null;
  private wasOpen = false;
  private openedAt = 0;
  private droppedAt: number | null = null;
  private lastEventAt: number | null = null;
  private reconnects = 0;
  private resets = 0;
  private gaps = 0;
  private readonly rate = new RateMeter(2000);
  readonly latency = new LatencyMeter(4096);

  // Buffering detector: a run of arrivals close together whose engine
  // timestamps span much more time than the arrivals did.
  private runStart = 0;
  private runLast = 0;
  private runMinTs = 0;
  private runMaxTs = 0;
  private runCount = 0;
  private bufferedUntil = 0;
  private bufferedWhy: string | null = null;

  constructor(cfg: StreamConfig, env: StreamEnv = browserEnv()) {
    this.cfg = { ...cfg };
    this.env = env;
  }

  get config(): Readonly<StreamConfig> {
    return this.cfg;
  }

  get state(): ConnState {
    return this.st;
  }

  get lastEventId(): number | null {
    return this.lastId;
  }

  /** Opens the stream: fresh (a snapshot first) unless an id was seen before. */
  start(): void {
    this.connect(this.lastId);
  }

  /** Closes the stream for good (until start). */
  stop(): void {
    this.clearTimer();
    this.teardown();
    this.setState('closed');
  }

  /**
   * Reopens with a changed configuration. fresh: start over with a snapshot;
   * otherwise resume from the last id, so the view continues without a glitch.
   */
  reconfigure(patch: Partial<StreamConfig>, opts: { fresh: boolean }): void {
    this.cfg = { ...this.cfg, ...patch };
    for (const k of Object.keys(patch) as (keyof StreamConfig)[]) {
      if (patch[k] === undefined) delete this.cfg[k];
    }
    this.clearTimer();
    this.teardown();
    this.attempt = 0;
    this.connect(opts.fresh ? null : this.lastId);
  }

  stats(): ConnStats {
    const now = this.env.now();
    const [p50, p99, p999] = this.latency.percentiles(0.5, 0.99, 0.999);
    if (this.bufferedWhy && now > this.bufferedUntil) this.bufferedWhy = null;
    let buffered = this.bufferedWhy;
    if (!buffered && this.st === 'open' && this.lastEventAt === null && now - this.openedAt > 5000) {
      buffered = 'the stream is open but nothing arrived for 5 s: a proxy may be holding it back';
    }
    if (!buffered && p50 > 2000) {
      buffered = `events arrive ${(p50 / 1000).toFixed(1)} s after they were made: a proxy may be buffering (or the clocks differ)`;
    }
    return {
      transport: this.cfg.transport,
      state: this.st,
      throttle: this.cfg.throttle ?? null,
      lastId: this.lastId,
      events: this.rate.count,
      eventsPerSec: this.rate.rate(now),
      lastEventAge: this.lastEventAt === null ? null : Math.max(0, now - this.lastEventAt),
      reconnects: this.reconnects,
      resets: this.resets,
      gaps: this.gaps,
      p50,
      p99,
      p999,
      buffered,
      downFor: this.st !== 'open' && this.droppedAt !== null ? Math.max(0, now - this.droppedAt) : null,
    };
  }

  private setState(s: ConnState): void {
    if (s === this.st) return;
    this.st = s;
    this.onState(s);
  }

  private connect(resumeFrom: number | null): void {
    const url = streamUrl(this.cfg, resumeFrom);
    this.setState(this.wasOpen ? 'reconnecting' : 'connecting');
    if (this.cfg.transport === 'ws') this.openWs(url);
    else this.openSse(url);
  }

  private openSse(url: string): void {
    const es = new this.env.EventSource(url);
    this.es = es;
    for (const name of EVENT_NAMES) {
      es.addEventListener(name, (e: MessageEvent) => {
        if (this.es !== es) return;
        let data: unknown;
        try {
          data = JSON.parse(e.data as string);
        } catch {
          return;
        }
        const ev = makeEvent(name, name === 'reset' ? null : parseId(e.lastEventId), data);
        if (ev) this.handle(ev);
      });
    }
    es.onopen = () => {
      if (this.es === es) this.opened();
    };
    es.onerror = () => {
      if (this.es !== es) return;
      this.dropped();
      if (es.readyState === ES_CLOSED) {
        // The browser gave up (an HTTP error such as a 502 from a proxy):
        // reconnect ourselves from the newest id.
        es.close();
        this.es = null;
        this.schedule();
      }
      // Otherwise EventSource retries by itself and sends Last-Event-ID,
      // which the server prefers over a ?lastEventId= left in the URL.
    };
  }

  private openWs(url: string): void {
    const ws = new this.env.WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws === ws) this.opened();
    };
    ws.onmessage = (e: MessageEvent) => {
      if (this.ws !== ws || typeof e.data !== 'string') return;
      const ev = parseWsMessage(e.data);
      if (ev) this.handle(ev);
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.dropped();
      this.schedule();
    };
  }

  private opened(): void {
    this.openedAt = this.env.now();
    this.droppedAt = null;
    this.wasOpen = true;
    this.runCount = 0;
    this.setState('open');
  }

  private dropped(): void {
    if (this.st === 'open') {
      this.reconnects++;
      this.droppedAt = this.env.now();
    }
    this.setState('reconnecting');
  }

  private schedule(): void {
    this.clearTimer();
    const base = Math.min(5000, 250 * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 8);
    const delay = base * (0.5 + this.env.random() / 2);
    this.timer = this.env.setTimeout(() => {
      this.timer = null;
      this.connect(this.lastId);
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.env.clearTimeout(this.timer);
    this.timer = null;
  }

  private teardown(): void {
    if (this.es) this.es.close();
    if (this.ws) this.ws.close(1000, 'client closed');
    this.es = null;
    this.ws = null;
  }

  private handle(ev: StreamEvent): void {
    if (ev.name === 'reset') {
      this.resets++;
    } else if (ev.id !== null) {
      if (ev.name !== 'snapshot' && this.lastId !== null && ev.id <= this.lastId) return; // duplicate
      // An unfiltered, unthrottled stream's ids run without a gap (docs/API.md); only a reset may stand before a jump.
      const gapless = !this.cfg.symbols?.length && !this.cfg.events?.length && !this.cfg.throttle;
      if (gapless && ev.name !== 'snapshot' && this.lastId !== null && ev.id > this.lastId + 1) this.gaps += ev.id - this.lastId - 1;
      this.lastId = ev.id;
    }
    this.attempt = 0;
    const now = this.env.now();
    this.lastEventAt = now;
    this.rate.add(now);
    const ts = eventTs(ev);
    if (ts !== undefined) {
      this.latency.add(now - ts);
      this.watchBuffering(now, ts);
    }
    this.onEvent(ev);
  }

  private watchBuffering(now: number, ts: number): void {
    if (this.runCount === 0 || now - this.runLast > 50) {
      this.runStart = now;
      this.runMinTs = ts;
      this.runMaxTs = ts;
      this.runCount = 0;
    }
    this.runLast = now;
    this.runCount++;
    if (ts < this.runMinTs) this.runMinTs = ts;
    if (ts > this.runMaxTs) this.runMaxTs = ts;
    const made = this.runMaxTs - this.runMinTs;
    const arrived = now - this.runStart;
    // Skip the first seconds after (re)opening: a resume replays a backlog at once, by design.
    if (this.runCount >= 10 && made - arrived > 1000 && now - this.openedAt > 3000) {
      this.bufferedWhy = `${this.runCount} events made over ${(made / 1000).toFixed(1)} s arrived within ${Math.round(arrived)} ms: the stream looks buffered by a proxy`;
      this.bufferedUntil = now + 30000;
    }
  }
}
