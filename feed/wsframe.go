package feed

import "encoding/binary"

// A server's WebSocket frames are not masked (RFC 6455, 5.1), so the frame
// of one event is the same bytes for every client: the log makes it once,
// as it makes the event-stream chunk, and the hub's writers send it as
// they send SSE.

// opText is the opcode of a text frame.
const opText = 0x1

// maxWSHeader is the longest header of an unmasked frame.
const maxWSHeader = 10

// appendWSHeader appends the header of a final, unmasked frame of n bytes.
func appendWSHeader(b []byte, opcode byte, n int) []byte {
	b = append(b, 0x80|opcode)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		return binary.BigEndian.AppendUint16(b, uint16(n))
	}
	b = append(b, 127)
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

// framedWS encodes one event as the twin's message inside one text frame,
// in a single allocation: wire is the frame, msg the message within it.
func framedWS(id uint64, name string, data []byte) (wire, msg []byte, err error) {
	b := make([]byte, maxWSHeader, maxWSHeader+len(data)+64)
	if b, err = appendWS(b, id, name, data); err != nil {
		return nil, nil, err
	}
	msg = b[maxWSHeader:]
	var h [maxWSHeader]byte
	hdr := appendWSHeader(h[:0], opText, len(msg))
	start := maxWSHeader - len(hdr)
	copy(b[start:], hdr)
	return b[start:], msg, nil
}
