package bench

import (
	"fmt"
	"io"
	"os"
	"time"
)

// PrintProgress returns a Progress func that writes one line a second on
// stderr: rewritten in place (\r) on a terminal, plain lines otherwise.
func PrintProgress(w io.Writer, d time.Duration) func(Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return func(p Progress) {
		var line string
		switch p.Phase {
		case "starting":
			line = fmt.Sprintf("bench %s: starting the server", p.Transport)
		case "connecting":
			line = fmt.Sprintf("bench %s: %d clients connected", p.Transport, p.Clients)
		case "running":
			line = fmt.Sprintf("bench %s: %3.0f%%  %4.1fs/%s  %d clients  %.0f events/s", p.Transport,
				p.Completion, p.Elapsed, d, p.Clients, p.EventsPerSec)
		case "done":
			if p.Transport == "" {
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			}
			line = fmt.Sprintf("bench %s: done, %d clients held", p.Transport, p.Clients)
		}
		if tty {
			fmt.Fprint(w, "\r\033[K"+line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}
