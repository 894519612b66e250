package flv

import "net"

// iovec gathers the buffers of one writev. It lives in its sink and keeps
// its backing array between writes: a net.Buffers on the stack escapes to
// the heap at every WriteTo (a pointer method called through the conn's
// interface), and WriteTo consumes the slice it is given.
type iovec struct {
	bufs [][]byte    // backing array, reused
	w    net.Buffers // the slice WriteTo consumes
}

// reset drops the references to the previous batch (shared tags).
func (v *iovec) reset() {
	clear(v.bufs)
	v.bufs = v.bufs[:0]
}

func (v *iovec) add(b []byte) { v.bufs = append(v.bufs, b) }

// writeTo writes the gathered buffers with one writev (more only if the
// socket takes part of them) and then drops them.
func (v *iovec) writeTo(c net.Conn) error {
	v.w = v.bufs
	_, err := v.w.WriteTo(c)
	v.w = nil
	v.reset()
	return err
}
