// Package bench is `tickertape bench`, the load tool: it drives a server's
// two transports, /events (SSE) and /ws (WebSocket), with the same load and
// measures them side by side.
//
// What to use for what:
//
//   - [Run] opens many light clients of each transport against a server,
//     reads every event, and returns a [Result]: clients held, events per
//     second, latency percentiles from the events' ts, bytes on the wire per
//     event, the server's CPU and memory, gaps and duplicates.
//     [Result.WriteTable] prints it for people; its JSON form is for
//     machines and the dashboard. [PrintProgress] shows a run as it goes.
//   - [Config.Start] names the server each transport's turn runs against:
//     [Child] starts the tickertape binary as a child process (its CPU and
//     memory then its own), [InProcess] a server inside this process through
//     a [StartFunc] (package main hands over its node constructor), or a
//     fixed [Target] for a server already running.
//   - [Jobs] serves POST /api/bench and GET /api/jobs/{id}/events: a run
//     started from the dashboard, one at a time, followed as progress
//     events.
package bench
