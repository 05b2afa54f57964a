package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"tickertape/history"
	"tickertape/market"
)

// Names of the lease on the broker; see the package comment.
const (
	LeaseBucket = "TICKERTAPE_LEADER"
	LeaseKey    = "leader"
	HeaderTerm  = "Tickertape-Term"
	HeaderPos   = "Tickertape-Pos"
)

// errLeaseLost ends a term: the lease ran out or another node holds it.
var errLeaseLost = errors.New("the lease is lost")

// CandidateOptions configure a [Candidate].
type CandidateOptions struct {
	Name    string        // the node, as the lease and every node's log name it
	History int           // how many events the events stream keeps (at least 1)
	Replay  int           // how many of the newest events the node's log replays (its resume buffer)
	Lease   time.Duration // how long a leader's claim lasts unrenewed, for a bucket this node creates
}

// Candidate is a node that can run the market: one of several started
// with the same market, of which exactly one leads at a time. Every
// candidate serves as a consumer does, its log fed from the broker. The
// one that holds the lease (a key with a time to live in the bucket
// TICKERTAPE_LEADER, renewed by its holder) runs the market and publishes
// it; the others stand by and try to win the lease, which they can once
// its holder stopped renewing it (it died, or lost the broker) or gave it
// up (it stopped). A node that wins it takes the market over where the
// broker's last event left it: the next id, the last state
// ([market.Resumer]).
type Candidate struct {
	// Set at construction, then read-only.
	c       *Conn
	src     market.Source
	cons    *Consumer
	events  jetstream.Stream
	morning jetstream.Stream // a fresh market's morning (morning.go)
	kv      jetstream.KeyValue
	lease   time.Duration // the bucket's time to live
	opts    CandidateOptions
	record  io.Writer // see Record

	// held is the revision of a lease won at construction, 0 if none;
	// Run takes it over, or Close gives it up.
	held  uint64
	value []byte
}

// leaseValue is what the lease holds: who leads, since when.
type leaseValue struct {
	Node  string    `json:"node"`
	Since time.Time `json:"since"`
}

// Candidate makes sure the streams and the lease bucket exist, and tries
// to win the lease at once. The winner announces its universe (purging
// the streams if the broker held another), as a single publisher does.
// A node that finds a leader stands by and needs the leader's universe:
// other symbols are an error. ctx bounds the setup only.
func (c *Conn) Candidate(ctx context.Context, src market.Source, o CandidateOptions) (*Candidate, error) {
	events, state, err := c.streams(ctx, o.History)
	if err != nil {
		return nil, err
	}
	morning, err := c.morningStream(ctx)
	if err != nil {
		return nil, err
	}
	kv, err := c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      LeaseBucket,
		Description: "tickertape: the node that runs the market; it renews its key, which lives " + o.Lease.String() + " unrenewed",
		TTL:         o.Lease,
		History:     1,
		Storage:     jetstream.FileStorage,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = c.js.KeyValue(ctx, LeaseBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("broker %s: lease bucket %s: %w", c.url, LeaseBucket, err)
	}
	status, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("broker %s: lease bucket %s: %w", c.url, LeaseBucket, err)
	}
	cd := &Candidate{c: c, src: src, events: events, morning: morning, kv: kv, lease: status.TTL(), opts: o}
	if cd.lease != o.Lease {
		// The bucket is the cluster's: every node must renew within the
		// same time to live.
		c.logger.Warn("the broker's lease lasts another time than asked; using the broker's (delete the bucket to change it)",
			"lease", cd.lease, "asked", o.Lease, "bucket", LeaseBucket)
	}
	if cd.lease < time.Second {
		return nil, fmt.Errorf("broker %s: lease bucket %s: a time to live of %s; want at least 1s", c.url, LeaseBucket, cd.lease)
	}
	universe, err := json.Marshal(src.Symbols())
	if err != nil {
		return nil, err
	}
	value := cd.newValue()
	switch rev, err := kv.Create(ctx, LeaseKey, value); {
	case err == nil:
		cd.held, cd.value = rev, value
		if err := c.announce(ctx, universe, state, events, morning); err != nil {
			cd.Close()
			return nil, err
		}
	case errors.Is(err, jetstream.ErrKeyExists):
		// Another node leads: this one stands by.
	default:
		return nil, fmt.Errorf("broker %s: lease: %w", c.url, err)
	}
	if cd.cons, err = c.Consumer(ctx, o.Replay); err != nil {
		cd.Close()
		return nil, err
	}
	cd.cons.watch = false // the candidate watches the lease itself
	if theirs, _ := json.Marshal(cd.cons.Symbols()); !bytes.Equal(theirs, universe) {
		cd.Close()
		return nil, fmt.Errorf("broker %s: the leading node publishes other symbols than this node's market has: a standby needs the leader's market flags (-symbols, -source)", c.url)
	}
	return cd, nil
}

