// Package bench is `tickertape bench`, the load tool: it drives streams of
// a server (tickertape's /events and /ws, or any SSE or WebSocket stream)
// with the same load, side by side, in repeated runs, and says what
// differs beyond the noise.
//
// What to use for what:
//
//   - [Run] runs a [Config]: its [Side]s (a transport, a stream and the
//     server it is read from) take turns, one run each, A B A B …; each
//     run connects many light clients, reads every event, and measures a
//     window. It returns a [Result]: each figure's median over the runs
//     with its spread (clients held, events per second, latency from the
//     events' ts, bytes on the wire per event, the server's CPU per
//     delivery and memory per client after forced GCs), the [Machine] and
//     its load, a [Verdict] per figure, and notes. [Result.WriteTable]
//     prints it for people; its JSON form is for machines and the
//     dashboard. [PrintProgress] shows a bench as it goes.
//   - [Side.Start] names a run's server: [Child] starts the tickertape
//     binary as a child process (its CPU and memory then its own),
//     [ChildTLS] the same serving TLS with a [Certificate] made by
//     [NewCertificate] (for SSE over HTTP/2), [InProcess] a server inside
//     this process through a [StartFunc] (package main hands over its node
//     constructor), or a fixed [Target] for a server already running,
//     whose CPU and RSS can come from /proc/PID.
//   - [Scenarios] are the named loads of -scenario, each a shape (clients
//     × rate, the streams' query) and a timing (ramp, warm-up, window).
//   - [Jobs] serves POST /api/bench and GET /api/jobs/{id}/events: a run
//     started from the dashboard, one at a time, followed as progress
//     events.
package bench
