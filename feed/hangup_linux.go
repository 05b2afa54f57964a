package feed

import (
	"sync"
	"syscall"
)

// Nobody reads a hijacked event stream's socket, so nobody would see its
// client leave until a write failed: up to two heartbeats for a quiet
// stream, all the while counted against -max-streams. net/http noticed at
// once (it keeps a read pending). Here one goroutine per hub waits in an
// epoll set of its own for the hang-up of every hijacked stream (the
// client's FIN, or a reset) and ends the stream: the cost is two system
// calls per stream, at its start and its end, and nothing while it lives.

// epollET is EPOLLET as the uint32 of an event mask (syscall's constant is
// negative).
const epollET = 1 << 31

// hangups is the pool's watcher of hijacked connections.
type hangups struct {
	epfd  int
	wakeR int // the read end of a pipe in the set: a byte ends the watcher
	wakeW int

	mu    sync.Mutex
	conns map[uint64]*hconn // guarded by mu
	next  uint64            // guarded by mu; token 0 is the pipe
}

// start makes the epoll set and starts its goroutine, which ends when the
// log closes. Without it (no epoll), hang-ups are seen at the next write.
func (h *hangups) start(p *pool) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fds[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return
	}
	h.epfd, h.wakeR, h.wakeW = epfd, fds[0], fds[1]
	h.conns = map[uint64]*hconn{}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		h.run()
	}()
	go func() {
		defer p.wg.Done()
		<-p.hub.log.done
		syscall.Write(h.wakeW, []byte{0})
	}()
}

func (h *hangups) run() {
	defer func() {
		h.mu.Lock()
		h.conns = nil
		h.mu.Unlock()
		syscall.Close(h.epfd)
		syscall.Close(h.wakeR)
		syscall.Close(h.wakeW)
	}()
	events := make([]syscall.EpollEvent, 64)
	for {
		n, err := syscall.EpollWait(h.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if token == 0 {
				return
			}
			h.mu.Lock()
			c := h.conns[token]
			h.mu.Unlock()
			if c != nil {
				c.hangup()
			}
		}
	}
}

// watch adds c's socket to the set. The token, not the descriptor, names
// it: a descriptor is reused once closed.
func (h *hangups) watch(c *hconn) {
	if c.rc == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns == nil {
		return // the watcher has ended; its set is closed
	}
	h.next++
	token := h.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | epollET, Fd: int32(uint32(token)), Pad: int32(uint32(token >> 32))}
	var err error
	c.rc.Control(func(fd uintptr) {
		err = syscall.EpollCtl(h.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		h.conns[token] = c
		c.hupToken = token
	}
}

// unwatch takes c's socket out of the set, before it is closed.
func (h *hangups) unwatch(c *hconn) {
	if c.hupToken == 0 {
		return
	}
	h.mu.Lock()
	if h.conns != nil {
		delete(h.conns, c.hupToken)
		c.rc.Control(func(fd uintptr) {
			syscall.EpollCtl(h.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		})
	}
	h.mu.Unlock()
	c.hupToken = 0
}
