package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the result for people: what ran where, one column per
// side with each figure's median [min–max] over the runs, a verdict per
// figure, and the notes.
func (r *Result) WriteTable(w io.Writer) error {
	title := "tickertape bench"
	if r.Scenario != "" {
		title += " · scenario " + r.Scenario
	}
	fmt.Fprintf(w, "%s · %s\n", title, r.Date.Format("2006-01-02 15:04 MST"))
	load := fmtNum(float64(r.Clients), 0) + " clients per side"
	if r.Rate > 0 {
		load += " × " + fmtNum(r.Rate, -1) + " quotes/s"
	} else {
		load += " at the server's own rate"
	}
	if r.Symbols != "" {
		load += ", " + r.Symbols + " symbols"
	}
	if r.Query != "" {
		load += ", streams ?" + r.Query
	}
	fmt.Fprintf(w, "load:    %s; ramp %s, warm-up %s, window %s\n", load, secs(r.RampSeconds), secs(r.WarmupSeconds), secs(r.DurationSeconds))
	var order []string
	for _, t := range r.Transports {
		order = append(order, t.Label)
	}
	if r.Runs > 1 {
		fmt.Fprintf(w, "runs:    %d per side, in turns (%s, %s, …); each cell is the median [min–max] of the runs\n",
			r.Runs, strings.Join(order, ", "), order[0])
	} else {
		fmt.Fprintf(w, "runs:    1 per side (no spread: -runs 3 gives a median and a range)\n")
	}
	m := r.Machine
	mach := fmt.Sprintf("%s, %d cores, GOMAXPROCS %d, %s, %s", m.CPU, m.Cores, m.GOMAXPROCS, m.Go, m.OS)
	if m.Kernel != "" {
		mach += " " + m.Kernel
	}
	mach += " (" + m.Arch + ")"
	if m.MemoryBytes > 0 {
		mach += ", " + fmtNum(float64(m.MemoryBytes)/(1<<30), 1) + " GiB"
	}
	fmt.Fprintf(w, "machine: %s\n", mach)
	if m.OtherLoadCores != nil {
		l := fmtNum(*m.OtherLoadCores, 2) + " cores"
		if rg := m.OtherLoadSpread; rg != nil && r.Runs > 1 {
			l += " [" + fmtNum(rg.Min, 2) + "–" + fmtNum(rg.Max, 2) + "]"
		}
		fmt.Fprintf(w, "         other processes used %s of %d during the windows\n", l, m.Cores)
	}
	srv := r.Target
	if r.SharedProcess {
		srv += " (shared process: its CPU and memory include the clients')"
	}
	fmt.Fprintf(w, "server:  %s\n", srv)
	for i, t := range r.Transports {
		lead := "streams: "
		if i > 0 {
			lead = "         "
		}
		fmt.Fprintf(w, "%s%s: %s over %s; %s\n", lead, t.Label, t.URL, t.Protocol, t.Sources.describe())
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprint(tw, "\t")
	for _, t := range r.Transports {
		fmt.Fprint(tw, t.Label+"\t")
	}
	fmt.Fprintln(tw)
	for _, f := range figures {
		fmt.Fprint(tw, f.Label+"\t")
		for i := range r.Transports {
			t := &r.Transports[i]
			s := "n/a"
			if v, ok := f.get(t); ok {
				s = cellOf(f, v, t.Spread[f.Key], r)
			}
			fmt.Fprint(tw, s+"\t")
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range r.Transports {
		if t.FirstError != "" {
			fmt.Fprintf(w, "%s: first client error: %s\n", t.Label, t.FirstError)
		}
	}
	if len(r.Verdicts) > 0 {
		fmt.Fprintf(w, "\nverdicts (\"within noise\" when the runs' min–max ranges overlap):\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, v := range r.Verdicts {
			fmt.Fprintf(tw, "  %s\t%s\n", v.Label, v.Text)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range r.Notes {
			fmt.Fprint(w, wrap(n, "  - ", "    ", 100))
		}
	}
	return nil
}

func (s Sources) describe() string {
	say := func(what, src string) string {
		switch src {
		case "":
			return what + " not known"
		case srcMetrics:
			return what + " from /metrics"
		case srcForcedGC:
			return what + " after a forced GC"
		case srcNextGC:
			return what + " estimated (next_gc)"
		}
		return what + " from " + src
	}
	if s.CPU == s.RSS {
		return say("CPU and RSS", s.CPU) + ", " + say("heap", s.Heap)
	}
	return say("CPU", s.CPU) + ", " + say("RSS", s.RSS) + ", " + say("heap", s.Heap)
}

// countUnits are units a count's label already says.
var countUnits = map[string]bool{"clients": true, "connections": true, "ids": true, "events": true}

// cell formats a figure's value with its unit, and its range after more
// than one run.
func cell(f figure, v float64, rg *Range, runs int) string {
	scale := 1.0
	if f.Unit == "KiB" {
		scale = 1.0 / 1024
	}
	dec := decimals(v * scale)
	if f.agg == aggSum || f.agg == aggMin || f.Key == "connections" {
		dec = 0
	}
	s := fmtNum(v*scale, dec)
	switch {
	case countUnits[f.Unit]:
	case strings.HasPrefix(f.Unit, "/"):
		s += f.Unit
	default:
		s += " " + f.Unit
	}
	if rg != nil && runs > 1 {
		if rg.Min == rg.Max {
			s += " (all runs)"
		} else {
			to := "–"
			if rg.Min < 0 {
				to = " to " // "–" after a minus sign reads as a double minus
			}
			s += " [" + fmtNum(rg.Min*scale, dec) + to + fmtNum(rg.Max*scale, dec) + "]"
		}
	}
	return s
}

func cellOf(f figure, v float64, rg *Range, r *Result) string {
	if f.Key == "clientsHeld" {
		s := fmtNum(v, 0) + "/" + fmtNum(float64(r.Clients), 0)
		if rg != nil && r.Runs > 1 {
			if rg.Min == rg.Max {
				s += " (all runs)"
			} else {
				s += " [" + fmtNum(rg.Min, 0) + "–" + fmtNum(rg.Max, 0) + "]"
			}
		}
		return s
	}
	return cell(f, v, rg, r.Runs)
}

// decimals keeps about three significant digits.
func decimals(v float64) int {
	switch a := math.Abs(v); {
	case a >= 100 || a == 0:
		return 0
	case a >= 10:
		return 1
	default:
		return 2
	}
}

// fmtNum formats x with dec decimals (-1: as few as needed) and a comma
// between thousands: 177,567.5.
func fmtNum(x float64, dec int) string {
	s := strconv.FormatFloat(x, 'f', dec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// fmtPercent formats a difference in percent: "3.6 %", "12 %".
func fmtPercent(p float64) string {
	if p >= 10 {
		return fmtNum(p, 0) + " %"
	}
	return fmtNum(p, 1) + " %"
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).String()
}

// wrap breaks text into lines of at most about width bytes, the first
// starting with first, the others with rest.
func wrap(text, first, rest string, width int) string {
	var b strings.Builder
	prefix, line := first, ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(prefix)+len(line)+1+len(word) > width {
			b.WriteString(prefix + line + "\n")
			prefix, line = rest, ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	b.WriteString(prefix + line + "\n")
	return b.String()
}
