//go:build unix

package bench

import (
	"fmt"
	"syscall"
)

// ensureFiles makes room for need open files in this process: it raises
// the soft RLIMIT_NOFILE (up to the hard limit) when need is above it, or
// says what to run when need is above the hard limit too.
func ensureFiles(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // cannot tell: let the dials say
	}
	n := uint64(need)
	if n <= lim.Cur {
		return nil
	}
	if n > lim.Max {
		return fmt.Errorf("bench: this run holds about %d open files at once, above this process's hard limit of %d "+
			"(ulimit -Hn): raise it as root (ulimit -Hn %d in the shell that runs the bench, or LimitNOFILE= in a "+
			"systemd unit), or use fewer -clients", need, lim.Max, need)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("bench: this run holds about %d open files, above the soft limit; raising it to %d: %w (run ulimit -n %d first)",
			need, lim.Max, err, need)
	}
	return nil
}