func (cd *Candidate) newValue() []byte {
	b, _ := json.Marshal(leaseValue{Node: cd.opts.Name, Since: time.Now().UTC()})
	return b
}

// Record makes the node write the events its market publishes while it
// leads to w, as [market.Record] does. Call it before Run.
func (cd *Candidate) Record(w io.Writer) { cd.record = w }

// History makes the node fold the morning into h, as [Consumer.History]
// does; when it leads a fresh market, that morning is its market's, which
// reaches it through the broker as it reaches every node. Call it before
// Run.
func (cd *Candidate) History(h *history.Store) { cd.cons.History(h) }

// Symbols returns the universe, the leader's and this node's.
func (cd *Candidate) Symbols() []market.Symbol { return cd.cons.Symbols() }

// Rate returns the market's recent rate, as [Consumer.Rate].
func (cd *Candidate) Rate() float64 { return cd.cons.Rate() }

// Close gives up a lease won at construction that Run never took over.
func (cd *Candidate) Close() {
	if cd.held != 0 {
		cd.release(cd.value)
		cd.held = 0
	}
}

// release gives the lease up, if the broker still holds it as this term's
// (value names the node and when its term began), so that a standby takes
// over at once rather than when it runs out. It goes by the value, not by
// the revision this node last saw: a renewal cut short by the node's
// stopping may have been stored all the same, under a revision this node
// never learnt.
func (cd *Candidate) release(value []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e, err := cd.kv.Get(ctx, LeaseKey)
	if err == nil && !bytes.Equal(e.Value(), value) {
		return // another node's term
	}
	if err == nil {
		err = cd.kv.Delete(ctx, LeaseKey, jetstream.LastRevision(e.Revision()))
	}
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		cd.c.logger.Warn("broker: giving up the lease; a standby takes over when it runs out", "err", err, "lease", cd.lease)
	}
}

// Run feeds log from the broker, as a consumer does, and leads whenever
// this node holds the lease: it runs the market from the broker's last
// event and state, and publishes it. It returns when ctx is done or the
// log is closed (nil, having given the lease up), or when the consumer or
// the market fails.
func (cd *Candidate) Run(ctx context.Context, log Log) error {
	held := cd.held
	cd.held = 0
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	consErr := make(chan error, 1)
	wg.Go(func() {
		// The consumer's end (an error, or the log closed by shutdown)
		// ends the candidate too.
		consErr <- cd.cons.Run(ctx, log)
		cancel()
	})
	wg.Go(func() { cd.c.watchLeader(ctx, cd.kv, cd.lease/3, cd.opts.Name) })
	err := cd.elect(ctx, log, held)
	cancel()
	wg.Wait()
	return errors.Join(<-consErr, err)
}

// elect stands by until this node wins the lease, leads until it loses
// it, and again, until ctx is done.
func (cd *Candidate) elect(ctx context.Context, log Log, rev uint64) error {
	poll := time.NewTicker(cd.lease / 10)
	defer poll.Stop()
	value := cd.value
	for {
		if rev == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-poll.C:
			}
			value = cd.newValue()
			r, err := cd.kv.Create(ctx, LeaseKey, value)
			switch {
			case err != nil && ctx.Err() != nil:
				// Cut short by the node's stopping, the claim may have
				// been stored all the same.
				cd.release(value)
				return nil
			case err != nil:
				if !errors.Is(err, jetstream.ErrKeyExists) {
					cd.c.logger.Debug("broker: trying for the lease", "err", err)
				}
				continue
			}
			rev = r
		}
		err := cd.lead(ctx, log, rev, value)
		rev = 0
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errLeaseLost) {
			return err // the market failed
		}
	}
}

