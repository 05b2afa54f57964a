package main

import (
	"errors"
	"flag"
	"net"
	"strconv"
	"strings"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"tickertape/internal/sse"
)

// startAuthNATS runs a NATS server that takes only the given user and
// password, or only the token (user ""), in dir on port (0: any).
func startAuthNATS(t *testing.T, dir string, port int, user, secret string) *natsserver.Server {
	t.Helper()
	return sse.StartNATS(t, dir, port, func(opts *natsserver.Options) {
		if user != "" {
			opts.Username, opts.Password = user, secret
		} else {
			opts.Authorization = secret
		}
	})
}

// The broker's credentials are never printed: not by a publisher given
// them in -broker, nor by a consumer given them in TICKERTAPE_BROKER
// without a scheme, in their logs from start to stop (the serving line, a
// lost and regained connection) or on /metrics. Both forms of credentials:
// a user and password, and a token.
func TestBrokerCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, user, secret string }{
		{"password", "tuser", "S3cretPW"},
		{"token", "", "S3cretTok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ns := startAuthNATS(t, dir, 0, tc.user, tc.secret)
			port := natsPort(ns)
			creds := tc.secret
			if tc.user != "" {
				creds = tc.user + ":" + tc.secret
			}
			hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			pub := startServer(t, nil, "-broker", "nats://"+creds+"@"+hostPort, "-broker-publish", "-rate", "50", "-symbols", "5")
			cons := startServer(t, map[string]string{"TICKERTAPE_BROKER": creds + "@" + hostPort}) // no scheme
			for _, p := range []*server{pub, cons} {
				waitMetric(t, p.url, "tickertape_broker_connected", func(v float64) bool { return v == 1 })
			}

			// An outage: both log the connection lost, and back.
			sse.StopNATS(t, ns)
			for _, p := range []*server{pub, cons} {
				waitMetric(t, p.url, "tickertape_broker_connected", func(v float64) bool { return v == 0 })
			}
			startAuthNATS(t, dir, port, tc.user, tc.secret)
			for _, p := range []*server{pub, cons} {
				waitMetric(t, p.url, "tickertape_broker_connected", func(v float64) bool { return v == 1 })
			}
			var metrics []string
			for _, p := range []*server{pub, cons} {
				_, m := sse.Get(t, p.url+"/metrics")
				metrics = append(metrics, m)
				if err := p.stop(t); err != nil {
					t.Errorf("run: %v", err)
				}
			}

			for _, want := range []struct {
				p    *server
				line string
			}{
				{pub, `source="sim, led by one of the -broker-publish nodes of nats://redacted@` + hostPort + `"`},
				{cons, `source="broker redacted@` + hostPort + `"`},
				{pub, `broker connection back`},
				{cons, `broker connection back`},
			} {
				if !strings.Contains(want.p.stderr.String(), want.line) {
					t.Errorf("the log lacks %s:\n%s", want.line, want.p.stderr.String())
				}
			}
			for i, out := range []string{pub.stdout.String(), pub.stderr.String(), metrics[0],
				cons.stdout.String(), cons.stderr.String(), metrics[1]} {
				for n, line := range strings.Split(out, "\n") {
					if strings.Contains(line, tc.secret) || (tc.user != "" && strings.Contains(line, tc.user)) {
						t.Errorf("output %d, line %d shows the credentials: %s", i, n+1, line)
					}
				}
			}
		})
	}
}

// Nothing a mistake makes the process print shows the credentials either:
// a broker it cannot reach (a URL without a scheme), -h with the URL in
// the environment, the URL after a flag that takes no value, the URL in a
// variable of another type.
func TestBrokerCredentialsNeverInErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string // in the error
	}{
		{nil, []string{"-broker", "tuser:S3cretPW@" + dead}, "broker redacted@" + dead},
		{nil, []string{"-broker", "tuser:S3cretPW@" + dead, "-broker-publish"}, "broker redacted@" + dead},
		{nil, []string{"-broker", "nats://tuser:S3cretPW@" + dead}, "broker nats://redacted@" + dead},
		{map[string]string{"TICKERTAPE_BROKER": "nats://tuser:S3cretPW@" + dead}, nil, "broker nats://redacted@" + dead},
		{map[string]string{"TICKERTAPE_BROKER": "tuser:S3cretPW@" + dead}, []string{"-h"}, flag.ErrHelp.Error()},
		{nil, []string{"-broker-publish", "nats://tuser:S3cretPW@" + dead}, "unexpected argument \"nats://redacted@" + dead},
		{map[string]string{"TICKERTAPE_BROKER_PUBLISH": "nats://tuser:S3cretPW@" + dead}, nil, "TICKERTAPE_BROKER_PUBLISH=\"nats://redacted@" + dead},
		// A URL given as the value of a flag that takes none: the flag
		// package quotes it, in its error and on stderr.
		{nil, []string{"-broker-publish=nats://tuser:S3cretPW@" + dead}, "invalid boolean value \"nats://redacted@" + dead},
		{nil, []string{"-broker-publish=tuser:S3cretPW@" + dead}, "invalid boolean value \"redacted@" + dead},
	} {
		var stdout, stderr syncBuffer
		err := run(t.Context(), append([]string{"-addr", "127.0.0.1:0"}, tc.args...), func(k string) string { return tc.env[k] }, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want an error with %q", tc.env, tc.args, err, tc.want)
			continue
		}
		if tc.args != nil && tc.args[0] == "-h" && (!errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-broker")) {
			t.Errorf("-h: %v, printed %q; want the flags", err, stderr.String())
		}
		// main prints the error as "tickertape: " + err.
		for _, out := range []string{err.Error(), stdout.String(), stderr.String()} {
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "S3cretPW") || strings.Contains(line, "tuser") {
					t.Errorf("%v %v: printed the credentials: %s", tc.env, tc.args, line)
				}
			}
		}
	}
}
