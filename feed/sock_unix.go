//go:build unix

package feed

import (
	"syscall"
	"unsafe"
)

// maxIovec bounds one writev (Linux's IOV_MAX is 1024); what does not fit
// is left unwritten, as a full socket leaves it.
const maxIovec = 1024

// rawWrite is one nonblocking write with its result. Its funcs are made
// once, so that a write allocates nothing: a writer goroutine keeps one.
type rawWrite struct {
	p     []byte
	iov   []syscall.Iovec
	n     int
	errno error
	fn    func(fd uintptr) bool // write(2) of p
	fnv   func(fd uintptr) bool // writev(2) of iov
}

func newRawWrite() *rawWrite {
	w := &rawWrite{}
	// Raw system calls, without the scheduler's hand-off of the P: the
	// socket is nonblocking, so the call returns in microseconds (a full
	// socket answers EAGAIN), and entering and leaving a blocking call
	// cost the writer as much as its own work per delivery.
	w.fn = func(fd uintptr) bool {
		for {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(w.p))), uintptr(len(w.p)))
			if e != syscall.EINTR {
				w.n, w.errno = int(n), nil
				if e != 0 {
					w.n, w.errno = -1, e
				}
				return true // never wait for the poller: a full socket is the slow path's
			}
		}
	}
	w.fnv = func(fd uintptr) bool {
		for {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)))
			if e != syscall.EINTR {
				w.n, w.errno = int(n), nil
				if e != 0 {
					w.n, w.errno = -1, e
				}
				return true
			}
		}
	}
	return w
}

// write writes bufs to the socket in one system call, without waiting: a
// full socket takes less, or nothing. Several buffers go in one writev,
// with no copy.
func (w *rawWrite) write(rc syscall.RawConn, bufs [][]byte) (int, error) {
	var err error
	if len(bufs) == 1 {
		w.p = bufs[0]
		err = rc.Write(w.fn)
		w.p = nil
	} else {
		for _, b := range bufs {
			if len(b) == 0 {
				continue
			}
			if len(w.iov) == maxIovec {
				break
			}
			var v syscall.Iovec
			v.Base = &b[0]
			v.SetLen(len(b))
			w.iov = append(w.iov, v)
		}
		if len(w.iov) > 0 {
			err = rc.Write(w.fnv)
		} else {
			w.n, w.errno = 0, nil
		}
		clear(w.iov) // let go of the frames
		w.iov = w.iov[:0]
	}
	switch {
	case err != nil:
		return 0, err
	case w.errno == syscall.EAGAIN:
		return 0, nil
	case w.errno != nil:
		return 0, w.errno
	}
	return w.n, nil
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
