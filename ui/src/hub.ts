// The hub: one server stream shared by every tab of the browser. It runs in
// a SharedWorker (worker.ts), or inside the page where SharedWorker is
// missing. It opens the stream for the first tab and closes it after the
// last; asks for a throttled stream while every tab is hidden and returns to
// full rate with a fresh snapshot when one is visible again; and keeps a
// mirror of the market so that a tab that joins late starts from a snapshot
// at once, without a second server stream.

import { StreamClient, type ConnStats, type StreamEnv, type Transport } from './stream';
import type { Market, Quote, Score, Status, StreamEvent } from './types';

/** The Web Lock a tab holds while it lives; the worker waits on it to learn of the tab's end. */
export function lockName(tab: string): string {
  return `tickertape-tab-${tab}`;
}

/** Messages from a tab to the hub. */
export type TabToHub =
  | { t: 'hello'; tab: string; visible: boolean; transport?: Transport }
  | { t: 'visible'; visible: boolean }
  | { t: 'transport'; transport: Transport }
  | { t: 'bye' };

/** Messages from the hub to a tab. */
export type HubToTab =
  | { t: 'events'; evs: StreamEvent[] }
  | { t: 'stats'; stats: ConnStats; tabs: number; shared: boolean };

/** Where the hub sends a tab's messages (a MessagePort, or a callback in the page). */
export interface HubPort {
  post(msg: HubToTab): void;
}

export interface HubOptions {
  /** The conflation interval asked for while every tab is hidden. */
  hiddenThrottle: string;
  /** Events are posted to tabs in batches at most this often (ms). */
  batchMs: number;
  /** Connection stats are posted this often (ms). */
  statsMs: number;
  /** Whether this hub serves several tabs (a SharedWorker). */
  shared: boolean;
}

const DEFAULTS: HubOptions = { hiddenThrottle: '250ms', batchMs: 8, statsMs: 500, shared: true };

interface Tab {
  port: HubPort;
  visible: boolean;
}

export class Hub {
  private readonly tabs = new Map<string, Tab>();
  private client: StreamClient | null = null;
  private transport: Transport = 'sse';
  private readonly opts: HubOptions;

  // The mirror: the newest state, for tabs that join late.
  private quotes = new Map<string, Quote>();
  private scores = new Map<string, Score>();
  private statuses = new Map<string, Status>();
  private market: Market | null = null;
  private session: Status | null = null;
  private mirrorId: number | null = null;
  private haveSnapshot = false;

  private batch: StreamEvent[] = [];
  private batchTimer: unknown = null;
  private statsSoon = false;
  private statsTimer: unknown = null;

