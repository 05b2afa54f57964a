import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamClient, streamUrl } from '../../src/stream';
import { parseId, parseWsMessage, type StreamEvent } from '../../src/types';
import { FakeEventSource, FakeWebSocket, fakeEnv, quote, snapshot } from './fakes';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function collect(c: StreamClient): StreamEvent[] {
  const got: StreamEvent[] = [];
  c.onEvent = (e) => got.push(e);
  return got;
}

/** A started SSE client whose fake EventSource has opened. */
function openSSE() {
  const env = fakeEnv();
  const c = new StreamClient({ base: 'http://h', transport: 'sse' }, env);
  const got = collect(c);
  c.start();
  const es = FakeEventSource.last();
  es.accept();
  return { env, c, got, es };
}

describe('parsing', () => {
  it('reads ids as exact integers below 2^53 and refuses anything else', () => {
    expect(parseId('1795634362649237')).toBe(1795634362649237);
    expect(parseId('9007199254740991')).toBe(2 ** 53 - 1);
    expect(parseId('9007199254740993')).toBeNull();
    expect(parseId('12a')).toBeNull();
    expect(parseId('')).toBeNull();
    expect(parseId(undefined)).toBeNull();
    expect(parseId('-1')).toBeNull();
  });

  it('reads the WebSocket envelope, with the id a decimal string and none on reset', () => {
    expect(parseWsMessage('{"event":"quote","id":"42","data":{"symbol":"A","price":1,"ts":1}}')).toEqual({
      name: 'quote',
      id: 42,
      data: { symbol: 'A', price: 1, ts: 1 },
    });
    expect(parseWsMessage('{"event":"reset","data":{"reason":"lapped"}}')).toEqual({ name: 'reset', id: null, data: { reason: 'lapped' } });
    expect(parseWsMessage('{"event":"progress","id":"1","data":{}}')).toBeNull();
    expect(parseWsMessage('not json')).toBeNull();
    expect(parseWsMessage('{"event":"quote","id":"1","data":null}')).toBeNull();
  });

  it('builds stream URLs with the contract query names', () => {
    const base = { base: 'http://127.0.0.1:8080' };
    expect(streamUrl({ ...base, transport: 'sse' }, null)).toBe('http://127.0.0.1:8080/events');
    expect(streamUrl({ ...base, transport: 'sse', symbols: ['AAPL', 'MSFT'], throttle: '250ms' }, 7)).toBe(
      'http://127.0.0.1:8080/events?symbols=AAPL,MSFT&throttle=250ms&lastEventId=7',
    );
    expect(streamUrl({ base: 'https://x.example', transport: 'ws', events: ['quote'] }, null)).toBe('wss://x.example/ws?events=quote');
  });

  it('parses named SSE events and skips malformed data', () => {
    const { c, es, got } = openSSE();
    expect(c.state).toBe('open');
    es.emit('snapshot', snapshot([quote('A', 101)]), 10);
    es.emit('quote', '{"broken', 11);
    es.emit('quote', quote('A', 102), 12);
    es.emit('score', { symbol: 'A', score: 50, ts: 1 }, 13);
    expect(got.map((e) => [e.name, e.id])).toEqual([
      ['snapshot', 10],
      ['quote', 12],
      ['score', 13],
    ]);
    expect(c.lastEventId).toBe(13);
  });
});

