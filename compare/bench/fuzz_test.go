package bench

import (
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"
)

// FuzzParseEnvelope: the bench's envelope parser never panics, and gives
// back exactly what an envelope holds, whether it takes the fast path (the
// feed's layout) or encoding/json's.
func FuzzParseEnvelope(f *testing.F) {
	f.Add("quote", uint64(12), `{"ts":1.5}`, true)
	f.Add("reset", uint64(0), `{"reason":"lapped"}`, false)
	f.Add(`we"ird`, uint64(1), `"x"`, true)
	f.Add("q", uint64(7), `{"a":"}"}`, false)
	f.Fuzz(func(t *testing.T, name string, id uint64, data string, feedLayout bool) {
		parseEnvelope([]byte(data)) // anything at all: no panic
		// json.Marshal replaces invalid UTF-8, so such a name cannot
		// round-trip whatever the parser does.
		if !json.Valid([]byte(data)) || name == "" || !utf8.ValidString(name) {
			return
		}
		var compact []byte
		if feedLayout {
			// The feed's layout: event, id (when not 0), data, in that order.
			q, _ := json.Marshal(name)
			compact = append([]byte(`{"event":`), q...)
			if id != 0 {
				compact = append(compact, `,"id":"`+strconv.FormatUint(id, 10)+`"`...)
			}
			compact = append(append(append(compact, `,"data":`...), data...), '}')
		} else {
			env := map[string]any{"data": json.RawMessage(data), "event": name}
			if id != 0 {
				env["id"] = strconv.FormatUint(id, 10)
			}
			compact, _ = json.Marshal(env)
		}
		n, gotID, d, err := parseEnvelope(compact)
		if err != nil {
			t.Fatalf("%s: %v", compact, err)
		}
		wantID := ""
		if id != 0 {
			wantID = strconv.FormatUint(id, 10)
		}
		if n != name || gotID != wantID {
			t.Fatalf("%s: name %q id %q; want %q %q", compact, n, gotID, name, wantID)
		}
		if !json.Valid([]byte(d)) {
			t.Fatalf("%s: data %q is not the JSON value", compact, d)
		}
	})
}
