// Package history keeps each symbol's recent OHLCV bars and its last trades
// and serves them, so that a chart opens on the day so far instead of an
// empty right edge, and time and sales on the latest prints.
//
// Use [New] with the symbols of the market, then put [Store.Sink] in front
// of the sink the market source publishes to: every quote that reaches the
// log is folded into bars at each of [Intervals] (1s, 5s, 15s, 1m, 5m), with
// the id the log gave the event. A source that replays its morning before
// going live (market.Backfiller) hands those trades to the same sink, and
// they are folded without an id. A node fed by a broker appends events with
// their ids; the sink passes Append and Restore through and folds the
// quotes it appends. Its morning comes from the broker as the leader's
// trades ([Trade]), maybe after its first events: [Store.Prepend] puts
// their bars before the bars folded since.
//
// [Store.Handler] serves GET /api/history?symbol=S&interval=1m[&limit=N] as
// docs/API.md says: {symbol, interval, id, bars}, oldest first, where id is
// the newest event folded in, so a client merges the live stream by taking
// events with a greater id. Each symbol keeps a bounded number of bars per
// interval (see [Options]); a bar exists only where the symbol traded.
//
// [Store.TradesHandler] serves GET /api/trades?symbol=S[&limit=N]: the
// symbol's last trades ([TradesKept] are kept), oldest first, with the same
// id, morning included; with symbols=A,B (or symbols= for all) it serves
// many symbols' in one answer ([Store.TradesOf]: one id for all), the list
// read by [feed.ParseSymbols] as /events reads it.
package history
