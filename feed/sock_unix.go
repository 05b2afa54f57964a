//go:build unix

package feed

import "syscall"

// writeNonblocking writes p to the socket once, without waiting: a full
// socket takes less, or nothing.
func writeNonblocking(rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var errno error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, errno = syscall.Write(int(fd), p)
			if errno != syscall.EINTR {
				return true // never wait for the poller: a full socket is the slow path's
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, nil
	case errno != nil:
		return 0, errno
	}
	return n, nil
}

// drainNonblocking reads and drops what the socket holds, without waiting.
func drainNonblocking(rc syscall.RawConn) {
	var buf [512]byte
	rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf[:])
			if n <= 0 && err != syscall.EINTR {
				return true // drained (EAGAIN), at its end, or failed: never wait
			}
		}
	})
}

// direct reports whether the writers can write to the socket themselves.
func direct(rc syscall.RawConn) bool { return rc != nil }
