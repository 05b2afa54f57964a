// Package sse holds the test helpers every package of tickertape shares,
// so that each exists once. Only _test.go files import it.
//
// What to use for what:
//
//   - [Open] (or [OpenContext], whose request also ends with a context)
//     GETs an event stream and fails the test unless it answers 200; the
//     [Client] it returns reads it with [feed.Reader], the HTML standard's
//     parser: [Client.Next] fails the test on an error, [Client.Reader]
//     is there for what a test reads itself (the end of a stream, retry:),
//     [Client.Stop] ends the stream early.
//   - [OpenEventSource] runs an [EventSource]: a client that reconnects
//     with Last-Event-ID after the end of a stream or a network error, and
//     closes for good on a non-200 answer, as a browser's does.
//   - [ID] reads the id an event carries as a number.
//   - [Get] and [Do] make a request and return its response and body.
//   - [StartServer] (or [NewServer], for a test that closes it itself)
//     serves /events, /ws and /metrics from a market, a [feed.Log] and a
//     [feed.Hub] on an httptest server: the node for the packages that
//     cannot call package main's run.
//   - [Serve] serves one handler on a [Path]: hijacked HTTP/1.1, or
//     HTTP/2 over TLS, with a client that speaks it; [OnBothPaths] runs a
//     stream test on each. [Served.Open] opens a stream and checks its
//     protocol, [Served.Stalled] opens one that nobody reads until the
//     test does, [Served.Get] makes a request through the path's client.
//   - [StartNATS] runs an embedded NATS server with JetStream;
//     [StopNATS] stops it without leaving a goroutine behind.
package sse
