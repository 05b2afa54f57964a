// Package feed is the heart of tickertape: one event log that is also the
// fan-out queue and the resume buffer.
//
// What to use for what:
//
//   - [Log] holds the market's events in a ring. A source (the simulation, a
//     file, a broker) calls [Log.Publish]; each event gets the next id and is
//     encoded once, as an SSE frame and as a WebSocket message, shared by all
//     subscribers. The log also keeps the newest state per symbol, from
//     which snapshots are made.
//   - [ParseQuery] turns a request's query into a [Filter], or a
//     [*RequestError] that names every bad parameter (a 400 on the wire).
//   - [Log.Subscribe] makes a [Subscription]: a cursor into the ring plus a
//     filter. [Subscription.Run] is the one delivery loop both transports
//     use: it drains every frame past the cursor in one batch, hands it to a
//     [Writer], and sends heartbeats when the stream is quiet.
//   - [Handler] serves GET /events (Server-Sent Events) on top of that.
//   - [Reader] parses an event stream as the HTML standard says; tests and
//     the benchmark's clients read the server's output with it.
//   - [Metrics] are the Prometheus series every transport reports into.
//
// A slow client is one whose cursor the writer laps: it costs nothing while
// it lags, and when lapped it gets a reset event and a fresh snapshot. The
// writer never waits for a reader.
package feed