  constructor(
    private readonly base: string,
    private readonly env: StreamEnv,
    opts: Partial<HubOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** The open server stream, if any (for tests and the panel). */
  get stream(): StreamClient | null {
    return this.client;
  }

  get tabCount(): number {
    return this.tabs.size;
  }

  /** Handles one message from the tab `id`, whose replies go to port. */
  receive(id: string, port: HubPort, msg: TabToHub): void {
    switch (msg.t) {
      case 'hello':
        this.attach(id, port, msg.visible, msg.transport);
        break;
      case 'visible': {
        const tab = this.tabs.get(id);
        if (!tab || tab.visible === msg.visible) return;
        const wasHidden = this.allHidden();
        tab.visible = msg.visible;
        this.visibilityChanged(wasHidden);
        break;
      }
      case 'transport':
        if (msg.transport !== this.transport) {
          this.transport = msg.transport;
          // Resume on the other transport from the last id: no snapshot, no gap.
          this.client?.reconfigure({ transport: msg.transport }, { fresh: false });
          this.postStats();
        }
        break;
      case 'bye':
        this.detach(id);
        break;
    }
  }

  /** Forgets a tab (it said bye, or its lock was released because it died). */
  detach(id: string): void {
    if (!this.tabs.has(id)) return;
    const wasHidden = this.allHidden();
    this.tabs.delete(id);
    if (this.tabs.size === 0) {
      this.close();
      return;
    }
    this.visibilityChanged(wasHidden);
  }

  private attach(id: string, port: HubPort, visible: boolean, transport?: Transport): void {
    const wasHidden = this.allHidden();
    this.flush(); // what the others are owed predates the newcomer's snapshot
    this.tabs.set(id, { port, visible });
    if (!this.client) {
      if (transport) this.transport = transport;
      this.open();
      return;
    }
    if (this.haveSnapshot) port.post({ t: 'events', evs: [this.mirrorSnapshot()] });
    this.visibilityChanged(wasHidden);
    port.post(this.statsMessage());
  }

  private allHidden(): boolean {
    if (this.tabs.size === 0) return false;
    for (const t of this.tabs.values()) if (t.visible) return false;
    return true;
  }

  private visibilityChanged(wasHidden: boolean): void {
    const hidden = this.allHidden();
    if (!this.client || hidden === wasHidden) return;
    if (hidden) {
      // Nobody watches: a conflated stream, resumed from where we are.
      this.client.reconfigure({ throttle: this.opts.hiddenThrottle }, { fresh: false });
    } else {
      // Somebody looks again: full rate, starting over from a fresh snapshot.
      this.client.reconfigure({ throttle: undefined }, { fresh: true });
    }
  }

  private open(): void {
    const c = new StreamClient(
      { base: this.base, transport: this.transport, throttle: this.allHidden() ? this.opts.hiddenThrottle : undefined },
      this.env,
    );
    c.onEvent = (ev) => this.onEvent(ev);
    c.onState = () => this.postStats();
    this.client = c;
    c.start();
    this.statsTimer = this.env.setTimeout(() => this.tickStats(), this.opts.statsMs);
  }

  private close(): void {
    this.client?.stop();
    this.client = null;
    if (this.batchTimer !== null) this.env.clearTimeout(this.batchTimer);
    if (this.statsTimer !== null) this.env.clearTimeout(this.statsTimer);
    this.batchTimer = this.statsTimer = null;
    this.batch = [];
    this.clearMirror();
  }

  private tickStats(): void {
    this.statsTimer = null;
    if (!this.client) return;
    this.postStats();
    this.statsTimer = this.env.setTimeout(() => this.tickStats(), this.opts.statsMs);
  }

  private statsMessage(): HubToTab {
    return { t: 'stats', stats: this.client!.stats(), tabs: this.tabs.size, shared: this.opts.shared };
  }

  private postStats(): void {
    if (!this.client) return;
    const m = this.statsMessage();
    for (const t of this.tabs.values()) t.port.post(m);
  }

  private onEvent(ev: StreamEvent): void {
    this.mirror(ev);
    this.batch.push(ev);
    // After a snapshot the panel need not wait for the next tick to show the new stream.
    if (ev.name === 'snapshot') this.statsSoon = true;
    if (this.batchTimer === null) {
      this.batchTimer = this.env.setTimeout(() => {
        this.flush();
        if (this.statsSoon) {
          this.statsSoon = false;
          this.postStats();
        }
      }, this.opts.batchMs);
    }
  }

  private flush(): void {
    if (this.batchTimer !== null) this.env.clearTimeout(this.batchTimer);
    this.batchTimer = null;
    if (this.batch.length === 0) return;
    const m: HubToTab = { t: 'events', evs: this.batch };
    this.batch = [];
    for (const t of this.tabs.values()) t.port.post(m);
  }

  private clearMirror(): void {
    this.quotes = new Map();
    this.scores = new Map();
    this.statuses = new Map();
    this.market = null;
    this.session = null;
    this.mirrorId = null;
    this.haveSnapshot = false;
  }

  private mirror(ev: StreamEvent): void {
    if (ev.id !== null) this.mirrorId = ev.id;
    switch (ev.name) {
      case 'reset':
        this.clearMirror();
        break;
      case 'snapshot':
        this.clearMirror();
        this.mirrorId = ev.id;
        for (const q of ev.data.quotes ?? []) this.quotes.set(q.symbol, q);
        for (const s of ev.data.scores ?? []) this.scores.set(s.symbol, s);
        for (const s of ev.data.statuses ?? []) if (s.symbol) this.statuses.set(s.symbol, s);
        this.market = ev.data.market ?? null;
        this.session = ev.data.session ?? null;
        this.haveSnapshot = true;
        break;
      case 'quote':
        this.quotes.set(ev.data.symbol, ev.data);
        break;
      case 'score':
        this.scores.set(ev.data.symbol, ev.data);
        break;
      case 'market':
        this.market = ev.data;
        break;
      case 'status':
        if (ev.data.symbol) this.statuses.set(ev.data.symbol, ev.data);
        else this.session = ev.data;
        break;
    }
  }

  private mirrorSnapshot(): StreamEvent {
    return {
      name: 'snapshot',
      id: this.mirrorId,
      data: {
        quotes: [...this.quotes.values()],
        scores: [...this.scores.values()],
        market: this.market!,
        statuses: [...this.statuses.values()],
        session: this.session,
      },
    };
  }
}
