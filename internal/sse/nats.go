package sse

import (
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// StartNATS runs a NATS server with JetStream in the test process, its
// store in dir, on 127.0.0.1:port (0: a free port); each configure func
// may change its options before it starts (credentials, say). It is shut
// down at the end of the test, or earlier by [StopNATS].
func StartNATS(t testing.TB, dir string, port int, configure ...func(*natsserver.Options)) *natsserver.Server {
	t.Helper()
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	opts := &natsserver.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true, ServerName: "test",
	}
	for _, f := range configure {
		f(opts)
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { StopNATS(t, ns) })
	return ns
}

// StopNATS waits until every stream on ns has set up its sources, then
// shuts ns down and waits until it has stopped. A stream (the state stream
// sources the events stream) sets up a source on a timer, a moment after
// it starts, by asking for a consumer; the answer is awaited by a goroutine
// that Shutdown does not end and WaitForShutdown does not wait for. A
// server shut down before the answer leaves that goroutine
// ((*stream).trySetupSourceConsumer.func3) waiting out a 30 s timeout, for
// goleak to find. A source the stream has heard from has had its answer.
func StopNATS(t testing.TB, ns *natsserver.Server) {
	t.Helper()
	if ns.Running() {
		waitSourcesSetUp(t, ns)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
}

// waitSourcesSetUp waits until every source of every stream on ns has
// been heard from since the stream started.
func waitSourcesSetUp(t testing.TB, ns *natsserver.Server) {
	t.Helper()
	// As long as the goroutine's own timeout: a restarted server retries a
	// source with a growing delay, and a loaded machine slows it further.
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := ns.Jsz(&natsserver.JSzOptions{Streams: true})
		if err != nil {
			t.Errorf("nats-server: %v", err)
			return
		}
		pending := ""
		for _, acc := range info.AccountDetails {
			for _, st := range acc.Streams {
				for _, src := range st.Sources {
					if src.Active < 0 { // -1: not heard from yet
						pending = st.Name + " from " + src.Name
					}
				}
			}
		}
		if pending == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("nats-server: stream %s never set up its source", pending)
			return
		}
		time.Sleep(5 * time.Millisecond) // polling the server's view: it has no event for this
	}
}
