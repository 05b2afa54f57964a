// An independent parser agrees with the server's own: the npm
// eventsource-parser reads a stream /events wrote for hostile payloads
// (feed/testdata/hostile.sse, recorded by the Go test TestRecordedStream,
// which checks it is still what the server writes) and must get, event by
// event, what feed.Reader got (feed/testdata/hostile.json).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createParser } from 'eventsource-parser';

interface Parsed {
  events: { id: string; name: string; data: string }[];
  comments: number;
  retry: number;
}

const testdata = new URL('../../../feed/testdata/', import.meta.url);
const wire = new Uint8Array(readFileSync(new URL('hostile.sse', testdata)));
const want: Parsed = JSON.parse(readFileSync(new URL('hostile.json', testdata), 'utf8'));

/** Parses the bytes, given in chunks, as EventSource would: UTF-8 decoded as a stream, the last event id carried from event to event. */
function parse(chunks: Iterable<Uint8Array>): Parsed {
  const got: Parsed = { events: [], comments: 0, retry: -1 };
  let lastId = '';
  const errors: string[] = [];
  const parser = createParser({
    onEvent(ev) {
      // The parser gives an event the id field of its own block; EventSource's
      // lastEventId keeps the one before when a block has none (a reset).
      if (ev.id !== undefined) lastId = ev.id;
      got.events.push({ id: lastId, name: ev.event ?? 'message', data: ev.data });
    },
    onComment() {
      got.comments++;
    },
    onRetry(ms) {
      got.retry = ms;
    },
    onError(err) {
      errors.push(String(err));
    },
  });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }));
  parser.feed(decoder.decode());
  expect(errors).toEqual([]);
  return got;
}

/** The bytes cut into pieces of 1 to 7 bytes in turn, so cuts fall inside every UTF-8 sequence, between CR and LF, and inside field names. */
function* pieces(b: Uint8Array): Generator<Uint8Array> {
  for (let i = 0, n = 1; i < b.length; i += n, n = (n % 7) + 1) yield b.subarray(i, i + n);
}

/** The same stream with every LF line end written as CRLF or CR: the event-stream format allows all three, and the events stay the same. */
function withLineEnds(b: Uint8Array, end: string): Uint8Array {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(b);
  expect(text.includes('\r')).toBe(false); // the server writes LF line ends only
  return new TextEncoder().encode(text.replaceAll('\n', end));
}

describe('eventsource-parser against feed.Reader', () => {
  it('reads the recorded stream as Reader did', () => {
    expect(want.events.length).toBeGreaterThan(10);
    expect(want.events.map((e) => e.name).slice(0, 2)).toEqual(['reset', 'snapshot']);
    const got = parse([wire]);
    expect(got.events.length).toBe(want.events.length);
    got.events.forEach((ev, i) => expect(ev, `event ${i} (${want.events[i].name} ${want.events[i].id})`).toEqual(want.events[i]));
    expect(got.comments).toBe(want.comments);
    expect(got.retry).toBe(want.retry);
  });

  it('reads it the same in pieces of 1 to 7 bytes', () => {
    expect(parse(pieces(wire))).toEqual(want);
  });

  it('reads it the same with CRLF or CR line ends, whole and in pieces', () => {
    for (const end of ['\r\n', '\r']) {
      const b = withLineEnds(wire, end);
      expect(parse([b])).toEqual(want);
      expect(parse(pieces(b))).toEqual(want);
    }
  });

  it('keeps what the payloads hold: U+2028, CR turned into line breaks, quotes, long lines', () => {
    const data = want.events.map((e) => e.data).join('\n');
    expect(data).toContain('\u2028');
    expect(data).toContain('\u2029');
    expect(data).toContain('\\"data: x\\"');
    expect(data).toContain('\u{1F4C8}');
    expect(Math.max(...want.events.map((e) => e.data.length))).toBeGreaterThan(64 << 10);
    for (const e of want.events) expect(e.data).not.toContain('\r');
  });
});
