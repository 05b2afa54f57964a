package compare_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"tickertape/compare"
	"tickertape/feed"
)

// A WebSocket client of /ws gets each event as one text message: the
// envelope of docs/API.md, with the very data bytes /events sends.
func ExampleHandler() {
	log, _ := feed.NewLog([]string{"AAPL", "MSFT"}, 100, 1000) // ids from 1000
	hub := feed.NewHub(log, feed.Options{Metrics: feed.NewMetrics(prometheus.NewRegistry())})
	srv := httptest.NewServer(compare.Handler(hub, nil))
	defer srv.Close()
	defer log.Close()

	log.Publish("quote", "AAPL", map[string]any{"symbol": "AAPL", "price": 221.42, "ts": 1795635253326.863})
	log.Publish("quote", "MSFT", map[string]any{"symbol": "MSFT", "price": 415.1, "ts": 1795635253327.5})

	ctx := context.Background()
	// Resume after 999: every event from 1000 on, no snapshot.
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"?symbols=MSFT&lastEventId=999", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx)
	fmt.Println(string(msg))
	// Output:
	// {"event":"quote","id":"1001","data":{"price":415.1,"symbol":"MSFT","ts":1795635253327.5}}
}
