// Package icelite is a send-side WebRTC transport of our own for viewers:
// an ICE-lite agent (RFC 8445 section 2.5) answering connectivity checks on
// a shared UDP socket, a DTLS server per viewer (pion/dtls) whose
// connection is ours, and SRTP contexts keyed from that connection's
// ExportKeyingMaterial (RFC 5764 section 4.2), so RTP is encrypted in the
// caller's goroutine and handed to the socket in one call: no interceptor
// chain, SRTP session, mux, ICE conn or candidate pair between the viewer's
// packet and the kernel.
//
// The SFU serves its WHEP viewers with it (issue #19: the fan-out near the
// kernel floor). The Mux owns the ICE sockets; what it does not claim
// (WHIP publishers, relays, data-channel viewers on pion/webrtc) goes on
// through Fallback and ServeTCP. ICE-TCP (RFC 6544, passive) is served
// too, for viewers whose networks block UDP.
//
// The package knows no SDP: the caller puts Peer.LocalICE (ufrag, pwd) and
// the Mux's fingerprint and candidates in its answer, with a=ice-lite and
// a=setup:passive, and gives NewPeer the offer's ice-ufrag, ice-pwd and
// fingerprint.
package icelite
