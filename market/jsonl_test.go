package market

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A recording's state and session words are the documented ones, or the
// file is refused at the line that has another, whatever it holds (a line
// break that framing would have made safe, but that no market says).
func TestJSONLStatesAndSessions(t *testing.T) {
	const picture = `{"event":"quote","symbol":"A","data":{"symbol":"A","price":1,"ts":1}}` + "\n" +
		`{"event":"score","symbol":"A","data":{"symbol":"A","score":0,"ts":1}}` + "\n"
	market := func(session string) string {
		return `{"event":"market","data":{"index":1,"session":"` + session + `","ts":2}}` + "\n"
	}
	status := func(symbol, state string) string {
		if symbol == "" {
			return `{"event":"status","data":{"state":"` + state + `","reason":"r","ts":3}}` + "\n"
		}
		return `{"event":"status","symbol":"` + symbol + `","data":{"symbol":"` + symbol + `","state":"` + state + `","reason":"r","ts":3}}` + "\n"
	}
	for _, c := range []struct{ name, body, want string }{
		{"a symbol's state", picture + market("open") + status("A", "open"), `line 4: status of A: state "open"`},
		{"a symbol's state, framed", picture + market("open") + status("A", `trading\r\nevent: x`), `line 4: status of A: state "trading\r\nevent: x"`},
		{"the session's state", picture + market("open") + status("", "halted"), `line 4: status of the session: state "halted"`},
		{"no state", picture + market("open") + status("", ""), `line 4: status of the session: state ""`},
		{"the market's session", picture + market("trading"), `line 3: market: session "trading"`},
		{"no session", picture + market(""), `line 3: market: session ""`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.jsonl")
			os.WriteFile(path, []byte(c.body), 0o644)
			_, err := Open(Config{Source: "file:" + path})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %s", err, c.want)
			}
		})
	}
	// Every documented word plays.
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	os.WriteFile(path, []byte(picture+market("open")+status("A", "halted")+status("A", "trading")+
		status("", "closed")+market("closed")+status("", "open")), 0o644)
	if _, err := Open(Config{Source: "file:" + path}); err != nil {
		t.Fatalf("every documented state and session: %v", err)
	}
}
