// Package market is tickertape's market: a deterministic simulation of a
// stock market, a player for recorded or real trade files, and the driver
// that paces either against the wall clock.
//
// What to use for what:
//
//   - [Open] turns a [Config] into a [Source]: the simulation ([Sim]) or a
//     file player ([Player]); a field it cannot use is a [ConfigError]
//     naming it. [Source.Symbols] lists the symbols, [Source.Run]
//     publishes [Quote], [Score], [Market] and [Status] events to a [Sink]
//     in order, starting with a complete picture of the market.
//   - [Resumer.Resume] continues a market from a [State], the picture a
//     snapshot shows plus how many events the source had published, instead
//     of starting a new one: a node that takes over a market another node
//     ran (a standby publisher) goes on with the same prices, day, halts
//     and session ([Sim]), or with the file's next event ([Player]).
//   - [Record] wraps a Sink and writes every event as one JSON line; a file
//     so written plays back with Source "file:PATH".
//   - [TS] makes the wire's timestamps.
//
// Inside, the model (sim.go) is a pure stepper: a seed and a simulated
// clock decide every event, so a test runs a 6.5-hour day in milliseconds
// and gets the same bytes twice. Scores (score.go) and market summaries
// (summary.go) are computed by the same code for the simulation and for
// files. The driver (driver.go) is the only place that reads the wall clock
// or sleeps; it runs on the caller's goroutine and starts none. [Sim]
// (source.go) drives the model from the wall clock's time; files come in
// through the player (player.go, reading csv.go's or jsonl.go's format)
// and go out through the recorder (record.go); resume.go continues either
// from a State.
package market
