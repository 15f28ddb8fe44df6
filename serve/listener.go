package serve

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// limitListener accepts at most cap(slots) connections at a time. One past
// the bound is answered 503 and closed at once instead of being left to
// wait in the kernel's backlog: http.Server itself serves any number of
// connections, each with its goroutine and buffers, and MaxInFlight bounds
// only attestations, not the connections (idle, slow or on other routes)
// that reach them.
type limitListener struct {
	net.Listener
	slots    chan struct{}
	rejected func() // counts a refused connection
	answer   []byte // the 503 a refused connection gets; nil: none
}

// newLimitListener bounds ln to max connections; a refused one is told to
// retry after retryAfter, in plain HTTP, or, when the connections speak
// TLS (whose client would read the answer as garbage), closed unanswered.
func newLimitListener(ln net.Listener, max int, retryAfter time.Duration, tlsConns bool, rejected func()) *limitListener {
	if tlsConns {
		return &limitListener{Listener: ln, slots: make(chan struct{}, max), rejected: rejected}
	}
	body := fmt.Sprintf(`{"type":"about:blank","title":"overloaded","status":503,"detail":"%d connections open, limit %d; retry later"}`, max, max)
	answer := fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nCache-Control: no-store\r\n"+
		"Retry-After: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", retryAfterSeconds(retryAfter), len(body), body)
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), rejected: rejected, answer: []byte(answer)}
}

// refuseWriteTimeout bounds the write of the 503 to a refused connection:
// a few hundred bytes into a fresh socket's send buffer never wait, unless
// the peer is gone, and the accept loop must not wait on it.
const refuseWriteTimeout = 100 * time.Millisecond

// Accept returns the next connection while a slot is free; the connection
// frees it when closed.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
		}
		l.rejected()
		if l.answer != nil {
			_ = c.SetDeadline(time.Now().Add(refuseWriteTimeout))
			_, _ = c.Write(l.answer)
		}
		_ = c.Close()
	}
}

// limitConn frees its listener slot when closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
