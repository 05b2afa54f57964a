package feed

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// BatchHistogram is tickertape_batch_events, events per write by
// transport, the feed's health signal. It is a histogram that takes its
// observations in bulk: the hub's writers count a pass's writes by bucket
// and add them once at the end of the pass, so that a delivery does not
// update a shared histogram (a prometheus.Histogram takes one Observe per
// write: several atomic updates on lines every writer touches).
type BatchHistogram struct {
	desc   *prometheus.Desc
	series []batchSeries // by the transport's place in Transports()
}

// batchBounds are the buckets' upper bounds.
var batchBounds = [...]float64{1, 2, 4, 8, 16, 64, 256, 1024}

// batchCounts are observations of events per write: how many fell in each
// bucket (the last above every bound), and their sum.
type batchCounts struct {
	buckets [len(batchBounds) + 1]uint64
	sum     uint64
}

// add counts one write of n events.
func (c *batchCounts) add(n int) {
	i := 0
	for i < len(batchBounds) && float64(n) > batchBounds[i] {
		i++
	}
	c.buckets[i]++
	c.sum += uint64(n)
}

type batchSeries struct {
	mu sync.Mutex
	batchCounts
}

func newBatchHistogram() *BatchHistogram {
	h := &BatchHistogram{
		desc: prometheus.NewDesc("tickertape_batch_events",
			"Events per write to one client: how far wake-ups batch under load.", []string{"transport"}, nil),
		series: make([]batchSeries, len(Transports())),
	}
	return h
}

// Observe counts one write of n events to a stream of transport t.
func (h *BatchHistogram) Observe(t Transport, n int) {
	var c batchCounts
	c.add(n)
	h.addCounts(t, &c)
}

// addCounts adds observations made elsewhere (a writer's pass).
func (h *BatchHistogram) addCounts(t Transport, c *batchCounts) {
	s := &h.series[transportIndex(t)]
	s.mu.Lock()
	for i, n := range c.buckets {
		s.buckets[i] += n
	}
	s.sum += c.sum
	s.mu.Unlock()
}

// Describe and Collect make the histogram a prometheus.Collector.
func (h *BatchHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect sends each transport's series, both always.
func (h *BatchHistogram) Collect(ch chan<- prometheus.Metric) {
	for i, t := range Transports() {
		s := &h.series[i]
		s.mu.Lock()
		c := s.batchCounts
		s.mu.Unlock()
		cum := make(map[float64]uint64, len(batchBounds))
		var n uint64
		for j, le := range batchBounds {
			n += c.buckets[j]
			cum[le] = n
		}
		n += c.buckets[len(batchBounds)]
		ch <- prometheus.MustNewConstHistogram(h.desc, n, float64(c.sum), cum, t.String())
	}
}

// transportIndex is t's place in Transports().
func transportIndex(t Transport) int {
	for i, u := range Transports() {
		if u == t {
			return i
		}
	}
	panic("feed: unknown transport " + string(t))
}
