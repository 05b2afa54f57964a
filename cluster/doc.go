// Package cluster feeds several tickertape nodes from one market through a
// NATS JetStream broker.
//
// One node, the publisher, runs the market as a single node does; its log
// gives every event its id, and [Publisher.Wrap] then publishes the event,
// id in a header, to the events stream. Every other node, a consumer, has no
// market of its own: [Consumer.Run] feeds the node's log (a [Log]) with the
// publisher's events and ids ([feed.Log.Append]). So an id means the same
// event on every node, and a client that loses its node resumes on another
// with its Last-Event-ID.
//
// What lives on the broker:
//
//   - Stream TICKERTAPE, subjects tickertape.ev.>: every event, in order,
//     one subject per state it sets: tickertape.ev.quote.<i>,
//     tickertape.ev.score.<i>, tickertape.ev.status.<i> (i is the symbol's
//     index in the universe, since symbols such as BRK.B are not subject
//     tokens), tickertape.ev.market and tickertape.ev.session. The header
//     Tickertape-Id carries the id; Nats-Msg-Id too, so a publish sent
//     again after an outage is not stored twice; Tickertape-Symbol the
//     symbol, so a consumer notices a changed universe. It keeps the newest
//     events, as many as [Conn.Publisher] is told.
//   - Stream TICKERTAPE_STATE: the newest message of each of those subjects
//     (it sources TICKERTAPE and keeps one message per subject), plus the
//     universe on tickertape.symbols. A node that starts late reads it for
//     its snapshot state: the newest quote and score of a symbol that has not
//     traded for an hour, a halt, the session.
//
// A consumer catches up before it serves: it restores the state stream,
// then replays the newest events from the events stream into its resume
// buffer (as many as [Conn.Consumer] is told), and calls [Log.MarkReady]
// once it has reached the stream's end. It then follows the stream with an
// ordered consumer, which after a lost connection resumes at the next
// stream sequence. The publisher keeps every event the broker has not
// acknowledged and sends it again, in order, once the broker is back. So a
// broker outage costs no event. An id gap a consumer does see (the
// publisher restarted, or an outage outlasted what it keeps) is logged,
// counted, and turned by the log into a reset for every client: never a
// silent gap.
package cluster
