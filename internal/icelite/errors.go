package icelite

import "errors"

var (
	// ErrClosed is returned by a closed Mux or Peer.
	ErrClosed = errors.New("icelite: closed")
	// ErrNotConnected is returned by writes before DTLS is up.
	ErrNotConnected = errors.New("icelite: not connected")
	// ErrBadFingerprint: the viewer's DTLS certificate is not the one its
	// offer named.
	ErrBadFingerprint = errors.New("icelite: certificate does not match the offer's fingerprint")
	// ErrBadOffer: missing or malformed ICE credentials or fingerprint.
	ErrBadOffer = errors.New("icelite: bad ice credentials or fingerprint")
)
