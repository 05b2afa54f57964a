// Package compare puts WebSocket beside Server-Sent Events and measures
// the two against each other.
//
// What to use for what:
//
//   - [Handler] serves GET /ws, the WebSocket twin of /events: the same
//     feed subscription (feed.Hub.Open, feed.Stream.Run), one text message
//     per event in docs/API.md's envelope, pings for keep-alive, 1001 on
//     shutdown. There is no second copy of the subscription logic.
//   - [Run] is `tickertape bench`: it opens many light clients of each
//     transport against a server, reads every event, and returns a
//     [Result]: clients held, events per second, latency percentiles from
//     the events' ts, bytes on the wire per event, the server's CPU and
//     memory, gaps and duplicates. [Result.WriteTable] prints it for
//     people; its JSON form is for machines and the dashboard.
//   - [Jobs] serves POST /api/bench and GET /api/jobs/{id}/events: a run
//     started from the dashboard, one at a time, followed as progress
//     events.
//   - [StartServer] starts a small tickertape inside the process (market,
//     log, /events, /ws, /metrics on loopback): the target of tests and of
//     dashboard runs.
package compare
