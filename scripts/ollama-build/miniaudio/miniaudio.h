/*
 * Minimal stand-in for miniaudio.h, used only to build Ollama v0.24.0 with
 * `go install`: the Go module zip drops llama.cpp's vendor/ headers, and the
 * multimodal helper (tools/mtmd/mtmd-helper.cpp) includes this one for audio
 * decoding. bertbench never sends audio, so every decoder entry point here
 * fails with MA_ERROR and the helper reports "not an audio file".
 */
#ifndef BERTBENCH_MINIAUDIO_STUB_H
#define BERTBENCH_MINIAUDIO_STUB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int ma_result;
typedef unsigned long long ma_uint64;
typedef unsigned int ma_uint32;

#define MA_SUCCESS 0
#define MA_ERROR (-1)

typedef enum { ma_format_unknown = 0, ma_format_f32 = 5 } ma_format;

typedef struct {
    ma_format format;
    ma_uint32 channels;
    ma_uint32 sampleRate;
} ma_decoder_config;

typedef struct {
    int unused;
} ma_decoder;

static inline ma_decoder_config ma_decoder_config_init(ma_format format, ma_uint32 channels, ma_uint32 sampleRate) {
    ma_decoder_config c;
    c.format = format;
    c.channels = channels;
    c.sampleRate = sampleRate;
    return c;
}

static inline ma_result ma_decoder_init_memory(const void *data, size_t size, const ma_decoder_config *config, ma_decoder *decoder) {
    (void)data; (void)size; (void)config;
    if (decoder) decoder->unused = 0;
    return MA_ERROR;
}

static inline ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *decoder, ma_uint64 *length) {
    (void)decoder;
    if (length) *length = 0;
    return MA_ERROR;
}

static inline ma_result ma_decoder_read_pcm_frames(ma_decoder *decoder, void *frames, ma_uint64 count, ma_uint64 *read) {
    (void)decoder; (void)frames; (void)count;
    if (read) *read = 0;
    return MA_ERROR;
}

static inline ma_result ma_decoder_uninit(ma_decoder *decoder) {
    (void)decoder;
    return MA_SUCCESS;
}

#ifdef __cplusplus
}
#endif

#endif /* BERTBENCH_MINIAUDIO_STUB_H */
