// Package compare is the WebSocket twin of the Server-Sent Events stream:
// the endpoint /events is compared against.
//
// What to use for what:
//
//   - [Handler] serves GET /ws, the WebSocket twin of /events: the same
//     feed subscription (feed.Hub.Open, feed.Stream.Run), one text message
//     per event in docs/API.md's envelope, pings for keep-alive, 1001 on
//     shutdown. There is no second copy of the subscription logic.
//   - [CheckOrigin] is /ws's Origin rule, for any endpoint that only the
//     server's own page (or one -cors-origins allows) may call: the bench's
//     POST /api/bench.
//
// The load tool that measures the two transports against each other is
// package tickertape/compare/bench.
package compare
