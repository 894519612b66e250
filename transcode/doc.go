// Package transcode converts audio between the codecs publishers send and the
// codecs players need, once per stream and never on the ingest goroutine:
// AAC (RTMP/OBS) to Opus for WebRTC viewers, and Opus (WHIP) to AAC for FLV
// viewers. Start picks the direction from the publisher's audio track.
//
// The codecs are libavcodec's AAC decoder and encoder, libswresample and libopus, through
// cgo. A build without cgo keeps the same API; its constructors return
// ErrUnavailable, and WebRTC viewers of AAC sources then get no audio.
package transcode