// lead is one term: this node holds the lease won at rev, renews it, and
// runs the market, until the lease is lost (errLeaseLost), ctx is done
// (nil, the lease given up), or the market fails.
func (cd *Candidate) lead(ctx context.Context, log Log, rev uint64, value []byte) error {
	c := cd.c
	term := strconv.FormatUint(rev, 10)
	c.leader.Set(1)
	defer c.leader.Set(0)
	c.logger.Info("this node leads now: it runs the market", "node", cd.opts.Name, "term", term)

	termCtx, end := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	confirm := make(chan chan bool)
	go func() {
		defer close(renewed)
		cd.renew(termCtx, end, rev, value, confirm)
	}()
	var err error
	for {
		err = cd.runMarket(termCtx, log, term)
		if !errors.Is(err, errFenced) || termCtx.Err() != nil {
			break
		}
		// Another node published since this one took over. Either this
		// node lost its lease without knowing it (it stands by), or the
		// other did (this node takes the market over again, from the
		// other's last event): the broker says which.
		if !cd.confirm(termCtx, confirm) {
			end(fmt.Errorf("%w: another node published, and the broker did not confirm this node's lease", errLeaseLost))
			break
		}
		c.logger.Warn("broker: another node published, though this node holds the lease; taking the market over again from its last event", "err", err)
	}
	if termCtx.Err() != nil {
		err = context.Cause(termCtx)
	}
	end(nil)
	<-renewed // no renewal after the release
	// However the term ended, a lease the broker still has as this term's
	// is freed now, for a standby to win at its next try.
	cd.release(value)
	switch {
	case ctx.Err() != nil:
		c.logger.Info("this node stopped leading: it is stopping; a standby takes over", "node", cd.opts.Name)
		return nil
	case errors.Is(err, errLeaseLost):
		c.logger.Warn("this node stepped down: it stands by", "node", cd.opts.Name, "why", err)
	default:
		c.logger.Error("this node stepped down: its market failed", "node", cd.opts.Name, "err", err)
	}
	return err
}

// confirm asks renew to renew the lease now, and reports whether the
// broker confirmed that this node still holds it.
func (cd *Candidate) confirm(ctx context.Context, confirm chan<- chan bool) bool {
	reply := make(chan bool, 1)
	select {
	case confirm <- reply:
	case <-ctx.Done():
		return false
	}
	select {
	case ok := <-reply:
		return ok
	case <-ctx.Done():
		return false
	}
}

// renew renews the lease at rev at once and then every third of its time
// to live, and when asked to confirm it, until ctx is done; it ends the
// term (end) when the lease is lost: another node holds it, or the broker
// has not confirmed it for nearly its time to live, after which another
// node may win it.
func (cd *Candidate) renew(ctx context.Context, end context.CancelCauseFunc, rev uint64, value []byte, confirm <-chan chan bool) {
	every := cd.lease / 3
	// The broker lets the lease run out no earlier than its time to live
	// after the last renewal it stored, which it stored after it was sent:
	// stepping down a little before that is stepping down in time.
	margin := cd.lease / 10
	deadline := time.NewTimer(cd.lease - margin)
	defer deadline.Stop()
	next := time.NewTimer(0)
	defer next.Stop()
	for {
		var reply chan bool
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			end(fmt.Errorf("%w: the broker has not confirmed it for %s", errLeaseLost, cd.lease-margin))
			return
		case <-next.C:
		case reply = <-confirm:
		}
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, every)
		r, err := cd.kv.Update(rctx, LeaseKey, value, rev)
		cancel()
		next.Reset(every)
		if reply != nil {
			reply <- err == nil
		}
		switch {
		case err == nil:
			rev = r
			deadline.Reset(cd.lease - margin - time.Since(sent))
		case ctx.Err() != nil:
			return
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
			if reply == nil { // else the term ends for what made it ask
				end(fmt.Errorf("%w: it ran out, or another node holds it (%v)", errLeaseLost, err))
			}
			return
		default:
			cd.c.logger.Debug("broker: renewing the lease", "err", err)
		}
	}
}

