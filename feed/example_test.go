package feed_test

import (
	"fmt"

	"tickertape/feed"
)

// The exact bytes of a resumed SSE stream: a client that saw id 100 gets
// 101 and 102, each encoded once by the log, with no snapshot.
func ExampleLog_Subscribe() {
	log, _ := feed.NewLog([]string{"AAPL"}, 16, 100)
	log.Publish("quote", "AAPL", map[string]any{"symbol": "AAPL", "price": 187.5})
	log.Publish("status", "AAPL", map[string]any{"symbol": "AAPL", "state": "halted", "reason": "moved 5% in 5m"})
	log.Publish("quote", "AAPL", map[string]any{"symbol": "AAPL", "price": 187.51})

	sub := log.Subscribe(feed.Filter{}, "100", feed.SSE)
	msgs, _, _ := sub.Next(nil)
	for _, m := range msgs {
		fmt.Print(string(m))
	}

	ws := log.Subscribe(feed.Filter{}, "101", feed.WS)
	msgs, _, _ = ws.Next(nil)
	fmt.Println(string(msgs[0]))
	// Output:
	// id: 101
	// event: status
	// data: {"reason":"moved 5% in 5m","state":"halted","symbol":"AAPL"}
	//
	// id: 102
	// event: quote
	// data: {"price":187.51,"symbol":"AAPL"}
	//
	// {"event":"quote","id":"102","data":{"price":187.51,"symbol":"AAPL"}}
}
