// Package feed is the heart of tickertape: one event log that is also the
// fan-out queue and the resume buffer, and the streams that read it.
//
// What to use for what:
//
//   - [Log] holds the market's events in a ring ([NewLog]). A source (the
//     simulation, a file) calls [Log.Publish]; each event gets the next id
//     and is encoded once, as an SSE frame and as a WebSocket message,
//     shared by all subscribers. A node fed by a broker calls [Log.Append]
//     with the publisher's ids, [Log.Restore] for the newest state, then
//     [Log.MarkReady]. The log keeps the newest state per symbol, from
//     which [Log.Snapshot] is made; [Log.Close] ends every stream with
//     [ErrClosed].
//   - [Log.ParseQuery] turns a request's query into a [Filter] (symbols,
//     event kinds, throttle), within [QueryLimits], or a [RequestError] that
//     names every bad parameter; [ParseSymbols] reads its symbols list, for
//     the other endpoints that take one.
//   - [Log.Subscribe] makes a [Subscription]: a cursor into the ring plus a
//     filter. [Subscription.Run] is the one delivery loop of both
//     transports: it drains every frame past the cursor in one batch, hands
//     it to a [Writer], and sends heartbeats when the stream is quiet. A
//     client whose id cannot be resumed from, or whose cursor was lapped,
//     gets a reset (its [ResetReason]) and a fresh snapshot. A throttled
//     subscription reads not the ring but the newest state the log keeps
//     beside it, once per interval, so it is never lapped.
//   - [Hub] ([NewHub], configured by [Options]) admits the streams of every
//     transport over one log, so that limits and metrics count them all
//     together. A transport's handler calls [Hub.Open] with its
//     [Transport] ([SSE] or [WS]) and gets a [Stream], which it runs on its
//     own [Writer] ([Stream.Run]) and closes ([Stream.Close]); a request it
//     refuses before that goes to [Hub.Reject]. [Hub.Wait] tells when the
//     last stream has ended; [Hub.Cut] closes the connections of those
//     still open when a shutdown runs out of time (a transport that
//     hijacked its connection says how, with [Stream.OnCut]). On a log
//     fed by a broker, [Options.Ahead] ([Ahead]) lets a resume from an id
//     a moment ahead of the log wait for it rather than get reset future.
//   - [Hub.SSEHandler] serves GET /events. Its writer is an [EventStream]
//     ([StartEventStream]: headers, a retry line, each write under its own
//     deadline and flushed), which any other event stream of the server
//     (the bench jobs' progress) writes with too; [AppendSSE] frames an
//     event, and [LastEventID] reads the id a reconnecting client sends.
//     The WebSocket twin (package compare) is the other transport.
//   - [WriteError] writes a client's mistake ([RequestError]) as docs/API.md's
//     JSON error body, for every endpoint; [WriteJSON] writes any JSON
//     answer with the same headers.
//   - [Metrics] ([NewMetrics]) are the Prometheus series every transport
//     reports into, by transport and by reason; [Log.Collectors] adds the
//     log's own.
//   - [Reader] ([NewReader]) parses an event stream as the HTML standard
//     says; tests and the bench's clients read the server's output with it.
//
// A slow client is one whose cursor the writer laps: it costs nothing while
// it lags, and when lapped it gets a reset event and a fresh snapshot. The
// writer never waits for a reader.
package feed
