//go:build cgo

package transcode

// cgoEnabled reports whether the codecs are linked in.
const cgoEnabled = true
