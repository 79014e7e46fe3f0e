/* Compression: one-shot round trips in every format, streams in pieces
 * both ways, and misuse: unknown formats, bad levels, small buffers,
 * corrupt and truncated data, writes after finish, double close. */
#include "check.h"

static const char *FORMATS[] = {"deflate", "zlib", "gzip", "zstd", "lz4"};

/* Text that compresses, with some variety. */
static unsigned char *sample(size_t n) {
    unsigned char *p = malloc(n);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)("abcdefgh accelerator "[(x >> 16) % 21]);
    }
    return p;
}

/* Drains a stream into out (which has room), returning the new length. */
static size_t drain(wd_zstream s, unsigned char *out, size_t len, size_t cap) {
    for (;;) {
        size_t n = 0;
        /* Small reads on purpose: output comes out in pieces too. */
        size_t want = cap - len < 1000 ? cap - len : 1000;
        OK(wd_zstream_read(s, out + len, want, &n));
        if (n == 0)
            return len;
        len += n;
    }
}

int main(void) {
    wd_runtime rt = open_embedded();
    const size_t N = 100000;
    unsigned char *data = sample(N);
    size_t bound = wd_compress_bound(N);
    TRUE(bound > N);
    unsigned char *z = malloc(bound), *back = malloc(N + 1);

    for (int f = 0; f < 5; f++) {
        const char *fmt = FORMATS[f];
        size_t zn = 0, bn = 0;
        /* One-shot, with a size query first. */
        CHECK(wd_compress(rt, fmt, 1, data, N, NULL, 0, &zn), WD_ENOSPC);
        TRUE(zn > 0 && zn < N);
        size_t need = zn;
        CHECK(wd_compress(rt, fmt, 1, data, N, z, need - 1, &zn), WD_ENOSPC);
        TRUE(zn == need);
        OK(wd_compress(rt, fmt, 1, data, N, z, bound, &zn));
        TRUE(zn == need);
        CHECK(wd_decompress(rt, fmt, z, zn, back, 10, &bn), WD_ENOSPC);
        TRUE(bn == N);
        OK(wd_decompress(rt, fmt, z, zn, back, N + 1, &bn));
        TRUE(bn == N && memcmp(back, data, N) == 0);
        /* The default level. */
        OK(wd_compress(rt, fmt, 0, data, N, z, bound, &zn));
        OK(wd_decompress(rt, fmt, z, zn, back, N, &bn));
        TRUE(bn == N && memcmp(back, data, N) == 0);

        /* A compression stream fed in odd pieces, read as it goes, then
         * decompressed in one shot. */
        wd_zstream s = {0};
        OK(wd_zstream_open(rt, fmt, 1, WD_COMPRESS, &s));
        size_t zl = 0;
        for (size_t off = 0; off < N;) {
            size_t piece = off % 3 == 0 ? 7777 : 30001;
            if (piece > N - off)
                piece = N - off;
            OK(wd_zstream_write(s, data + off, piece));
            off += piece;
            zl = drain(s, z, zl, bound);
        }
        OK(wd_zstream_finish(s));
        zl = drain(s, z, zl, bound);
        CHECK(wd_zstream_finish(s), WD_ESTATE);
        CHECK(wd_zstream_write(s, data, 1), WD_ESTATE);
        OK(wd_zstream_close(&s));
        CHECK(wd_zstream_close(&s), WD_EBADHANDLE);
        OK(wd_decompress(rt, fmt, z, zl, back, N, &bn));
        TRUE(bn == N && memcmp(back, data, N) == 0);

        /* A decompression stream fed the compressed bytes in small pieces. */
        OK(wd_zstream_open(rt, fmt, 0, WD_DECOMPRESS, &s));
        size_t bl = 0;
        for (size_t off = 0; off < zl;) {
            size_t piece = zl - off < 4099 ? zl - off : 4099;
            OK(wd_zstream_write(s, z + off, piece));
            off += piece;
            bl = drain(s, back, bl, N + 1);
        }
        OK(wd_zstream_finish(s));
        bl = drain(s, back, bl, N + 1);
        TRUE(bl == N && memcmp(back, data, N) == 0);
        OK(wd_zstream_close(&s));

        /* A truncated stream fails at finish (a decompressor ignores the level). */
        OK(wd_zstream_open(rt, fmt, 99, WD_DECOMPRESS, &s));
        OK(wd_zstream_write(s, z, zl / 2));
        drain(s, back, 0, N + 1);
        CHECK(wd_zstream_finish(s), WD_EDATA);
        OK(wd_zstream_close(&s));
    }

    /* Corrupt input. */
    size_t zn = 0, bn = 0;
    OK(wd_compress(rt, "gzip", 6, data, N, z, bound, &zn));
    z[zn / 2] ^= 0x55;
    z[zn / 2 + 1] ^= 0xAA;
    CHECK(wd_decompress(rt, "gzip", z, zn, back, N, &bn), WD_EDATA);
    CHECK(wd_decompress(rt, "zstd", (const unsigned char *)"not zstd at all", 15, back, N, &bn), WD_EDATA);

    /* Unknown formats, bad levels and directions, NULLs. */
    CHECK(wd_compress(rt, "brotli", 1, data, N, z, bound, &zn), WD_EALG);
    TRUE(strstr(wd_last_error(), "brotli") != NULL);
    CHECK(wd_decompress(rt, "", z, zn, back, N, &bn), WD_EALG);
    CHECK(wd_compress(rt, "gzip", 42, data, N, z, bound, &zn), WD_EINVAL);
    CHECK(wd_compress(rt, "gzip", -1, data, N, z, bound, &zn), WD_EINVAL);
    CHECK(wd_compress(rt, NULL, 1, data, N, z, bound, &zn), WD_EINVAL);
    CHECK(wd_compress(rt, "gzip", 1, NULL, N, z, bound, &zn), WD_EINVAL);
    CHECK(wd_compress(rt, "gzip", 1, data, N, z, bound, NULL), WD_EINVAL);
    CHECK(wd_compress(rt, "gzip", 1, data, N, NULL, bound, &zn), WD_EINVAL);
    wd_zstream s = {0};
    CHECK(wd_zstream_open(rt, "gzip", 1, 7, &s), WD_EINVAL);
    CHECK(wd_zstream_open(rt, "lzma", 1, WD_COMPRESS, &s), WD_EALG);
    CHECK(wd_zstream_open(rt, "gzip", 1, WD_COMPRESS, NULL), WD_EINVAL);
    OK(wd_zstream_open(rt, "gzip", 1, WD_COMPRESS, &s));
    CHECK(wd_zstream_write(s, NULL, 5), WD_EINVAL);
    OK(wd_zstream_write(s, NULL, 0));
    CHECK(wd_zstream_read(s, back, 10, NULL), WD_EINVAL);
    /* Closing unfinished is fine. */
    OK(wd_zstream_close(&s));
    CHECK(wd_zstream_write(s, data, 1), WD_EBADHANDLE);

    /* Empty input round trip. */
    OK(wd_compress(rt, "zlib", 1, data, 0, z, bound, &zn));
    TRUE(zn > 0);
    OK(wd_decompress(rt, "zlib", z, zn, back, N, &bn));
    TRUE(bn == 0);

    OK(wd_runtime_close(&rt));
    /* A closed runtime's handle is refused. */
    CHECK(wd_compress(rt, "gzip", 1, data, N, z, bound, &zn), WD_EBADHANDLE);
    free(data);
    free(z);
    free(back);
    printf("comp: ok\n");
    return 0;
}
