// The wire contract (docs/API.md, market/event.go) as TypeScript: the only
// place the payloads' field names are written down. Everything else reads
// these types.

/** GET /api/symbols: one listed instrument. */
export interface SymbolInfo {
  symbol: string;
  name: string;
  sector: string;
  beta: number;
  /** Share of the index (cap weight); all weights sum to 1. */
  weight: number;
}

/** The data of a `quote` event: a symbol traded. */
export interface Quote {
  symbol: string;
  price: number;
  bid: number;
  ask: number;
  open: number;
  high: number;
  low: number;
  prevClose: number;
  change: number;
  changePct: number;
  /** Size of this trade. */
  size: number;
  /** The day's cumulative volume. */
  volume: number;
  /** Engine clock, Unix milliseconds with a microsecond fraction. */
  ts: number;
}

/** The data of a `score` event: -100 (strong sell) … 100 (strong buy). */
export interface Score {
  symbol: string;
  score: number;
  momentum: number;
  rsi: number;
  volatility: number;
  volumeSurge: number;
  ts: number;
}

/** One sector inside a Market event. */
export interface Sector {
  sector: string;
  weight: number;
  changePct: number;
  advancers: number;
  decliners: number;
}

/** The data of a `market` event: the whole market's summary. */
export interface Market {
  index: number;
  change: number;
  changePct: number;
  advancers: number;
  decliners: number;
  unchanged: number;
  halted: number;
  session: 'open' | 'closed' | string;
  sectors?: Sector[];
  ts: number;
}

/**
 * The data of a `status` event: a symbol halts or resumes (symbol set), the
 * session opens or closes, or the market source ended (`ended`: the server
 * serves its last state).
 */
export interface Status {
  symbol?: string;
  state: 'halted' | 'trading' | 'open' | 'closed' | 'ended' | string;
  reason: string;
  ts: number;
}

/** The data of a `snapshot` event. */
export interface Snapshot {
  quotes: Quote[];
  scores: Score[];
  market: Market;
  /** The latest status per halted/resumed symbol; may be absent or empty. */
  statuses?: Status[];
  /** The newest market-wide status (session open/closed, feed ended), if any. */
  session?: Status | null;
}

/** One bar of GET /api/history. */
export interface HistoryBar {
  /** Start, Unix ms. */
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  /** Shares traded in the bar. */
  v: number;
}

/** GET /api/history: a symbol's bars, oldest first; id is the newest event folded in. */
export interface History {
  symbol: string;
  interval: string;
  id: number;
  bars: HistoryBar[];
}

/** The intervals GET /api/history keeps, with their length in seconds. */
export const HISTORY_INTERVALS = [
  { name: '1s', s: 1 },
  { name: '5s', s: 5 },
  { name: '15s', s: 15 },
  { name: '1m', s: 60 },
  { name: '5m', s: 300 },
] as const;

/** The most bars one history request may ask for. */
export const HISTORY_MAX = 5000;

/** One trade of GET /api/trades. */
export interface Trade {
  /** The quote's ts, Unix ms. */
  t: number;
  p: number;
  /** Shares. */
  s: number;
}

/** GET /api/trades: a symbol's last trades, oldest first; id is the newest event folded in. */
export interface Trades {
  symbol: string;
  id: number;
  trades: Trade[];
}

/** GET /api/trades?symbols=A,B: many symbols' last trades (in the order of /api/symbols), with one id. */
export interface TradesBatch {
  id: number;
  symbols: { symbol: string; trades: Trade[] }[];
}

/** The most trades one trades request may ask for (each symbol keeps this many). */
export const TRADES_MAX = 200;

/** The data of a `reset` event; a snapshot follows at once. */
export interface Reset {
  reason: string;
}

/** One event as the dashboard handles it, whichever transport brought it. */
export type StreamEvent =
  | { name: 'snapshot'; id: number | null; data: Snapshot }
  | { name: 'quote'; id: number | null; data: Quote }
  | { name: 'score'; id: number | null; data: Score }
  | { name: 'market'; id: number | null; data: Market }
  | { name: 'status'; id: number | null; data: Status }
  | { name: 'reset'; id: null; data: Reset };

export type EventName = StreamEvent['name'];

/** Every event name the stream may carry, snapshot and reset included. */
export const EVENT_NAMES: readonly EventName[] = ['snapshot', 'quote', 'score', 'market', 'status', 'reset'];

/** The events a subscriber can choose with ?events= (snapshot and reset always come). */
export const MARKET_EVENTS = ['quote', 'score', 'market', 'status'] as const;

