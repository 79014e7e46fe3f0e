/* Shared helpers of the C tests of wd-zlib: failure counting that keeps
 * going (one run lists every broken case), deterministic test data, whole
 * stream helpers, and the check that the zlib we run is the one expected.
 * Compiled against the system's zlib.h; linked with -lz and run either as
 * is (the system zlib, which shows the expectations are zlib's own) or
 * with LD_PRELOAD naming wd-zlib's library. */
#ifndef WDZ_COMMON_H
#define WDZ_COMMON_H

#define _GNU_SOURCE 1
#define _LARGEFILE64_SOURCE 1
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int g_failures;
static int g_checks;
static const char *g_case = "?";

#define CHECK(cond)                                                                  \
    do {                                                                             \
        g_checks++;                                                                  \
        if (!(cond)) {                                                               \
            g_failures++;                                                            \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n", g_case, __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* An equality on ints that prints both sides: return codes are the point. */
#define CHECK_EQ(a, b)                                                               \
    do {                                                                             \
        long long va_ = (long long)(a), vb_ = (long long)(b);                        \
        g_checks++;                                                                  \
        if (va_ != vb_) {                                                            \
            g_failures++;                                                            \
            fprintf(stderr, "FAIL %s (%s:%d): %s == %s: %lld != %lld\n", g_case,    \
                    __FILE__, __LINE__, #a, #b, va_, vb_);                           \
        }                                                                            \
    } while (0)

/* A message must be there and be zlib's text. */
#define CHECK_MSG(strm, text)                                                        \
    do {                                                                             \
        const char *m_ = (strm)->msg;                                                \
        g_checks++;                                                                  \
        if (m_ == NULL || strcmp(m_, (text)) != 0) {                                 \
            g_failures++;                                                            \
            fprintf(stderr, "FAIL %s (%s:%d): msg \"%s\", want \"%s\"\n", g_case,    \
                    __FILE__, __LINE__, m_ ? m_ : "(null)", (text));                 \
        }                                                                            \
    } while (0)

/* xorshift64: the same bytes on every machine and every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Text-like data: words from a small vocabulary (compresses about 3:1). */
__attribute__((unused)) static unsigned char *make_text(size_t n, uint64_t seed) {
    static const char *words[] = {"queue ", "device ", "ring ", "the ", "of ", "deflate ", "window ",
                                  "stream ", "block ", "and ", "a ", "descriptor\n", "completion, ",
                                  "zlib ", "buffer ", "to ", "memory. ", "engine "};
    unsigned char *p = malloc(n ? n : 1);
    size_t i = 0;
    rng_state = seed | 1;
    while (i < n) {
        const char *w = words[rng() % (sizeof words / sizeof *words)];
        while (*w && i < n) p[i++] = (unsigned char)*w++;
    }
    return p;
}

/* Binary data: random bytes with runs (compresses a little). */
__attribute__((unused)) static unsigned char *make_binary(size_t n, uint64_t seed) {
    unsigned char *p = malloc(n ? n : 1);
    size_t i = 0;
    rng_state = seed | 1;
    while (i < n) {
        uint64_t r = rng();
        size_t run = (r & 7) == 0 ? (size_t)(r >> 8) % 40 : 1;
        unsigned char b = (unsigned char)(r >> 32);
        while (run-- && i < n) p[i++] = b;
    }
    return p;
}

/* Inflates all of `in` in one go with `wbits` into a fresh buffer of up to
 * `cap` bytes; returns inflate's last code, the length in *outlen. */
__attribute__((unused)) static int inflate_all(int wbits, const unsigned char *in, size_t inlen, unsigned char *out, size_t cap,
                       size_t *outlen) {
    z_stream s;
    memset(&s, 0, sizeof s);
    int rc = inflateInit2(&s, wbits);
    if (rc != Z_OK) return rc;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)inlen;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    rc = inflate(&s, Z_FINISH);
    *outlen = s.total_out;
    inflateEnd(&s);
    return rc;
}

/* Deflates `in` with the given parameters, feeding `chunk` bytes per call
 * with `flush` after each chunk and Z_FINISH at the end, the output in
 * pieces of `outchunk`; returns the length, or 0 on any error. */
__attribute__((unused)) static size_t deflate_all(int level, int wbits, int memlevel, int strategy, const unsigned char *in,
                          size_t inlen, unsigned char *out, size_t cap, size_t chunk, int flush,
                          size_t outchunk) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level, Z_DEFLATED, wbits, memlevel, strategy) != Z_OK) return 0;
    size_t pos = 0;
    s.next_out = out;
    for (;;) {
        size_t n = inlen - pos < chunk ? inlen - pos : chunk;
        int last = pos + n == inlen;
        s.next_in = (Bytef *)in + pos;
        s.avail_in = (uInt)n;
        pos += n;
        int f = last ? Z_FINISH : flush;
        int rc;
        do {
            size_t room = cap - (size_t)(s.next_out - out);
            s.avail_out = (uInt)(room < outchunk ? room : outchunk);
            rc = deflate(&s, f);
            if (rc == Z_STREAM_ERROR || (rc == Z_BUF_ERROR && s.avail_out != 0)) {
                deflateEnd(&s);
                return 0;
            }
            if (s.next_out == out + cap && rc != Z_STREAM_END) {
                deflateEnd(&s);
                return 0;
            }
        } while (s.avail_out == 0 || (f == Z_FINISH && rc != Z_STREAM_END));
        if (last) break;
    }
    size_t len = s.total_out;
    if (deflateEnd(&s) != Z_OK) return 0;
    return len;
}

/* Which file defines `deflate` in this process: the preloaded library or
 * the system's. With EXPECT_LIB set, that file's name must contain it. */
static void check_library(void) {
    Dl_info info;
    const char *where = "(unknown)";
    if (dladdr((void *)(uintptr_t)&deflate, &info) && info.dli_fname) where = info.dli_fname;
    printf("zlib-lib: %s\nzlib-version: %s\n", where, zlibVersion());
    const char *want = getenv("EXPECT_LIB");
    g_case = "library";
    if (want && *want) CHECK(strstr(where, want) != NULL);
}

static int finish(const char *prog) {
    printf("%s: %d checks, %d failed\n", prog, g_checks, g_failures);
    return g_failures ? 1 : 0;
}

#endif
