package feed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"testing"
)

// FuzzChunkFraming proves that the chunks the writers make end a body
// exactly where it ends: whatever the bytes and however they are cut into
// chunks, an HTTP/1.1 reader gets the same bytes back, sees the end of the
// response, and reads the next response on the connection intact. An
// empty piece writes no chunk (a chunk of size 0 would end the body). A
// batch of such chunks cut anywhere by a partial write goes on intact.
func FuzzChunkFraming(f *testing.F) {
	f.Add([]byte("id: 1\nevent: quote\ndata: {}\n\n"), uint8(7), uint64(1), "quote")
	f.Add([]byte(""), uint8(0), uint64(0), "x")
	f.Add([]byte("0\r\n\r\n"), uint8(1), uint64(9), "reset")    // a body that looks like the last chunk
	f.Add([]byte("\r\n\r\n0\r\n"), uint8(2), uint64(10), "a\r") // line breaks, and a name the encoder refuses
	f.Add(bytes.Repeat([]byte("x"), 5000), uint8(255), uint64(1<<63), "snapshot")
	f.Fuzz(func(t *testing.T, body []byte, cut uint8, id uint64, name string) {
		var wire []byte
		for rest := body; len(rest) > 0; {
			n := min(len(rest), int(cut)+1)
			wire = appendChunk(wire, rest[:n])
			wire = appendChunk(wire, nil)
			rest = rest[n:]
		}
		if got := readChunked(t, append(wire, lastChunk...)); !bytes.Equal(got, body) {
			t.Fatalf("read back %q, want %q", got, body)
		}

		// An event as the log frames it: the frame, whole, in one chunk.
		chunk, frame, err := chunkedSSE(id, name, body)
		if err != nil {
			if validName(name) {
				t.Fatalf("refused a valid name %q: %v", name, err)
			}
			return
		}
		want, _ := AppendSSE(nil, id, name, body)
		if !bytes.Equal(frame, want) {
			t.Fatalf("frame %q, want %q", frame, want)
		}
		if got := readChunked(t, append(append(chunk, chunk...), lastChunk...)); !bytes.Equal(got, append(want, want...)) {
			t.Fatalf("two chunked frames read back as %q", got)
		}

		// A batch a socket takes only part of, anywhere (id picks where):
		// what the writers write next (after) continues it byte for byte,
		// so the client still reads whole chunks.
		batch := [][]byte{chunk, heartbeatChunk, chunk}
		whole := bytes.Join(batch, nil)
		n := int(id % uint64(len(whole)+1))
		rest := after(batch, n)
		if got := append(whole[:n:n], bytes.Join(rest, nil)...); !bytes.Equal(got, whole) {
			t.Fatalf("cut after %d of %d bytes, the batch goes on as %q", n, len(whole), got[n:])
		}
		if got := readChunked(t, append(bytes.Join(append([][]byte{whole[:n]}, rest...), nil), lastChunk...)); !bytes.Equal(got, append(append(want, heartbeat...), want...)) {
			t.Fatalf("a batch cut after %d bytes read back as %q", n, got)
		}
	})
}

// readChunked reads body as the chunked body of a response followed by
// another response, and returns the first body.
func readChunked(t *testing.T, body []byte) []byte {
	t.Helper()
	var conn bytes.Buffer
	conn.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
	conn.Write(body)
	conn.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
	br := bufio.NewReader(&conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the chunked body: %v", err)
	}
	next, err := http.ReadResponse(br, nil)
	if err != nil || next.StatusCode != 204 {
		t.Fatalf("the response after the body: %v %v", next, err)
	}
	return got
}

// FuzzWSFraming proves that an event's frame, as the log makes it, is one
// final unmasked text frame whose payload is the twin's message, with the
// length in its shortest form (RFC 6455, 5.2).
func FuzzWSFraming(f *testing.F) {
	f.Add(uint64(12), "quote", []byte(`{"a":1}`))
	f.Add(uint64(0), "snapshot", bytes.Repeat([]byte("1"), 125-len(`{"event":"snapshot","data":}`)))
	f.Add(uint64(1), "q", bytes.Repeat([]byte("2"), 70000))
	f.Fuzz(func(t *testing.T, id uint64, name string, data []byte) {
		frame, msg, err := framedWS(id, name, data)
		if err != nil {
			return
		}
		want, _ := appendWS(nil, id, name, data)
		if !bytes.Equal(msg, want) {
			t.Fatalf("message %q, want %q", msg, want)
		}
		if frame[0] != 0x80|opText || frame[1]&0x80 != 0 {
			t.Fatalf("header % x: want FIN, text, no mask", frame[:2])
		}
		n, hdr := uint64(frame[1]&0x7f), 2
		switch n {
		case 126:
			n, hdr = uint64(binary.BigEndian.Uint16(frame[2:])), 4
			if n < 126 {
				t.Fatalf("length %d in the 16-bit form", n)
			}
		case 127:
			n, hdr = binary.BigEndian.Uint64(frame[2:]), 10
			if n <= 0xffff {
				t.Fatalf("length %d in the 64-bit form", n)
			}
		}
		if n != uint64(len(msg)) || !bytes.Equal(frame[hdr:], msg) {
			t.Fatalf("frame says %d bytes, carries %d", n, len(frame)-hdr)
		}
	})
}

// FuzzEntryFrames proves that the ring's entries, whose two encodings
// share one buffer and are encoded in a scratch kept between events, hold
// the same frames as chunkedSSE and framedWS make, whatever came before.
func FuzzEntryFrames(f *testing.F) {
	f.Add(uint64(12), "quote", []byte(`{"a":1}`))
	f.Add(uint64(0), "market", []byte("1\r\n2\n3"))
	f.Add(uint64(1<<63), "q", bytes.Repeat([]byte("2"), 70000)) // past maxScratch
	f.Add(uint64(7), "a\n", []byte("{}"))                       // a name the encoder refuses
	var scratch []byte
	f.Fuzz(func(t *testing.T, id uint64, name string, data []byte) {
		e := entry{id: id}
		var err error
		scratch, err = frameEntry(&e, scratch, name, data)
		chunk, frame, err1 := chunkedSSE(id, name, data)
		wire, msg, err2 := framedWS(id, name, data)
		if (err != nil) != (err1 != nil || err2 != nil) {
			t.Fatalf("frameEntry: %v; chunkedSSE: %v; framedWS: %v", err, err1, err2)
		}
		if err != nil {
			return
		}
		for _, c := range []struct {
			what      string
			got, want []byte
		}{{"chunk", e.sseWire(), chunk}, {"frame", e.sse(), frame}, {"WebSocket frame", e.wsWire(), wire}, {"message", e.ws(), msg}} {
			if !bytes.Equal(c.got, c.want) {
				t.Fatalf("%s %q, want %q", c.what, c.got, c.want)
			}
		}
		if cap(e.sseWire()) != len(e.sseWire()) || cap(e.sse()) != len(e.sse()) {
			t.Fatal("an append to the event-stream frame would overwrite the WebSocket frame after it")
		}
		if len(e.frames) != cap(e.frames) {
			t.Fatalf("frames hold %d bytes in %d", len(e.frames), cap(e.frames))
		}
	})
}
