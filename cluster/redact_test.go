package cluster

import (
	"strings"
	"testing"
)

// Every form NATS takes a URL in has its credentials hidden, with a scheme
// and without, and so has one too broken to parse.
func TestRedactForms(t *testing.T) {
	for in, want := range map[string]string{
		"tuser:S3cretPW@127.0.0.1:4222":                 "redacted@127.0.0.1:4222",
		"S3cretTok@h":                                   "redacted@h",
		"nats://tuser:S3cretPW@h:4222,tuser:S3cretPW@g": "nats://redacted@h:4222,redacted@g",
		" nats://tuser:S3cret%2FPW@h":                   " nats://redacted@h",
		"nats://tuser:S3cret/PW@h:4222":                 "nats://redacted@h:4222",
		"tls://[::1]:4222,h:4222":                       "tls://[::1]:4222,h:4222",
		"":                                              "",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A broker that cannot be reached, or a URL that cannot be parsed: the
// error names the broker, and never its password, whatever the form.
func TestConnectErrorsHideCredentials(t *testing.T) {
	for _, url := range []string{
		"tuser:S3cretPW@127.0.0.1:1",
		"nats://tuser:S3cretPW@127.0.0.1:1",
		"nats://S3cretPW@127.0.0.1:1",
		"nats://tuser:S3cretPW/x@127.0.0.1:1",  // url.Parse: invalid port ":S3cretPW" after host
		"nats://tuser:S3cret%zzPW@127.0.0.1:1", // url.Parse: invalid escape
	} {
		_, err := Connect(url, quiet())
		if err == nil {
			t.Errorf("%s: connected", url)
			continue
		}
		if strings.Contains(err.Error(), "S3cret") || !strings.Contains(err.Error(), "broker ") {
			t.Errorf("%s: %v; want an error naming the broker without its password", url, err)
		}
	}
}
