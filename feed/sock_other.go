//go:build !unix

package feed

import (
	"errors"
	"syscall"
)

// Elsewhere than on unix the writers do not write to sockets themselves:
// every hijacked stream takes the blocking path on a goroutine of its own.

type rawWrite struct{}

func newRawWrite() *rawWrite { return &rawWrite{} }

func (*rawWrite) write(syscall.RawConn, [][]byte) (int, error) {
	return 0, errors.New("feed: no direct writes on this system")
}

func drainNonblocking(syscall.RawConn) {}

func direct(syscall.RawConn) bool { return false }
