// Package cluster feeds several tickertape nodes from one market through a
// NATS JetStream broker.
//
// Every node's log is fed from the broker: [Consumer.Run] appends each
// event with the id it has on the broker ([feed.Log.Append]), so an id
// means the same event on every node, and a client that loses its node
// resumes on another with its Last-Event-ID. A node that can run the
// market is a [Candidate] ([Conn.Candidate]): it serves as a consumer
// does, and while it holds the lease it also runs the market and
// publishes it. Of several candidates exactly one leads; the others
// stand by and take over when it dies, is cut off or stops.
//
// What lives on the broker:
//
//   - Stream TICKERTAPE, subjects tickertape.ev.>: every event, in order,
//     one subject per state it sets: tickertape.ev.quote.<i>,
//     tickertape.ev.score.<i>, tickertape.ev.status.<i> (i is the symbol's
//     index in the universe, since symbols such as BRK.B are not subject
//     tokens), tickertape.ev.market and tickertape.ev.session. Headers:
//     Tickertape-Id, the id; Tickertape-Symbol, the symbol, so a consumer
//     notices a changed universe; Tickertape-Term, the lease revision of
//     the leader that published it; Tickertape-Pos, its index in the
//     leader's market source, where a file player continues;
//     Nats-Msg-Id, term and id, so an event sent again within a term is
//     stored once. It keeps the newest events, as many as the candidates
//     are told ([CandidateOptions.History]).
//   - Stream TICKERTAPE_STATE: the newest message of each of those subjects
//     (it sources TICKERTAPE and keeps one message per subject), plus the
//     universe on tickertape.symbols. A node that starts late reads it for
//     its snapshot state: the newest quote and score of a symbol that has not
//     traded for an hour, a halt, the session.
//   - Stream TICKERTAPE_MORNING, subjects tickertape.morning.<i>.<k>: the
//     trades a fresh simulated market made before it went live, which are
//     no events, for every node's history (morning.go). The leader
//     replaces them before its first event.
//   - Key-value bucket TICKERTAPE_LEADER, key leader: who leads, and since
//     when. The bucket's time to live is the lease: the leader renews the
//     key every third of it; a standby creates it once it has run out (or
//     the leader deleted it on stopping), and that revision is its term.
//
// A consumer catches up before it serves: it restores the state stream,
// then replays the newest events from the events stream into its resume
// buffer (as many as [Conn.Consumer] is told), and calls [Log.MarkReady]
// once it has reached the stream's end. It then follows the stream with an
// ordered consumer, which after a lost connection resumes at the next
// stream sequence. An id gap a consumer does see (the broker dropped events
// it had not read) is logged, counted, and turned by the log into a reset
// for every client: never a silent gap.
//
// A leader never hands its own clients an event the broker does not
// hold: its log, too, is fed from the broker. It publishes asynchronously,
// each event fenced on the one before (Nats-Expected-Last-Sequence), so
// that the broker refuses the events of a leader that lost its lease
// without knowing it. What the broker has not acknowledged stays queued;
// through a broker outage the market waits, and once the broker is back
// the leader sends the queue again from the stream's tail. A node that
// wins the lease waits until its log holds the broker's last event, then
// continues the ids after it and the market from its log's state
// ([market.Resumer]).
package cluster