describe('resume', () => {
  it('lets EventSource retry by itself (it sends Last-Event-ID) and counts the reconnect', () => {
    const { c, es, got } = openSSE();
    es.emit('snapshot', snapshot([quote('A', 101)]), 10);
    es.emit('quote', quote('A', 102), 11);
    es.drop();
    expect(c.state).toBe('reconnecting');
    vi.advanceTimersByTime(30000);
    expect(FakeEventSource.all).toHaveLength(1); // no second connection of ours
    es.accept();
    // The server replays from 11: a repeat of 11 is dropped, 12 comes through.
    es.emit('quote', quote('A', 102), 11);
    es.emit('quote', quote('A', 103), 12);
    expect(got.map((e) => e.id)).toEqual([10, 11, 12]);
    expect(c.stats().reconnects).toBe(1);
    expect(c.state).toBe('open');
  });

  it('reconnects itself from the last id when the browser gives up (readyState CLOSED)', () => {
    const { es } = openSSE();
    es.emit('snapshot', snapshot([quote('A', 101)]), 10);
    es.emit('quote', quote('A', 102), 25);
    es.fail();
    expect(es.closed).toBe(true);
    vi.advanceTimersByTime(200); // backoff: 250 ms × (0.5 + 0.5·random)
    expect(FakeEventSource.all).toHaveLength(2);
    expect(FakeEventSource.last().url).toBe('http://h/events?lastEventId=25');
    // Each failure doubles the wait, up to 5 s.
    FakeEventSource.last().fail();
    vi.advanceTimersByTime(300);
    expect(FakeEventSource.all).toHaveLength(2);
    vi.advanceTimersByTime(100);
    expect(FakeEventSource.all).toHaveLength(3);
  });

  it('resumes a WebSocket with ?lastEventId= after a close', () => {
    const env = fakeEnv();
    const c = new StreamClient({ base: 'http://h:1', transport: 'ws' }, env);
    const got = collect(c);
    c.start();
    const ws = FakeWebSocket.last();
    expect(ws.url).toBe('ws://h:1/ws');
    ws.accept();
    ws.send(JSON.stringify({ event: 'snapshot', id: '5', data: snapshot([quote('A', 101)]) }));
    ws.send(JSON.stringify({ event: 'quote', id: '6', data: quote('A', 102) }));
    ws.drop(1001);
    expect(c.state).toBe('reconnecting');
    vi.advanceTimersByTime(1000);
    const ws2 = FakeWebSocket.last();
    expect(ws2).not.toBe(ws);
    expect(ws2.url).toBe('ws://h:1/ws?lastEventId=6');
    ws2.accept();
    ws2.send(JSON.stringify({ event: 'quote', id: '7', data: quote('A', 103) }));
    expect(got.map((e) => e.id)).toEqual([5, 6, 7]);
    expect(c.stats().reconnects).toBe(1);
  });

  it('switches transport by resuming from the last id, without a snapshot', () => {
    const env = fakeEnv();
    const c = new StreamClient({ base: 'http://h', transport: 'sse' }, env);
    collect(c);
    c.start();
    FakeEventSource.last().accept();
    FakeEventSource.last().emit('snapshot', snapshot([quote('A', 101)]), 40);
    c.reconfigure({ transport: 'ws' }, { fresh: false });
    expect(FakeEventSource.last().closed).toBe(true);
    expect(FakeWebSocket.last().url).toBe('ws://h/ws?lastEventId=40');
  });
});

describe('gaps', () => {
  it('counts ids skipped on the full-rate stream, not on a throttled one, and not across a reset', () => {
    const env = fakeEnv();
    const c = new StreamClient({ base: 'http://h', transport: 'sse' }, env);
    collect(c);
    c.start();
    let es = FakeEventSource.last();
    es.accept();
    es.emit('snapshot', snapshot([quote('A', 100)]), 10);
    es.emit('quote', quote('A', 101), 11);
    es.emit('quote', quote('A', 102), 14);
    expect(c.stats().gaps).toBe(2);
    es.emit('reset', { reason: 'lapped' });
    es.emit('snapshot', snapshot([quote('A', 100)]), 500);
    expect(c.stats().gaps).toBe(2);
    c.reconfigure({ throttle: '250ms' }, { fresh: false });
    es = FakeEventSource.last();
    es.accept();
    es.emit('quote', quote('A', 103), 520);
    expect(c.stats().gaps).toBe(2);
  });
});

describe('reset', () => {
  it('passes reset on and takes the snapshot after it even when its id is lower', () => {
    const { c, es, got } = openSSE();
    es.emit('snapshot', snapshot([quote('A', 101)]), 500);
    es.emit('reset', { reason: 'future id' }); // no id: the EventSource still reports 500
    es.emit('snapshot', snapshot([quote('A', 90)]), 100);
    es.emit('quote', quote('A', 91), 101);
    expect(got.map((e) => [e.name, e.id])).toEqual([
      ['snapshot', 500],
      ['reset', null],
      ['snapshot', 100],
      ['quote', 101],
    ]);
    expect(c.stats().resets).toBe(1);
  });
});

describe('meters', () => {
  it('measures delivery latency from ts and the event rate', () => {
    const { env, c, es } = openSSE();
    es.emit('snapshot', snapshot([quote('A', 101)]), 1);
    for (let i = 0; i < 100; i++) {
      env.clock.now += 10;
      es.emit('quote', quote('A', 100 + i, env.clock.now - (i < 98 ? 2 : 50)), 2 + i);
    }
    const s = c.stats();
    expect(s.p50).toBe(2);
    expect(s.p99).toBe(50);
    expect(s.eventsPerSec).toBeGreaterThan(40);
    expect(s.eventsPerSec).toBeLessThanOrEqual(51);
    expect(s.buffered).toBeNull();
  });

  it('warns when events made over seconds arrive at once (a buffering proxy)', () => {
    const { env, c, es } = openSSE();
    es.emit('snapshot', snapshot([quote('A', 101)]), 1);
    env.clock.now += 5000;
    // 40 events made over the last 4 s, all delivered within 4 ms.
    for (let i = 0; i < 40; i++) {
      env.clock.now += 0.1;
      es.emit('quote', quote('A', 100, env.clock.now - 4000 + i * 100), 2 + i);
    }
    expect(c.stats().buffered).toMatch(/buffered/);
  });
});
