//go:build cgo

package transcode

/*
#cgo pkg-config: libavcodec libavutil
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

typedef struct {
	AVCodecContext *enc;
	AVFrame *frm;
	AVPacket *pkt;
	float *fifo[2];  // planar float stereo at 48 kHz
	int fifo_len;    // samples per channel
	int fifo_cap;
	int64_t next_pts;
} bmg_opus_aac;

static void bmg_oa_free(bmg_opus_aac *t) {
	if (!t) return;
	avcodec_free_context(&t->enc);
	av_frame_free(&t->frm);
	av_packet_free(&t->pkt);
	free(t->fifo[0]);
	free(t->fifo[1]);
	free(t);
}

static int bmg_oa_new(bmg_opus_aac **out, int bitrate) {
	*out = NULL;
	// The aac encoder prints statistics and "frames left in the queue"
	// warnings on every close, once per stream; errors still come through.
	if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
	bmg_opus_aac *t = calloc(1, sizeof(*t));
	if (!t) return AVERROR(ENOMEM);
	const AVCodec *codec = avcodec_find_encoder_by_name("aac");
	if (!codec) { bmg_oa_free(t); return AVERROR_ENCODER_NOT_FOUND; }
	t->enc = avcodec_alloc_context3(codec);
	t->frm = av_frame_alloc();
	t->pkt = av_packet_alloc();
	if (!t->enc || !t->frm || !t->pkt) { bmg_oa_free(t); return AVERROR(ENOMEM); }
	t->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	t->enc->sample_rate = 48000;
	av_channel_layout_default(&t->enc->ch_layout, 2);
	t->enc->bit_rate = bitrate;
	t->enc->time_base = (AVRational){1, 48000};
	// Global header: the AudioSpecificConfig lands in extradata, which is
	// what the FLV sequence header carries.
	t->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	// The default "twoloop" coder costs ~50 ms of CPU per stream-second;
	// "fast" about a fifth of that, at a quality FLV viewers cannot tell
	// from it at 128 kb/s.
	av_opt_set(t->enc->priv_data, "aac_coder", "fast", 0);
	int r = avcodec_open2(t->enc, codec, NULL);
	if (r < 0) { bmg_oa_free(t); return r; }
	t->frm->nb_samples = t->enc->frame_size;
	t->frm->format = AV_SAMPLE_FMT_FLTP;
	t->frm->sample_rate = 48000;
	if ((r = av_channel_layout_copy(&t->frm->ch_layout, &t->enc->ch_layout)) < 0) { bmg_oa_free(t); return r; }
	if ((r = av_frame_get_buffer(t->frm, 0)) < 0) { bmg_oa_free(t); return r; }
	*out = t;
	return 0;
}

// bmg_oa_push appends n interleaved s16 samples per channel (channels 1 or 2).
static int bmg_oa_push(bmg_opus_aac *t, const int16_t *pcm, int n, int channels) {
	if (t->fifo_len + n > t->fifo_cap) {
		int cap = t->fifo_cap ? t->fifo_cap : 4096;
		while (cap < t->fifo_len + n) cap *= 2;
		for (int c = 0; c < 2; c++) {
			float *p = realloc(t->fifo[c], (size_t)cap * sizeof(float));
			if (!p) return AVERROR(ENOMEM);
			t->fifo[c] = p;
		}
		t->fifo_cap = cap;
	}
	for (int i = 0; i < n; i++) {
		float l = pcm[i * channels] / 32768.0f;
		float r = channels > 1 ? pcm[i * channels + 1] / 32768.0f : l;
		t->fifo[0][t->fifo_len + i] = l;
		t->fifo[1][t->fifo_len + i] = r;
	}
	t->fifo_len += n;
	return 0;
}

// bmg_oa_encode returns the next AAC packet's size (copied to out, its pts
// in samples in *pts), 0 when the encoder needs more input, or an error.
static int bmg_oa_encode(bmg_opus_aac *t, uint8_t *out, int cap, int64_t *pts) {
	for (;;) {
		int r = avcodec_receive_packet(t->enc, t->pkt);
		if (r == 0) {
			int n = t->pkt->size;
			if (n > cap) { av_packet_unref(t->pkt); return AVERROR(ENOSPC); }
			memcpy(out, t->pkt->data, n);
			*pts = t->pkt->pts;
			av_packet_unref(t->pkt);
			return n;
		}
		if (r != AVERROR(EAGAIN)) return r;
		int fs = t->enc->frame_size;
		if (t->fifo_len < fs) return 0;
		if ((r = av_frame_make_writable(t->frm)) < 0) return r;
		memcpy(t->frm->data[0], t->fifo[0], (size_t)fs * sizeof(float));
		memcpy(t->frm->data[1], t->fifo[1], (size_t)fs * sizeof(float));
		t->fifo_len -= fs;
		memmove(t->fifo[0], t->fifo[0] + fs, (size_t)t->fifo_len * sizeof(float));
		memmove(t->fifo[1], t->fifo[1] + fs, (size_t)t->fifo_len * sizeof(float));
		t->frm->pts = t->next_pts;
		t->next_pts += fs;
		if ((r = avcodec_send_frame(t->enc, t->frm)) < 0) return r;
	}
}

static int bmg_oa_extradata(bmg_opus_aac *t, uint8_t *out, int cap) {
	if (!t->enc->extradata || t->enc->extradata_size > cap) return 0;
	memcpy(out, t->enc->extradata, t->enc->extradata_size);
	return t->enc->extradata_size;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// maxAACPacket bounds one AAC access unit (6144 bits per channel).
const maxAACPacket = 2 * 768

// opusAACCodec is the Opus -> AAC pipeline: libopus decoder (OpusDecoder)
// to 48 kHz PCM, then libavcodec's native aac encoder. Not safe for
// concurrent use.
type opusAACCodec struct {
	dec *OpusDecoder
	c   *C.bmg_opus_aac
	out [maxAACPacket]byte
}

func newOpusAACCodec(bitrate int) (*opusAACCodec, error) {
	dec, err := NewOpusDecoder(48000, 2)
	if err != nil {
		return nil, err
	}
	var c *C.bmg_opus_aac
	if r := C.bmg_oa_new(&c, C.int(bitrate)); r < 0 {
		dec.Close()
		return nil, fmt.Errorf("open aac encoder: %s: %w", codecError(int(r)), ErrCodec)
	}
	return &opusAACCodec{dec: dec, c: c}, nil
}

// audioSpecificConfig returns the encoder's AudioSpecificConfig.
func (o *opusAACCodec) audioSpecificConfig() []byte {
	var buf [64]byte
	n := C.bmg_oa_extradata(o.c, (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.int(len(buf)))
	return append([]byte(nil), buf[:n]...)
}

// decode decodes one Opus packet into the encoder's fifo; it returns the
// 48 kHz samples added.
func (o *opusAACCodec) decode(pkt []byte) (int, error) {
	pcm, err := o.dec.Decode(pkt)
	if err != nil {
		return 0, err
	}
	n := len(pcm) / 2
	if n == 0 {
		return 0, nil
	}
	if r := C.bmg_oa_push(o.c, (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(n), 2); r < 0 {
		return 0, fmt.Errorf("buffer pcm: %s: %w", codecError(int(r)), ErrCodec)
	}
	return n, nil
}

// encode returns the next AAC access unit (aliasing an internal buffer) and
// its presentation time in 48 kHz samples, or nil when more input is needed.
func (o *opusAACCodec) encode() ([]byte, int64, error) {
	var pts C.int64_t
	r := C.bmg_oa_encode(o.c, (*C.uint8_t)(unsafe.Pointer(&o.out[0])), C.int(len(o.out)), &pts)
	if r < 0 {
		return nil, 0, fmt.Errorf("encode aac: %s: %w", codecError(int(r)), ErrCodec)
	}
	if r == 0 {
		return nil, 0, nil
	}
	return o.out[:r], int64(pts), nil
}

func (o *opusAACCodec) free() {
	if o.c != nil {
		C.bmg_oa_free(o.c)
		o.c = nil
	}
	if o.dec != nil {
		o.dec.Close()
		o.dec = nil
	}
}
