//go:build cgo

package transcode

/*
#cgo pkg-config: libavcodec libavutil libswresample opus
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
#include <opus/opus.h>

#define BMG_OPUS_FRAME 960

typedef struct {
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frm;
	SwrContext *swr;
	int swr_rate, swr_fmt, swr_channels;
	OpusEncoder *enc;
	int16_t *fifo;   // interleaved stereo s16 at 48 kHz
	int fifo_len;    // samples per channel
	int fifo_cap;
} bmg_aac_opus;

static void bmg_free(bmg_aac_opus *t) {
	if (!t) return;
	avcodec_free_context(&t->dec);
	av_packet_free(&t->pkt);
	av_frame_free(&t->frm);
	swr_free(&t->swr);
	if (t->enc) opus_encoder_destroy(t->enc);
	free(t->fifo);
	free(t);
}

// opus_encoder_ctl is variadic: cgo cannot call it directly.
static int bmg_opus_setup(OpusEncoder *enc, int bitrate, int complexity) {
	int r;
	if ((r = opus_encoder_ctl(enc, OPUS_SET_BITRATE(bitrate))) != OPUS_OK) return r;
	if ((r = opus_encoder_ctl(enc, OPUS_SET_VBR(1))) != OPUS_OK) return r;
	if ((r = opus_encoder_ctl(enc, OPUS_SET_VBR_CONSTRAINT(1))) != OPUS_OK) return r;
	if ((r = opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(complexity))) != OPUS_OK) return r;
	return opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_MUSIC));
}

static int bmg_new(bmg_aac_opus **out, const uint8_t *asc, int asc_len, int bitrate, int complexity) {
	*out = NULL;
	bmg_aac_opus *t = calloc(1, sizeof(*t));
	if (!t) return AVERROR(ENOMEM);
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_AAC);
	if (!codec) { bmg_free(t); return AVERROR_DECODER_NOT_FOUND; }
	t->dec = avcodec_alloc_context3(codec);
	t->pkt = av_packet_alloc();
	t->frm = av_frame_alloc();
	if (!t->dec || !t->pkt || !t->frm) { bmg_free(t); return AVERROR(ENOMEM); }
	t->dec->extradata = av_mallocz(asc_len + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!t->dec->extradata) { bmg_free(t); return AVERROR(ENOMEM); }
	memcpy(t->dec->extradata, asc, asc_len);
	t->dec->extradata_size = asc_len;
	int r = avcodec_open2(t->dec, codec, NULL);
	if (r < 0) { bmg_free(t); return r; }
	int oerr = 0;
	t->enc = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &oerr);
	if (oerr != OPUS_OK || !t->enc) { t->enc = NULL; bmg_free(t); return -1000 + oerr; }
	if ((oerr = bmg_opus_setup(t->enc, bitrate, complexity)) != OPUS_OK) { bmg_free(t); return -1000 + oerr; }
	*out = t;
	return 0;
}

static int bmg_swr_setup(bmg_aac_opus *t, AVFrame *f) {
	if (t->swr && t->swr_rate == f->sample_rate && t->swr_fmt == f->format &&
	    t->swr_channels == f->ch_layout.nb_channels) return 0;
	swr_free(&t->swr);
	AVChannelLayout in = {0};
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
		av_channel_layout_default(&in, f->ch_layout.nb_channels);
	} else if (av_channel_layout_copy(&in, &f->ch_layout) < 0) {
		return AVERROR(ENOMEM);
	}
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	int r = swr_alloc_set_opts2(&t->swr, &stereo, AV_SAMPLE_FMT_S16, 48000,
	                            &in, f->format, f->sample_rate, 0, NULL);
	av_channel_layout_uninit(&in);
	if (r < 0) return r;
	if ((r = swr_init(t->swr)) < 0) { swr_free(&t->swr); return r; }
	t->swr_rate = f->sample_rate;
	t->swr_fmt = f->format;
	t->swr_channels = f->ch_layout.nb_channels;
	return 0;
}

static int bmg_fifo_reserve(bmg_aac_opus *t, int more) {
	if (t->fifo_len + more <= t->fifo_cap) return 0;
	int cap = t->fifo_cap ? t->fifo_cap : 4096;
	while (cap < t->fifo_len + more) cap *= 2;
	int16_t *n = realloc(t->fifo, (size_t)cap * 2 * sizeof(int16_t));
	if (!n) return AVERROR(ENOMEM);
	t->fifo = n;
	t->fifo_cap = cap;
	return 0;
}

// bmg_decode decodes one AAC access unit and appends its samples, resampled
// to 48 kHz stereo s16, to the fifo. It returns the samples (per channel)
// added, or a negative error.
static int bmg_decode(bmg_aac_opus *t, const uint8_t *data, int len) {
	av_packet_unref(t->pkt);
	// av_new_packet adds the zeroed padding the decoder may read past the end.
	int r = av_new_packet(t->pkt, len);
	if (r < 0) return r;
	memcpy(t->pkt->data, data, len);
	r = avcodec_send_packet(t->dec, t->pkt);
	if (r < 0) return r;
	int added = 0;
	for (;;) {
		r = avcodec_receive_frame(t->dec, t->frm);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
		if (r < 0) return r;
		if ((r = bmg_swr_setup(t, t->frm)) < 0) { av_frame_unref(t->frm); return r; }
		int max = swr_get_out_samples(t->swr, t->frm->nb_samples);
		if (max < 0) { av_frame_unref(t->frm); return max; }
		if ((r = bmg_fifo_reserve(t, max)) < 0) { av_frame_unref(t->frm); return r; }
		uint8_t *dst = (uint8_t *)(t->fifo + (size_t)t->fifo_len * 2);
		int n = swr_convert(t->swr, &dst, max, (const uint8_t **)t->frm->extended_data, t->frm->nb_samples);
		av_frame_unref(t->frm);
		if (n < 0) return n;
		t->fifo_len += n;
		added += n;
	}
	return added;
}

// bmg_encode encodes one 20 ms Opus frame from the fifo: bytes written, 0
// when fewer than 20 ms are buffered, or a negative libopus error.
static int bmg_encode(bmg_aac_opus *t, uint8_t *out, int cap) {
	if (t->fifo_len < BMG_OPUS_FRAME) return 0;
	int n = opus_encode(t->enc, t->fifo, BMG_OPUS_FRAME, out, cap);
	t->fifo_len -= BMG_OPUS_FRAME;
	memmove(t->fifo, t->fifo + BMG_OPUS_FRAME * 2, (size_t)t->fifo_len * 2 * sizeof(int16_t));
	return n;
}

static int bmg_fifo_len(bmg_aac_opus *t) { return t->fifo_len; }

static const char *bmg_opus_strerror(int e) { return opus_strerror(e); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// maxOpusPacket is the largest Opus packet libopus may produce.
const maxOpusPacket = 4000

// aacOpusCodec is the C pipeline: AAC decoder, resampler to 48 kHz stereo,
// Opus encoder. Not safe for concurrent use.
type aacOpusCodec struct {
	c   *C.bmg_aac_opus
	out [maxOpusPacket]byte
}

func newAACOpusCodec(asc []byte, bitrate, complexity int) (*aacOpusCodec, error) {
	if len(asc) == 0 {
		return nil, fmt.Errorf("empty audio specific config: %w", ErrCodec)
	}
	var c *C.bmg_aac_opus
	r := C.bmg_new(&c, (*C.uint8_t)(unsafe.Pointer(&asc[0])), C.int(len(asc)), C.int(bitrate), C.int(complexity))
	if r < 0 {
		return nil, fmt.Errorf("open aac decoder / opus encoder: %s: %w", codecError(int(r)), ErrCodec)
	}
	return &aacOpusCodec{c: c}, nil
}

// decode feeds one AAC access unit; it returns the 48 kHz samples added.
func (a *aacOpusCodec) decode(au []byte) (int, error) {
	if len(au) == 0 {
		return 0, nil
	}
	r := C.bmg_decode(a.c, (*C.uint8_t)(unsafe.Pointer(&au[0])), C.int(len(au)))
	if r < 0 {
		return 0, fmt.Errorf("decode aac: %s: %w", codecError(int(r)), ErrCodec)
	}
	return int(r), nil
}

// encode returns the next 20 ms Opus packet (aliasing an internal buffer),
// or nil when less than 20 ms is buffered.
func (a *aacOpusCodec) encode() ([]byte, error) {
	r := C.bmg_encode(a.c, (*C.uint8_t)(unsafe.Pointer(&a.out[0])), C.int(len(a.out)))
	if r < 0 {
		return nil, fmt.Errorf("encode opus: %s: %w", C.GoString(C.bmg_opus_strerror(r)), ErrCodec)
	}
	if r == 0 {
		return nil, nil
	}
	return a.out[:r], nil
}

// buffered returns the samples (per channel, 48 kHz) waiting in the fifo.
func (a *aacOpusCodec) buffered() int { return int(C.bmg_fifo_len(a.c)) }

func (a *aacOpusCodec) free() {
	if a.c != nil {
		C.bmg_free(a.c)
		a.c = nil
	}
}

func codecError(r int) string {
	if r <= -1000 && r > -1100 {
		return C.GoString(C.bmg_opus_strerror(C.int(r + 1000)))
	}
	var buf [128]C.char
	C.av_strerror(C.int(r), &buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}
