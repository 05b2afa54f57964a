package feed

import "strconv"

// A stream the hub's writers own is an HTTP/1.1 response whose headers
// net/http wrote (Transfer-Encoding: chunked) before the connection was
// hijacked; its body is written here, by hand, one chunk per event, so that
// a batch of events is the plain concatenation of their frames as the log
// made them. The response ends with the last chunk, so that a client (and
// a proxy between) sees a finished response, not a cut one.

// maxChunkHeader is the longest chunk-size line: 16 hex digits and CRLF.
const maxChunkHeader = 18

var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n") // the end of a chunked body, with no trailers
)

// appendChunkHeader appends the size line of a chunk of n bytes. n must not
// be 0: a chunk of size 0 is the last chunk, the end of the body.
func appendChunkHeader(b []byte, n int) []byte {
	b = strconv.AppendUint(b, uint64(n), 16)
	return append(b, '\r', '\n')
}

// appendChunk appends p as one chunk. An empty p appends nothing, for the
// same reason.
func appendChunk(b, p []byte) []byte {
	if len(p) == 0 {
		return b
	}
	b = appendChunkHeader(b, len(p))
	b = append(b, p...)
	return append(b, crlf...)
}

// chunkedSSE encodes one event as an event-stream frame inside one chunk,
// in a single allocation: wire is the chunk, frame the event-stream frame
// within it.
func chunkedSSE(id uint64, name string, data []byte) (wire, frame []byte, err error) {
	b := make([]byte, maxChunkHeader, maxChunkHeader+len(data)+64)
	if b, err = AppendSSE(b, id, name, data); err != nil {
		return nil, nil, err
	}
	frame = b[maxChunkHeader:]
	var h [maxChunkHeader]byte
	hdr := appendChunkHeader(h[:0], len(frame))
	start := maxChunkHeader - len(hdr)
	copy(b[start:], hdr)
	b = append(b, crlf...)
	return b[start:], frame, nil
}
