import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Hub, type HubToTab, type TabToHub } from '../../src/hub';
import { Store } from '../../src/store';
import { FakeEventSource, fakeEnv, quote, snapshot } from './fakes';

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
afterEach(() => vi.useRealTimers());

/**
 * A tab on a real MessageChannel, as in the browser: the hub posts to port1,
 * the tab reads port2 (structured clone and all), and applies events to its
 * own Store.
 */
class Tab {
  readonly store = new Store(() => 0, () => 0);
  readonly msgs: HubToTab[] = [];
  private readonly ch = new MessageChannel();
  readonly port = { post: (m: HubToTab) => this.ch.port1.postMessage(m) };

  constructor(
    readonly hub: Hub,
    readonly id: string,
  ) {
    (this.ch.port2 as MessagePort).on('message', (m: HubToTab) => {
      this.msgs.push(m);
      if (m.t === 'events') this.store.applyAll(m.evs);
    });
  }

  send(m: TabToHub): void {
    this.hub.receive(this.id, this.port, m);
  }

  close(): void {
    this.ch.port1.close();
  }
}

/** Lets the MessageChannel deliver (it uses the real event loop). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

function setup() {
  const env = fakeEnv();
  const hub = new Hub('http://h', env, { batchMs: 8, statsMs: 500 });
  return { env, hub };
}

describe('shared stream (the hub)', () => {
  it('opens one server stream for the first tab, shares it with the next, and closes it after the last', async () => {
    const { hub } = setup();
    const a = new Tab(hub, 'a');
    const b = new Tab(hub, 'b');
    a.send({ t: 'hello', tab: 'a', visible: true });
    expect(FakeEventSource.all).toHaveLength(1);
    const es = FakeEventSource.last();
    expect(es.url).toBe('http://h/events');
    es.accept();
    es.emit('snapshot', snapshot([quote('A', 101), quote('B', 50)]), 10);
    es.emit('quote', quote('A', 102), 11);
    vi.advanceTimersByTime(10);
    b.send({ t: 'hello', tab: 'b', visible: true });
    es.emit('quote', quote('B', 51), 12);
    vi.advanceTimersByTime(10);
    await settle();

    expect(FakeEventSource.all).toHaveLength(1); // still one server stream
    for (const t of [a, b]) {
      expect(t.store.ready).toBe(true);
      expect(t.store.rows.get('A')!.quote!.price).toBe(102);
      expect(t.store.rows.get('B')!.quote!.price).toBe(51);
      expect(t.store.lastId).toBe(12);
    }
    // b joined late: its first message is the hub's snapshot of the market so far.
    const firstB = b.msgs.find((m) => m.t === 'events')!;
    expect(firstB.t === 'events' && firstB.evs[0].name).toBe('snapshot');
    expect(firstB.t === 'events' && firstB.evs[0].id).toBe(11);

    a.send({ t: 'bye' });
    expect(es.closed).toBe(false);
    hub.detach('b'); // b's lock was released: the tab is gone
    expect(es.closed).toBe(true);
    expect(hub.stream).toBeNull();
    a.close();
    b.close();
  });

  it('hands a late tab the session too: a feed that ended, a market that closed', async () => {
    const { hub } = setup();
    const a = new Tab(hub, 'a');
    const b = new Tab(hub, 'b');
    const c = new Tab(hub, 'c');
    a.send({ t: 'hello', tab: 'a', visible: true });
    const es = FakeEventSource.last();
    es.accept();
    es.emit('snapshot', { ...snapshot([quote('A', 100)]), session: { state: 'closed', reason: 'bell', ts: 1 } }, 1);
    vi.advanceTimersByTime(10);
    b.send({ t: 'hello', tab: 'b', visible: true });
    es.emit('status', { state: 'ended', reason: 'the file ran out', ts: 2 }, 2);
    vi.advanceTimersByTime(10);
    c.send({ t: 'hello', tab: 'c', visible: true });
    await settle();
    expect(b.store.session?.state).toBe('ended'); // from its snapshot (closed), then the event
    expect(c.store.session?.state).toBe('ended'); // from its snapshot alone
    const firstB = b.msgs.find((m) => m.t === 'events')!;
    expect(firstB.t === 'events' && firstB.evs[0].name === 'snapshot' && firstB.evs[0].data.session?.state).toBe('closed');
    for (const t of [a, b, c]) t.close();
  });

  it('batches events to tabs instead of posting each one', async () => {
    const { hub } = setup();
    const a = new Tab(hub, 'a');
    a.send({ t: 'hello', tab: 'a', visible: true });
    const es = FakeEventSource.last();
    es.accept();
    es.emit('snapshot', snapshot([quote('A', 100)]), 1);
    for (let i = 0; i < 50; i++) es.emit('quote', quote('A', 100 + i), 2 + i);
    vi.advanceTimersByTime(10);
    await settle();
    const batches = a.msgs.filter((m) => m.t === 'events');
    expect(batches).toHaveLength(1);
    expect(batches[0].t === 'events' && batches[0].evs).toHaveLength(51);
    a.close();
  });

  it('asks for a throttled stream while every tab is hidden, and a fresh full-rate snapshot when one is visible', async () => {
    const { hub } = setup();
    const a = new Tab(hub, 'a');
    const b = new Tab(hub, 'b');
    a.send({ t: 'hello', tab: 'a', visible: true });
    b.send({ t: 'hello', tab: 'b', visible: false });
    const es1 = FakeEventSource.last();
    es1.accept();
    es1.emit('snapshot', snapshot([quote('A', 100)]), 30);
    es1.emit('quote', quote('A', 101), 31);

    a.send({ t: 'visible', visible: false });
    expect(es1.closed).toBe(true);
    const es2 = FakeEventSource.last();
    expect(es2.url).toBe('http://h/events?throttle=250ms&lastEventId=31');
    es2.accept();
    es2.emit('quote', quote('A', 105), 40);

    b.send({ t: 'visible', visible: true });
    expect(es2.closed).toBe(true);
    const es3 = FakeEventSource.last();
    expect(es3.url).toBe('http://h/events'); // full rate, no resume: a fresh snapshot
    es3.accept();
    es3.emit('snapshot', snapshot([quote('A', 106)]), 44);
    es3.emit('quote', quote('A', 107), 45);
    vi.advanceTimersByTime(10);
    await settle();
    for (const t of [a, b]) {
      expect(t.store.rows.get('A')!.quote!.price).toBe(107);
      expect(t.store.snapshots).toBeGreaterThanOrEqual(2);
    }
    expect(FakeEventSource.open()).toHaveLength(1);
    a.close();
    b.close();
  });

  it('clears every tab on reset before the snapshot that follows', async () => {
    const { hub } = setup();
    const a = new Tab(hub, 'a');
    a.send({ t: 'hello', tab: 'a', visible: true });
    const es = FakeEventSource.last();
    es.accept();
    es.emit('snapshot', snapshot([quote('OLD', 100)]), 10);
    vi.advanceTimersByTime(10);
    await settle();
    expect(a.store.rows.has('OLD')).toBe(true);
    es.emit('reset', { reason: 'restart' });
    vi.advanceTimersByTime(10);
    await settle();
    expect(a.store.rows.size).toBe(0);
    expect(a.store.ready).toBe(false);
    // Until the snapshot, nothing else is applied.
    es.emit('quote', quote('NEW', 1), 20);
    es.emit('snapshot', snapshot([quote('NEW', 2)]), 20);
    vi.advanceTimersByTime(10);
    await settle();
    expect([...a.store.rows.keys()]).toEqual(['NEW']);
    expect(a.store.rows.get('NEW')!.quote!.price).toBe(2);
    a.close();
  });

  it('switches every tab to the other transport, resuming from the last id', () => {
    const { hub } = setup();
    const a = new Tab(hub, 'a');
    a.send({ t: 'hello', tab: 'a', visible: true });
    const es = FakeEventSource.last();
    es.accept();
    es.emit('snapshot', snapshot([quote('A', 100)]), 77);
    a.send({ t: 'transport', transport: 'ws' });
    expect(es.closed).toBe(true);
    expect(hub.stream!.config.transport).toBe('ws');
    expect(hub.stream!.lastEventId).toBe(77);
    a.close();
  });
});
