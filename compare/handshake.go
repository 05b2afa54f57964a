package compare

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"tickertape/feed"
)

// checkHandshake checks a WebSocket opening handshake (RFC 6455, 4.2.1)
// as coder/websocket's Accept would, but first, so that a bad one gets
// docs/API.md's JSON error body: Accept answers in plain text. It sets the
// headers the answer needs, and returns nil for a handshake Accept takes.
func checkHandshake(w http.ResponseWriter, r *http.Request) *feed.RequestError {
	if !r.ProtoAtLeast(1, 1) || !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		return &feed.RequestError{Status: http.StatusUpgradeRequired,
			Message: "this endpoint speaks WebSocket; connect with a WebSocket client (or use GET /events for Server-Sent Events)"}
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return &feed.RequestError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Sec-WebSocket-Version %s is not supported; this server speaks version 13 (RFC 6455)", shown(v))}
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	switch {
	case len(keys) == 0:
		return &feed.RequestError{Status: http.StatusBadRequest, Message: "Sec-WebSocket-Key is missing; a WebSocket handshake needs one"}
	case len(keys) > 1:
		return &feed.RequestError{Status: http.StatusBadRequest, Message: fmt.Sprintf("Sec-WebSocket-Key given %d times; give it once", len(keys))}
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return &feed.RequestError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Sec-WebSocket-Key %s is not 16 bytes in base64", shown(keys[0]))}
	}
	return nil
}

// shown quotes a client's header value for an error message, cut short.
func shown(v string) string {
	if len(v) > 64 {
		return strconv.Quote(v[:64]) + "…"
	}
	return strconv.Quote(v)
}
