// Package cow holds the copy-on-write collections the fan-out paths read:
// the members a media frame, an RTP packet or a chat message goes to, read
// on every packet and changed only when a member joins or leaves. A read is
// one atomic pointer load and allocates nothing; a change copies the
// collection under a mutex and publishes the copy, so a snapshot once loaded
// never changes. It imports the standard library only, so media may use it.
package cow
