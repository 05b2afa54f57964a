package cluster

import (
	"regexp"
	"slices"
	"strings"
)

// Redact hides the credentials of each URL in a comma list of broker URLs,
// with a scheme or without, as NATS takes them (nats://user:pw@host:4222,
// user:pw@host:4222, nats://token@host): whatever stands before the host's
// "@" becomes "redacted". It parses nothing, so that no URL too broken to
// parse is shown whole. Everything that names the broker (logs, errors)
// names it through Redact. (A password that holds a comma must encode it,
// %2C, for NATS as well as for Redact.)
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		scheme, rest := "", p
		if j := strings.Index(p, "://"); j >= 0 {
			scheme, rest = p[:j+3], p[j+3:]
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			parts[i] = scheme + "redacted" + rest[at:]
		}
	}
	return strings.Join(parts, ",")
}

// secrets returns the credentials in a comma list of broker URLs, each
// whole ("user:pw", "token") and in the pieces a URL parser cuts it into
// ("user", "pw"), longest first; none is empty.
func secrets(urls string) []string {
	var out []string
	for _, p := range strings.Split(urls, ",") {
		if j := strings.Index(p, "://"); j >= 0 {
			p = p[j+3:]
		}
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		info := p[:at]
		if info != "" {
			out = append(out, info)
		}
		// Its pieces too, as a parser cuts it and may then quote a piece.
		for _, piece := range strings.FieldsFunc(info, func(r rune) bool { return strings.ContainsRune(":/?#[]", r) }) {
			if piece != info {
				out = append(out, piece)
			}
		}
	}
	// The whole before its parts, so that "user:pw" goes as one.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// redactError hides the credentials of urls wherever err's text has them:
// the NATS client's errors may quote the URL it was given, or part of it
// (url.Parse's "invalid port" quotes a password that holds a "/").
func redactError(err error, urls string) error {
	msg := err.Error()
	for _, s := range secrets(urls) {
		msg = strings.ReplaceAll(msg, s, "redacted")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose text hides credentials; errors.Is and
// errors.As still see what it wraps.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// userinfo is what stands before a host's "@" in a URL inside running
// text, after an optional scheme.
var userinfo = regexp.MustCompile(`((?:[A-Za-z][A-Za-z0-9+.-]*://)?)[^\s"'@/,=]+@`)

// RedactText redacts the credentials of every URL in a line of text, in
// both of the forms Redact takes: for messages that quote a value that was
// never parsed as a broker URL (the flag package's "invalid boolean value
// \"nats://user:pw@host\" for -broker-publish").
func RedactText(s string) string { return userinfo.ReplaceAllString(s, "${1}redacted@") }
