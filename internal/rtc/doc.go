// Package rtc is the WebRTC plumbing that WHEP playback (sfu) and WHIP
// ingest (ingest/whip) share, so that neither imports the other: the
// node's single ICE port with its batching UDP sockets (Port), the DTLS
// certificate, the codec tables, the remote candidate filter, the RFC 3640
// AAC payload format of relays, the SDP checks and the HTTP signalling
// (Signal: CORS, body limits, 201 answers with Link headers, trickle
// PATCH, DELETE).
package rtc