// runMarket runs one market of the term: it waits until log holds the
// broker's last event, then continues the market from the log's state
// (or starts one, on an empty stream) and publishes it, until the market
// ends (a file played out: it then waits for the term to end), the term
// ends, or the market fails.
func (cd *Candidate) runMarket(ctx context.Context, log Log, term string) error {
	c := cd.c
	var t tail
	for {
		var err error
		if t, err = c.readTail(ctx, cd.events); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			c.logger.Warn("broker: reading the events stream's tail", "err", err)
			if err := sleep(ctx, 250*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		for log.Newest() < t.id {
			if err := sleep(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		}
		if log.Newest() == t.id || t.id == 0 {
			break
		}
		// The stream grew while this node read it: read its tail again.
	}
	first := max(uint64(time.Now().UnixMicro()), log.Newest()+1)
	sink := c.newLeaderSink(ctx, cd.events, cd.Symbols(), term, t, first)
	var s market.Sink = sink
	if cd.record != nil {
		s = market.Record(cd.record, sink)
	}
	var err error
	r, resumes := cd.src.(market.Resumer)
	if t.id == 0 || !resumes {
		c.logger.Info("starting the market", "first id", sink.nextID)
		// A fresh market: its morning goes to the broker before its first
		// event, for every node's history.
		err = cd.src.Run(ctx, c.newMorningSink(ctx, s, cd.morning, cd.Symbols()))
	} else {
		var st *market.State
		if st, err = stateOf(log); err != nil {
			return err
		}
		st.Published = t.pos + 1
		c.logger.Info("taking the market over from the broker's last event", "id", t.id, "term", t.term)
		err = r.Resume(ctx, s, st)
	}
	// What is on its way is stored before the lease is given up, so that
	// the next leader finds it; a lost lease waits for nothing.
	waited := 2 * time.Second
	if errors.Is(context.Cause(ctx), errLeaseLost) {
		waited = 100 * time.Millisecond
	}
	if lost := sink.drain(waited); lost > 0 {
		c.publishErrors.Add(float64(lost))
		c.logger.Warn("broker: events this node's market made that the broker did not store (no node served them)", "events", lost)
	}
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case err == nil:
		c.logger.Info("the market ended; this node keeps the lease and publishes nothing more")
		<-ctx.Done()
		return context.Cause(ctx)
	}
	return err
}

// stateOf reads the market's state, as the broker's last event left it,
// from the log's snapshot.
func stateOf(log Log) (*market.State, error) {
	snap, _ := log.Snapshot(nil)
	var s struct {
		Quotes   []market.Quote  `json:"quotes"`
		Scores   []market.Score  `json:"scores"`
		Statuses []market.Status `json:"statuses"`
		Session  *market.Status  `json:"session"`
		Market   *market.Market  `json:"market"`
	}
	if err := json.Unmarshal(snap, &s); err != nil {
		return nil, fmt.Errorf("broker: reading the market's state: %w", err)
	}
	return &market.State{Quotes: s.Quotes, Scores: s.Scores, Statuses: s.Statuses, Session: s.Session, Market: s.Market}, nil
}

// sleep waits d, or fails with ctx's cause when it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(d):
		return nil
	}
}

// watchLeader logs each change of leader once, as this node sees it: it
// reads the lease every interval until ctx is done.
func (c *Conn) watchLeader(ctx context.Context, kv jetstream.KeyValue, every time.Duration, self string) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last []byte
	known := false
	for {
		rctx, cancel := context.WithTimeout(ctx, every)
		e, err := kv.Get(rctx, LeaseKey)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if known && last != nil {
				c.logger.Info("no node leads now (the leader stopped, or its lease ran out); a standby takes over")
			}
			last, known = nil, true
		case err != nil:
			// The broker is away: say nothing until it answers.
		case !known || !bytes.Equal(e.Value(), last):
			var v leaseValue
			_ = json.Unmarshal(e.Value(), &v)
			c.logger.Info("leader: "+v.Node+" leads", "leader", v.Node, "since", v.Since, "this node", v.Node == self)
			last, known = bytes.Clone(e.Value()), true
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
