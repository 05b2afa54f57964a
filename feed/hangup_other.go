//go:build !linux

package feed

// Without epoll, a hijacked event stream whose client left is seen at its
// next write.
type hangups struct{}

func (*hangups) start(*pool)    {}
func (*hangups) watch(*hconn)   {}
func (*hangups) unwatch(*hconn) {}