/** A WebSocket message from GET /ws: the id is a decimal string, absent on reset. */
export interface WsEnvelope {
  event: string;
  id?: string;
  data: unknown;
}

/** Query parameter names of /events and /ws. */
export const QUERY = {
  symbols: 'symbols',
  events: 'events',
  throttle: 'throttle',
  lastEventId: 'lastEventId',
} as const;

/** Endpoints the dashboard uses. */
export const ENDPOINTS = {
  events: '/events',
  ws: '/ws',
  symbols: '/api/symbols',
  snapshot: '/api/snapshot',
  history: (symbol: string, interval: string, limit: number) =>
    `/api/history?symbol=${encodeURIComponent(symbol)}&interval=${encodeURIComponent(interval)}&limit=${limit}`,
  trades: (symbol: string, limit: number) => `/api/trades?symbol=${encodeURIComponent(symbol)}&limit=${limit}`,
  tradesOf: (symbols: readonly string[], limit: number) => `/api/trades?symbols=${symbols.map(encodeURIComponent).join(',')}&limit=${limit}`,
  metrics: '/metrics',
  bench: '/api/bench',
  jobEvents: (job: string) => `/api/jobs/${encodeURIComponent(job)}/events`,
} as const;

/** Parses an event id: a decimal integer below 2^53, or null when absent or malformed. */
export function parseId(raw: string | undefined | null): number | null {
  if (raw == null || raw === '' || !/^[0-9]{1,16}$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/** Builds a StreamEvent from a name, a raw id and already-parsed data; null for names we do not know. */
export function makeEvent(name: string, id: number | null, data: unknown): StreamEvent | null {
  if (!(EVENT_NAMES as readonly string[]).includes(name) || data === null || typeof data !== 'object') return null;
  if (name === 'reset') return { name, id: null, data: data as Reset };
  return { name, id, data } as StreamEvent;
}

/** Parses one WebSocket text message into a StreamEvent (null if it is not one). */
export function parseWsMessage(text: string): StreamEvent | null {
  let env: WsEnvelope;
  try {
    env = JSON.parse(text) as WsEnvelope;
  } catch {
    return null;
  }
  if (!env || typeof env.event !== 'string') return null;
  return makeEvent(env.event, parseId(env.id), env.data);
}

/** The engine timestamp of an event (ms), or undefined for snapshot and reset. */
export function eventTs(ev: StreamEvent): number | undefined {
  switch (ev.name) {
    case 'quote':
    case 'score':
    case 'market':
    case 'status':
      return typeof ev.data.ts === 'number' ? ev.data.ts : undefined;
    default:
      return undefined;
  }
}

/** The symbol an event is about, if any. */
export function eventSymbol(ev: StreamEvent): string | undefined {
  switch (ev.name) {
    case 'quote':
    case 'score':
    case 'status':
      return ev.data.symbol || undefined;
    default:
      return undefined;
  }
}

/** POST /api/bench body. */
export interface BenchRequest {
  clients: number;
  /** A Go duration string, e.g. "10s": each run's measured window. */
  duration: string;
  rate: number;
  /** Runs per transport, taken in turns (SSE WS SSE WS …). */
  runs?: number;
  transports: ('sse' | 'ws')[];
}

/** POST /api/bench 202 answer. */
export interface BenchAccepted {
  job: string | number;
}

/** The data of a `progress` event on /api/jobs/ID/events (bench.Progress plus the job's fields). */
export interface Progress {
  job: string | number;
  status: 'in_progress' | 'done' | 'failed' | string;
  completion: number;
  transport?: string;
  /** The side's name: "SSE", "WebSocket". */
  label?: string;
  /** This run, 1 … runs. */
  run?: number;
  runs?: number;
  /** "starting", "connecting", "warming up", "running", "measuring memory" or "done". */
  phase?: string;
  clients?: number;
  eventsPerSec?: number;
  elapsedSeconds?: number;
  /** On the last event: a BenchResult. */
  result?: unknown;
  error?: string;
}

/** A figure over the runs: lowest, highest, and each run's value. */
export interface Range {
  min: number;
  max: number;
  runs: number[];
}

/** One side's figures in a bench result (bench.TransportResult): each the median of the runs; null when not measured. */
export interface TransportResult {
  transport: string;
  label?: string;
  url?: string;
  protocol?: string;
  clientsHeld: number;
  connections?: number;
  marketEventsPerSec: number | null;
  eventsPerSec: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyP999Ms: number | null;
  latencyMaxMs: number | null;
  bytesPerEvent: number;
  /** Seconds per million deliveries: µs per delivery. */
  serverCpuSecondsPerMillionEvents: number | null;
  clientCpuSecondsPerMillionEvents?: number;
  serverCpuAtRestPercent?: number | null;
  eventsPerWrite?: number | null;
  serverMemoryPerClientBytes: number | null;
  serverRssPerClientBytes: number | null;
  gaps: number;
  duplicates: number;
  resets: number;
  errors: number;
  firstError?: string;
  sources?: { cpu: string; rss: string; heap: string };
  /** Per figure (its JSON name): the runs' range and values. */
  spread?: Record<string, Range>;
  /** [ms, fraction of events at or below] pairs, over every run's window. */
  latencyCdf?: [number, number][];
}

/** Where the bench ran, and how busy the machine was with other work. */
export interface Machine {
  cpu: string;
  cores: number;
  gomaxprocs: number;
  go: string;
  os: string;
  arch: string;
  kernel?: string;
  memoryBytes?: number;
  /** Cores' worth of CPU other processes used during the windows. */
  otherLoadCores: number | null;
  otherLoadSpread?: Range;
}

/** One figure compared with the first side's (bench.Verdict). */
export interface Verdict {
  figure: string;
  label: string;
  side: string;
  against: string;
  withinNoise: boolean;
  diffPercent: number | null;
  text: string;
}

/** What a figure is and how it is measured (bench.FigureInfo). */
export interface FigureInfo {
  key: string;
  label: string;
  unit: string;
  how: string;
}

/** A bench run's outcome (bench.Result), the result of the last progress event. */
export interface BenchResult {
  date: string;
  target: string;
  sharedProcess: boolean;
  scenario?: string;
  clients: number;
  runs?: number;
  durationSeconds: number;
  rate: number;
  symbols: string;
  machine?: Machine;
  transports: TransportResult[];
  verdicts?: Verdict[];
  figures?: FigureInfo[];
  notes?: string[];
}

export type BenchKind = 'int' | 'num' | 'rate' | 'ms' | 'B' | 'us' | 'pct' | 'bytes' | 'text';

/** The rows of the bench table, in order: field, label, unit kind, how it is measured (when the result does not say). */
export const BENCH_ROWS: readonly [keyof TransportResult, string, BenchKind, string][] = [
  ['clientsHeld', 'Clients held', 'int', 'Clients connected and unbroken at the end of the window (the fewest of the runs).'],
  ['connections', 'TCP connections', 'int', 'Connections the clients held: one per stream over HTTP/1.1 and WebSocket.'],
  ['marketEventsPerSec', 'Market events/s', 'rate', 'Events the server published per second in the window.'],
  ['eventsPerSec', 'Events delivered/s', 'rate', 'Events all clients read per second in the window.'],
  ['latencyP50Ms', 'Latency p50', 'ms', "Time of reading minus the event's ts, over every event read in the window."],
  ['latencyP99Ms', 'Latency p99', 'ms', "Time of reading minus the event's ts, over every event read in the window."],
  ['latencyP999Ms', 'Latency p99.9', 'ms', "Time of reading minus the event's ts, over every event read in the window."],
  ['latencyMaxMs', 'Latency max', 'ms', "Time of reading minus the event's ts, over every event read in the window."],
  ['bytesPerEvent', 'Bytes per event', 'B', 'Bytes read from the sockets in the window ÷ events read.'],
  ['serverCpuSecondsPerMillionEvents', 'Server CPU per delivery', 'us', "The server's CPU time in the window ÷ events delivered."],
  ['clientCpuSecondsPerMillionEvents', 'Client CPU per delivery', 'us', "The bench's own CPU time ÷ events delivered; 0 in a shared process."],
  ['serverCpuAtRestPercent', 'Server CPU at rest', 'pct', "The server's CPU with no client connected."],
  ['eventsPerWrite', 'Events per write', 'num', 'Events per write to one client: how far wake-ups batch.'],
  ['serverMemoryPerClientBytes', 'Server heap per client', 'bytes', "The server's live heap with the clients minus without them, after forced GCs, ÷ clients."],
  ['serverRssPerClientBytes', 'Server RSS per client', 'bytes', "Growth of the server's resident memory ÷ clients."],
  ['gaps', 'Gaps', 'int', 'Ids missing between two consecutive events, over all runs.'],
  ['duplicates', 'Duplicates', 'int', 'Events whose id was not above the last one, over all runs.'],
  ['resets', 'Resets', 'int', 'Reset events (a client the server lapped), over all runs.'],
  ['errors', 'Errors', 'int', 'Clients that failed to connect or were cut, over all runs.'],
  ['firstError', 'First error', 'text', 'The first client error of the runs.'],
];

/** A JSON error body (4xx/5xx). */
export interface ApiError {
  error: string;
}
