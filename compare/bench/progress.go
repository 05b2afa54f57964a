package bench

import (
	"fmt"
	"io"
	"os"
)

// PrintProgress returns a Progress func that writes one line a second on
// w: rewritten in place (\r) on a terminal, plain lines otherwise.
func PrintProgress(w io.Writer) func(Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return func(p Progress) {
		if p.Transport == "" { // the bench as a whole is done
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			return
		}
		who := "bench " + p.Label
		if p.Runs > 1 {
			who += fmt.Sprintf(" run %d/%d", p.Run, p.Runs)
		}
		var line string
		switch p.Phase {
		case "starting":
			line = fmt.Sprintf("%s: starting the server", who)
		case "connecting", "warming up":
			line = fmt.Sprintf("%s: %s, %s clients connected", who, p.Phase, fmtNum(float64(p.Clients), 0))
		case "running":
			line = fmt.Sprintf("%s: %3.0f%%  window %4.1f s  %s clients  %s events/s", who,
				p.Completion, p.Elapsed, fmtNum(float64(p.Clients), 0), fmtNum(p.EventsPerSec, 0))
		case "done":
			line = fmt.Sprintf("%s: done, %s clients held", who, fmtNum(float64(p.Clients), 0))
		default:
			line = fmt.Sprintf("%s: %s", who, p.Phase)
		}
		if tty {
			fmt.Fprint(w, "\r\033[K"+line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}
