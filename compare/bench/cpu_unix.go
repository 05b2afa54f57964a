//go:build unix

package bench

import "syscall"

// selfCPU returns the CPU seconds (user and system) this process has used,
// or -1 where it cannot tell.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
