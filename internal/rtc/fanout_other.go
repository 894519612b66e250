//go:build !linux

package rtc

type fanoutSys struct{}

// send writes msgs one packet at a time (no sendmmsg here).
func (f *Fanout) send(conn *BatchConn, msgs []fanMsg) int { return f.sendEach(conn, msgs) }
