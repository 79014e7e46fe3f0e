/* The zlib API, function by function, with zlib's return codes and
 * messages as expected values. Every check holds with the system zlib
 * (run it without LD_PRELOAD to see); under LD_PRELOAD it checks wd-zlib.
 * Usage: api [CASE-SUBSTRING]; exit status 1 when any check failed. */
#include "common.h"

#define BIG (256 * 1024)

static int want(const char *filter, const char *name) {
    if (filter && !strstr(name, filter)) return 0;
    g_case = name;
    return 1;
}

/* ---- checksums and small utilities ---- */
static void t_checksums(void) {
    const unsigned char *c = (const unsigned char *)"123456789";
    CHECK_EQ(crc32(0, NULL, 0), 0);
    CHECK_EQ(adler32(0, NULL, 0), 1);
    CHECK_EQ(crc32(0, c, 9), 0xCBF43926ul);
    CHECK_EQ(crc32_z(0, c, 9), 0xCBF43926ul);
    CHECK_EQ(adler32(1, (const Bytef *)"Wikipedia", 9), 0x11E60398ul);
    CHECK_EQ(adler32_z(1, (const Bytef *)"Wikipedia", 9), 0x11E60398ul);
    unsigned char *d = make_binary(100000, 5);
    uLong ca = crc32(0, d, 30000), cb = crc32(0, d + 30000, 70000), call = crc32(0, d, 100000);
    uLong aa = adler32(1, d, 30000), ab = adler32(1, d + 30000, 70000), aall = adler32(1, d, 100000);
    CHECK_EQ(crc32_combine(ca, cb, 70000), call);
    CHECK_EQ(crc32_combine64(ca, cb, 70000), call);
    CHECK_EQ(crc32_combine_op(ca, cb, crc32_combine_gen(70000)), call);
    CHECK_EQ(crc32_combine_op(ca, cb, crc32_combine_gen64(70000)), call);
    CHECK_EQ(adler32_combine(aa, ab, 70000), aall);
    CHECK_EQ(adler32_combine64(aa, ab, 70000), aall);
    /* Incremental equals one-shot. */
    uLong inc = crc32(crc32(0, d, 1), d + 1, 99999);
    CHECK_EQ(inc, call);
    const z_crc_t *t = get_crc_table();
    CHECK(t != NULL);
    if (t) CHECK_EQ(t[1], 0x77073096ul);
    free(d);
}

static void t_misc(void) {
    CHECK(zlibVersion() != NULL && zlibVersion()[0] == '1');
    /* Sizes of uInt, uLong, voidpf, z_off_t: 32, 64, 64, 64 bits. */
    CHECK_EQ(zlibCompileFlags() & 0xff, 0xA9);
    CHECK(strcmp(zError(Z_DATA_ERROR), "data error") == 0);
    CHECK(strcmp(zError(Z_BUF_ERROR), "buffer error") == 0);
    CHECK(strcmp(zError(Z_STREAM_ERROR), "stream error") == 0);
    CHECK(strcmp(zError(Z_MEM_ERROR), "insufficient memory") == 0);
    CHECK(strcmp(zError(Z_VERSION_ERROR), "incompatible version") == 0);
    CHECK(strcmp(zError(Z_NEED_DICT), "need dictionary") == 0);
    CHECK(strcmp(zError(Z_STREAM_END), "stream end") == 0);
    CHECK(strcmp(zError(Z_OK), "") == 0);
    CHECK_EQ(compressBound(0), 13);
    /* zlib's formula: n + n/4096 + n/16384 + n/2^25 + 13. */
    CHECK_EQ(compressBound(100000), 100000 + 24 + 6 + 0 + 13);
}

/* ---- utility functions ---- */
static void t_compress_uncompress(void) {
    size_t n = 100000;
    unsigned char *src = make_text(n, 1);
    uLongf cap = compressBound(n);
    unsigned char *z = malloc(cap), *back = malloc(n + 10);
    for (int level = -1; level <= 9; level++) {
        uLongf zl = cap;
        CHECK_EQ(compress2(z, &zl, src, n, level), Z_OK);
        CHECK(zl <= cap);
        CHECK_EQ(z[0] & 0x0f, 8); /* zlib header: deflate */
        CHECK_EQ(((z[0] << 8) | z[1]) % 31, 0);
        uLongf bl = n + 10;
        CHECK_EQ(uncompress(back, &bl, z, zl), Z_OK);
        CHECK_EQ(bl, n);
        CHECK(memcmp(back, src, n) == 0);
        /* uncompress2 says how much it consumed, trailing bytes ignored. */
        memcpy(z + zl, "JUNK", 4);
        uLong sl = zl + 4;
        bl = n + 10;
        CHECK_EQ(uncompress2(back, &bl, z, &sl), Z_OK);
        CHECK_EQ(sl, zl);
        CHECK_EQ(bl, n);
        if (level == 0) CHECK(zl >= n); /* stored */
        if (level == 6) {
            /* Dest too small: Z_BUF_ERROR with as much as fitted. */
            bl = n / 2;
            CHECK_EQ(uncompress(back, &bl, z, zl), Z_BUF_ERROR);
            /* Truncated input: Z_DATA_ERROR (incomplete). */
            bl = n + 10;
            CHECK_EQ(uncompress(back, &bl, z, zl - 5), Z_DATA_ERROR);
            /* Corrupt check value: Z_DATA_ERROR. */
            z[zl - 1] ^= 0x55;
            bl = n + 10;
            CHECK_EQ(uncompress(back, &bl, z, zl), Z_DATA_ERROR);
            z[zl - 1] ^= 0x55;
            /* Output buffer too small for compress2. */
            uLongf small = 20;
            CHECK_EQ(compress2(z, &small, src, n, level), Z_BUF_ERROR);
        }
    }
    uLongf zl = cap;
    CHECK_EQ(compress(z, &zl, src, n), Z_OK);
    uLongf bl = n;
    CHECK_EQ(uncompress(back, &bl, z, zl), Z_OK);
    CHECK(bl == n && memcmp(back, src, n) == 0);
    zl = cap;
    CHECK_EQ(compress2(z, &zl, src, n, 10), Z_STREAM_ERROR);
    /* Empty input: a valid 8-byte stream (header, empty block, adler). */
    zl = cap;
    CHECK_EQ(compress2(z, &zl, src, 0, 6), Z_OK);
    bl = 10;
    CHECK_EQ(uncompress(back, &bl, z, zl), Z_OK);
    CHECK_EQ(bl, 0);
    /* Empty input to uncompress: nothing to read is an error. */
    bl = 10;
    CHECK_EQ(uncompress(back, &bl, z, 0), Z_DATA_ERROR);
    free(src);
    free(z);
    free(back);
}

/* ---- every windowBits form, both directions ---- */
static void t_window_bits(void) {
    size_t n = 50000;
    unsigned char *src = make_text(n, 2);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n);
    for (int bits = 9; bits <= 15; bits++) {
        int forms[3] = {-bits, bits, bits + 16};
        for (int f = 0; f < 3; f++) {
            size_t zl = deflate_all(6, forms[f], 8, Z_DEFAULT_STRATEGY, src, n, z, cap, n, Z_NO_FLUSH, cap);
            CHECK(zl > 0);
            size_t bl = 0;
            CHECK_EQ(inflate_all(forms[f], z, zl, back, n, &bl), Z_STREAM_END);
            CHECK(bl == n && memcmp(back, src, n) == 0);
            if (f == 1) {
                /* zlib header CINFO names the window. */
                CHECK_EQ(z[0] >> 4, bits - 8);
                /* 0: take the window from the header. */
                CHECK_EQ(inflate_all(0, z, zl, back, n, &bl), Z_STREAM_END);
                /* A smaller window than the stream's is refused. */
                if (bits > 9) {
                    CHECK_EQ(inflate_all(bits - 1, z, zl, back, n, &bl), Z_DATA_ERROR);
                }
            }
            if (f == 2) CHECK(z[0] == 0x1f && z[1] == 0x8b);
            if (f >= 1) {
                /* Auto-detect (32 + bits) takes zlib and gzip, not raw. */
                CHECK_EQ(inflate_all(32 + 15, z, zl, back, n, &bl), Z_STREAM_END);
                CHECK(bl == n && memcmp(back, src, n) == 0);
                CHECK_EQ(inflate_all(32 + bits, z, zl, back, n, &bl), Z_STREAM_END);
            }
            /* The wrong wrapper fails. */
            if (f == 0) CHECK_EQ(inflate_all(15, z, zl, back, n, &bl) == Z_STREAM_END, 0);
        }
    }
    /* windowBits 8 for a zlib stream means 9 (and inflate accepts 8). */
    size_t zl = deflate_all(6, 8, 8, Z_DEFAULT_STRATEGY, src, n, z, cap, n, Z_NO_FLUSH, cap);
    CHECK(zl > 0);
    size_t bl;
    CHECK_EQ(inflate_all(15, z, zl, back, n, &bl), Z_STREAM_END);
    /* Raw and gzip with 8 are refused by deflate. */
    z_stream s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, -8, 8, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, 24, 8, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, 7, 8, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, 16, 8, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, -16, 8, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, 15, 0, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, 15, 10, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, 7, 15, 8, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, 15, 8, 5), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2(&s, 6, Z_DEFLATED, 15, 8, -1), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit2(&s, 7), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit2(&s, 16 + 7), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit2(&s, -16), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit2(&s, -7), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit2(&s, 48), Z_STREAM_ERROR);
    free(src);
    free(z);
    free(back);
}

/* ---- levels, strategies, memLevels ---- */
static void t_levels_strategies(void) {
    size_t n = 80000;
    unsigned char *srcs[2] = {make_text(n, 3), make_binary(n, 4)};
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n);
    int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    for (int k = 0; k < 2; k++)
        for (int level = 0; level <= 9; level++)
            for (int st = 0; st < 5; st++)
                for (int ml = 1; ml <= 9; ml += 4) {
                    size_t zl = deflate_all(level, 15, ml, strategies[st], srcs[k], n, z, cap, n, Z_NO_FLUSH, cap);
                    CHECK(zl > 0);
                    size_t bl;
                    CHECK_EQ(inflate_all(15, z, zl, back, n, &bl), Z_STREAM_END);
                    CHECK(bl == n && memcmp(back, srcs[k], n) == 0);
                    /* deflateBound bounds every setting. */
                    z_stream s;
                    memset(&s, 0, sizeof s);
                    deflateInit2(&s, level, Z_DEFLATED, 15, ml, strategies[st]);
                    CHECK(deflateBound(&s, n) >= zl);
                    deflateEnd(&s);
                }
    /* Text at level 1 and 9: 9 is no larger. */
    size_t z1 = deflate_all(1, 15, 8, 0, srcs[0], n, z, cap, n, Z_NO_FLUSH, cap);
    size_t z9 = deflate_all(9, 15, 8, 0, srcs[0], n, z, cap, n, Z_NO_FLUSH, cap);
    CHECK(z9 <= z1);
    CHECK(z1 < n / 2);
    free(srcs[0]);
    free(srcs[1]);
    free(z);
    free(back);
}

/* ---- deflate flush modes: what each promises about the output so far ---- */
static void t_deflate_flush_modes(void) {
    size_t n = 60000, chunk = 7000;
    unsigned char *src = make_text(n, 6);
    size_t cap = compressBound(n) + 4096;
    unsigned char *z = malloc(cap), *back = malloc(n + 16);
    int modes[] = {Z_NO_FLUSH, Z_PARTIAL_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_BLOCK};
    for (int m = 0; m < 5; m++) {
        for (int level = 0; level <= 9; level += 3) {
            z_stream d, i;
            memset(&d, 0, sizeof d);
            memset(&i, 0, sizeof i);
            CHECK_EQ(deflateInit2(&d, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
            CHECK_EQ(inflateInit2(&i, -15), Z_OK);
            d.next_out = z;
            i.next_out = back;
            size_t pos = 0;
            while (pos < n) {
                size_t k = n - pos < chunk ? n - pos : chunk;
                d.next_in = src + pos;
                d.avail_in = (uInt)k;
                pos += k;
                int f = pos == n ? Z_FINISH : modes[m];
                d.avail_out = (uInt)(cap - (size_t)(d.next_out - z));
                int rc = deflate(&d, f);
                CHECK_EQ(rc, f == Z_FINISH ? Z_STREAM_END : Z_OK);
                CHECK_EQ(d.avail_in, 0);
                if (f == Z_SYNC_FLUSH || f == Z_FULL_FLUSH) {
                    /* Byte aligned, ends with the empty stored block. */
                    CHECK(d.next_out - z >= 4 && memcmp(d.next_out - 4, "\0\0\xff\xff", 4) == 0);
                    unsigned pend = 99;
                    int bits = 99;
                    CHECK_EQ(deflatePending(&d, &pend, &bits), Z_OK);
                    CHECK(pend == 0 && bits == 0);
                }
                if (f == Z_BLOCK) {
                    unsigned pend = 99;
                    int bits = 99;
                    CHECK_EQ(deflatePending(&d, &pend, &bits), Z_OK);
                    CHECK(pend == 0 && bits >= 0 && bits < 8);
                }
                /* Everything consumed so far is decodable from the output so
                 * far for the partial, sync and full flushes. */
                i.next_in = z + i.total_in;
                i.avail_in = (uInt)((size_t)(d.next_out - z) - i.total_in);
                i.avail_out = (uInt)(n + 16 - i.total_out);
                int irc = inflate(&i, Z_SYNC_FLUSH);
                if (f == Z_FINISH) {
                    CHECK_EQ(irc, Z_STREAM_END);
                } else {
                    CHECK(irc == Z_OK || irc == Z_BUF_ERROR);
                }
                if (f == Z_PARTIAL_FLUSH || f == Z_SYNC_FLUSH || f == Z_FULL_FLUSH || f == Z_FINISH) {
                    CHECK_EQ(i.total_out, pos);
                }
            }
            CHECK_EQ(i.total_out, n);
            CHECK(memcmp(back, src, n) == 0);
            CHECK_EQ(deflateEnd(&d), Z_OK);
            CHECK_EQ(inflateEnd(&i), Z_OK);
        }
    }
    /* A flush with no new input and no pending output: Z_BUF_ERROR the
     * second time (no progress possible). */
    z_stream d;
    memset(&d, 0, sizeof d);
    CHECK_EQ(deflateInit(&d, 6), Z_OK);
    d.next_in = src;
    d.avail_in = 1000;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_SYNC_FLUSH), Z_OK);
    CHECK_EQ(deflate(&d, Z_SYNC_FLUSH), Z_BUF_ERROR);
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    /* After Z_STREAM_END, more Z_FINISH keeps saying so. */
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    /* New input after finishing: Z_BUF_ERROR with Z_FINISH, and any other
     * flush after Z_FINISH is a stream error. */
    d.avail_in = 10;
    d.next_in = src;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_BUF_ERROR);
    CHECK_EQ(deflate(&d, Z_NO_FLUSH), Z_STREAM_ERROR);
    /* Invalid flush value. */
    CHECK_EQ(deflate(&d, 7), Z_STREAM_ERROR);
    CHECK_EQ(deflate(&d, -1), Z_STREAM_ERROR);
    CHECK_EQ(deflateEnd(&d), Z_OK);
    free(src);
    free(z);
    free(back);
}

/* ---- the whole-input path: first call Z_FINISH, any output room ---- */
static void t_finish_first_call(void) {
    size_t sizes[] = {0, 1, 100, 1000, 5000, 70000, BIG};
    size_t cap = compressBound(BIG) + 64;
    unsigned char *z = malloc(cap), *back = malloc(BIG);
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        unsigned char *src = (si & 1) ? make_binary(n, 7 + si) : make_text(n, 7 + si);
        for (int level = 0; level <= 9; level++) {
            int wb[3] = {-15, 15, 31};
            for (int w = 0; w < 3; w++) {
                /* Ample room: one call, Z_STREAM_END. */
                z_stream d;
                memset(&d, 0, sizeof d);
                CHECK_EQ(deflateInit2(&d, level, Z_DEFLATED, wb[w], 8, Z_DEFAULT_STRATEGY), Z_OK);
                d.next_in = src;
                d.avail_in = (uInt)n;
                d.next_out = z;
                d.avail_out = (uInt)deflateBound(&d, n);
                CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
                CHECK_EQ(d.total_in, n);
                CHECK_EQ(d.avail_in, 0);
                size_t zl = d.total_out;
                CHECK_EQ((size_t)(d.next_out - z), zl);
                if (w == 1) CHECK_EQ(d.adler, adler32(1, src, (uInt)n));
                if (w == 2) CHECK_EQ(d.adler, crc32(0, src, (uInt)n));
                CHECK_EQ(deflateEnd(&d), Z_OK);
                size_t bl;
                CHECK_EQ(inflate_all(wb[w], z, zl, back, BIG, &bl), Z_STREAM_END);
                CHECK(bl == n && memcmp(back, src, n) == 0);
                /* Little room: Z_FINISH first with 64 bytes out per call;
                 * Z_OK until the end, then Z_STREAM_END; same bytes out. */
                if (level % 3 == 0) {
                    size_t zl2 = deflate_all(level, wb[w], 8, 0, src, n, z, cap, n, Z_NO_FLUSH, 64);
                    CHECK(zl2 > 0);
                    CHECK_EQ(inflate_all(wb[w], z, zl2, back, BIG, &bl), Z_STREAM_END);
                    CHECK(bl == n && memcmp(back, src, n) == 0);
                    /* Zero room on the first call: Z_BUF_ERROR, nothing consumed. */
                    memset(&d, 0, sizeof d);
                    CHECK_EQ(deflateInit2(&d, level, Z_DEFLATED, wb[w], 8, 0), Z_OK);
                    d.next_in = src;
                    d.avail_in = (uInt)n;
                    d.next_out = z;
                    d.avail_out = 0;
                    CHECK_EQ(deflate(&d, Z_FINISH), Z_BUF_ERROR);
                    CHECK_MSG(&d, "buffer error");
                    CHECK_EQ(d.total_in, 0);
                    deflateEnd(&d);
                }
            }
        }
        free(src);
    }
    /* Z_FINISH on the first inflate call with enough room: one call. */
    size_t n = BIG;
    unsigned char *src = make_text(n, 77);
    uLongf zl = cap;
    compress2(z, &zl, src, n, 6);
    z_stream i;
    memset(&i, 0, sizeof i);
    CHECK_EQ(inflateInit(&i), Z_OK);
    i.next_in = z;
    i.avail_in = (uInt)zl;
    i.next_out = back;
    i.avail_out = (uInt)n;
    CHECK_EQ(inflate(&i, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(i.total_out, n);
    CHECK_EQ(i.adler, adler32(1, src, (uInt)n));
    inflateEnd(&i);
    /* Z_FINISH with too little room: Z_BUF_ERROR, and the stream goes on
     * with more room (inflate keeps its state). */
    memset(&i, 0, sizeof i);
    CHECK_EQ(inflateInit(&i), Z_OK);
    i.next_in = z;
    i.avail_in = (uInt)zl;
    i.next_out = back;
    i.avail_out = 1000;
    CHECK_EQ(inflate(&i, Z_FINISH), Z_BUF_ERROR);
    CHECK_EQ(i.total_out, 1000);
    i.avail_out = (uInt)(n - 1000);
    CHECK_EQ(inflate(&i, Z_FINISH), Z_STREAM_END);
    CHECK(i.total_out == n && memcmp(back, src, n) == 0);
    inflateEnd(&i);
    free(src);
    free(z);
    free(back);
}

/* ---- inflate flush modes: Z_BLOCK and Z_TREES stop at block edges ---- */
static void t_inflate_flush_modes(void) {
    size_t n = 40000;
    unsigned char *src = make_text(n, 8);
    size_t cap = compressBound(n) + 4096;
    unsigned char *z = malloc(cap), *back = malloc(n);
    /* Four blocks at least: Z_FULL_FLUSH after each quarter. */
    size_t zl = deflate_all(6, 15, 8, 0, src, n, z, cap, n / 4, Z_FULL_FLUSH, cap);
    CHECK(zl > 0);
    int fl[] = {Z_NO_FLUSH, Z_PARTIAL_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_FINISH, Z_BLOCK, Z_TREES};
    for (int f = 0; f < 7; f++) {
        z_stream i;
        memset(&i, 0, sizeof i);
        CHECK_EQ(inflateInit(&i), Z_OK);
        i.next_in = z;
        i.next_out = back;
        i.avail_out = (uInt)n;
        int rc = Z_OK, calls = 0, edges = 0, headers = 0;
        /* Input a byte at a time for Z_BLOCK/Z_TREES, whole otherwise. */
        while (rc == Z_OK && calls < 1000000) {
            if (i.avail_in == 0 && i.total_in < zl) i.avail_in = fl[f] >= Z_BLOCK ? 1 : (uInt)(zl - i.total_in);
            rc = inflate(&i, fl[f]);
            calls++;
            if (rc == Z_BUF_ERROR && i.total_in < zl) rc = Z_OK; /* needed more input */
            if (fl[f] >= Z_BLOCK && rc == Z_OK) {
                if (i.data_type & 128) edges++;
                if (i.data_type & 256) headers++;
                CHECK((i.data_type & 7) < 8);
            }
        }
        CHECK_EQ(rc, Z_STREAM_END);
        CHECK(i.total_out == n && memcmp(back, src, n) == 0);
        if (fl[f] == Z_BLOCK || fl[f] == Z_TREES) CHECK(edges >= 4);
        if (fl[f] == Z_TREES) CHECK(headers >= 4);
        if (fl[f] == Z_BLOCK) CHECK_EQ(headers, 0);
        CHECK_EQ(inflateEnd(&i), Z_OK);
    }
    /* Z_BLOCK with all the input: the first return is after the zlib
     * header, before the first block (data_type 128, not last block). */
    z_stream i;
    memset(&i, 0, sizeof i);
    CHECK_EQ(inflateInit(&i), Z_OK);
    i.next_in = z;
    i.avail_in = (uInt)zl;
    i.next_out = back;
    i.avail_out = (uInt)n;
    CHECK_EQ(inflate(&i, Z_BLOCK), Z_OK);
    CHECK_EQ(i.total_in, 2);
    CHECK_EQ(i.total_out, 0);
    CHECK_EQ(i.data_type, 128);
    inflateEnd(&i);
    free(src);
    free(z);
    free(back);
}

/* ---- dictionaries ---- */
static void t_dictionary(void) {
    size_t n = 20000;
    unsigned char *src = make_text(n, 9);
    unsigned char *dict = make_text(4000, 9); /* same words: a useful dictionary */
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n), got[40000];
    uInt gotlen;
    int wb[3] = {-15, 15, 31};
    for (int w = 0; w < 3; w++) {
        z_stream d;
        memset(&d, 0, sizeof d);
        CHECK_EQ(deflateInit2(&d, 9, Z_DEFLATED, wb[w], 8, 0), Z_OK);
        int rc = deflateSetDictionary(&d, dict, 4000);
        if (w == 2) {
            /* gzip streams take no dictionary. */
            CHECK_EQ(rc, Z_STREAM_ERROR);
            deflateEnd(&d);
            continue;
        }
        CHECK_EQ(rc, Z_OK);
        if (w == 1) CHECK_EQ(d.adler, adler32(1, dict, 4000));
        gotlen = 0;
        CHECK_EQ(deflateGetDictionary(&d, got, &gotlen), Z_OK);
        CHECK(gotlen == 4000 && memcmp(got, dict, 4000) == 0);
        CHECK_EQ(deflateGetDictionary(&d, NULL, &gotlen), Z_OK);
        CHECK_EQ(gotlen, 4000);
        d.next_in = src;
        d.avail_in = (uInt)n;
        d.next_out = z;
        d.avail_out = (uInt)cap;
        CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
        size_t zl = d.total_out;
        deflateEnd(&d);
        if (w == 1) {
            /* A zlib stream takes its dictionary before any data only. */
            z_stream e;
            memset(&e, 0, sizeof e);
            deflateInit(&e, 6);
            e.next_in = src;
            e.avail_in = 1000;
            e.next_out = back;
            e.avail_out = (uInt)n;
            CHECK_EQ(deflate(&e, Z_NO_FLUSH), Z_OK);
            CHECK_EQ(deflateSetDictionary(&e, dict, 10), Z_STREAM_ERROR);
            deflateEnd(&e);
        }
        size_t plain = deflate_all(9, wb[w], 8, 0, src, n, back, n, n, Z_NO_FLUSH, n);
        CHECK(zl < plain); /* the dictionary helped */
        if (w == 1) CHECK(z[1] & 0x20); /* FDICT */

        z_stream i;
        memset(&i, 0, sizeof i);
        CHECK_EQ(inflateInit2(&i, wb[w]), Z_OK);
        i.next_in = z;
        i.avail_in = (uInt)zl;
        i.next_out = back;
        i.avail_out = (uInt)n;
        if (w == 1) {
            CHECK_EQ(inflate(&i, Z_NO_FLUSH), Z_NEED_DICT);
            CHECK_EQ(i.adler, adler32(1, dict, 4000));
            /* The wrong dictionary: Z_DATA_ERROR, state kept. */
            CHECK_EQ(inflateSetDictionary(&i, dict, 3999), Z_DATA_ERROR);
        } else {
            /* Raw inflate with the output needing a dictionary fails. */
            z_stream j;
            memset(&j, 0, sizeof j);
            inflateInit2(&j, -15);
            j.next_in = z;
            j.avail_in = (uInt)zl;
            j.next_out = back;
            j.avail_out = (uInt)n;
            CHECK_EQ(inflate(&j, Z_FINISH), Z_DATA_ERROR);
            CHECK_MSG(&j, "invalid distance too far back");
            inflateEnd(&j);
        }
        CHECK_EQ(inflateSetDictionary(&i, dict, 4000), Z_OK);
        /* Half the output, then inflateGetDictionary mid-stream: the
         * dictionary and the output so far (under 32 KiB here). */
        i.avail_out = (uInt)(n / 2);
        CHECK_EQ(inflate(&i, Z_NO_FLUSH), Z_OK);
        CHECK_EQ(i.total_out, n / 2);
        static unsigned char win[32768];
        CHECK_EQ(inflateGetDictionary(&i, win, &gotlen), Z_OK);
        CHECK_EQ(gotlen, 4000 + n / 2);
        CHECK(memcmp(win, dict, 4000) == 0 && memcmp(win + 4000, src, n / 2) == 0);
        CHECK_EQ(inflateGetDictionary(&i, NULL, &gotlen), Z_OK);
        CHECK_EQ(gotlen, 4000 + n / 2);
        i.avail_out = (uInt)(n - n / 2);
        CHECK_EQ(inflate(&i, Z_FINISH), Z_STREAM_END);
        CHECK(i.total_out == n && memcmp(back, src, n) == 0);
        inflateEnd(&i);
    }
    /* Z_NEED_DICT from uncompress becomes Z_DATA_ERROR. */
    z_stream d;
    memset(&d, 0, sizeof d);
    deflateInit(&d, 6);
    deflateSetDictionary(&d, dict, 100);
    d.next_in = src;
    d.avail_in = 1000;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    uLongf bl = n;
    CHECK_EQ(uncompress(back, &bl, z, d.total_out), Z_DATA_ERROR);
    deflateEnd(&d);
    free(src);
    free(dict);
    free(z);
    free(back);
}

/* ---- deflateParams mid-stream, deflateTune, deflateCopy, deflateReset ---- */
static void t_deflate_params(void) {
    size_t n = 200000;
    unsigned char *src = make_text(n, 10);
    unsigned char *bin = make_binary(50000, 11);
    memcpy(src + 100000, bin, 50000);
    free(bin);
    size_t cap = compressBound(n) + 4096;
    unsigned char *z = malloc(cap), *back = malloc(n);
    int seq[][2] = {{1, Z_DEFAULT_STRATEGY}, {9, Z_FILTERED}, {0, Z_DEFAULT_STRATEGY}, {4, Z_HUFFMAN_ONLY},
                    {6, Z_RLE},              {2, Z_FIXED},    {9, Z_DEFAULT_STRATEGY}, {3, Z_DEFAULT_STRATEGY}};
    int nseq = 8;
    for (int outroom = 0; outroom < 2; outroom++) {
        z_stream d;
        memset(&d, 0, sizeof d);
        CHECK_EQ(deflateInit(&d, 6), Z_OK);
        d.next_out = z;
        size_t part = n / nseq;
        for (int k = 0; k < nseq; k++) {
            /* Little output room when switching: deflateParams must flush
             * and may return Z_BUF_ERROR; calling again finishes it. */
            d.avail_out = outroom ? 16 : (uInt)(cap - d.total_out);
            int rc = deflateParams(&d, seq[k][0], seq[k][1]);
            int tries = 0;
            while (rc == Z_BUF_ERROR && tries++ < 100000) {
                d.avail_out = 16;
                rc = deflateParams(&d, seq[k][0], seq[k][1]);
            }
            CHECK_EQ(rc, Z_OK);
            d.next_in = src + k * part;
            d.avail_in = (uInt)(k == nseq - 1 ? n - k * part : part);
            do {
                d.avail_out = (uInt)(cap - d.total_out);
                rc = deflate(&d, k == nseq - 1 ? Z_FINISH : Z_NO_FLUSH);
            } while (rc == Z_OK && d.avail_in);
        }
        CHECK_EQ(deflateParams(&d, 10, 0), Z_STREAM_ERROR);
        CHECK_EQ(deflateParams(&d, 5, 9), Z_STREAM_ERROR);
        size_t zl = d.total_out, bl;
        CHECK_EQ(deflateEnd(&d), Z_OK);
        CHECK_EQ(inflate_all(15, z, zl, back, n, &bl), Z_STREAM_END);
        CHECK(bl == n && memcmp(back, src, n) == 0);
    }
    /* deflateTune: custom lazy-match parameters still round-trip. */
    z_stream d;
    memset(&d, 0, sizeof d);
    CHECK_EQ(deflateInit(&d, 6), Z_OK);
    CHECK_EQ(deflateTune(&d, 4, 8, 16, 32), Z_OK);
    d.next_in = src;
    d.avail_in = (uInt)n;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    size_t bl;
    CHECK_EQ(inflate_all(15, z, d.total_out, back, n, &bl), Z_STREAM_END);
    CHECK(bl == n && memcmp(back, src, n) == 0);
    /* deflateReset (which also drops the tuning): the same bytes as a
     * fresh level 6 stream. */
    unsigned char *z2 = malloc(cap);
    size_t first = deflate_all(6, 15, 8, 0, src, n, z, cap, n, Z_NO_FLUSH, cap);
    CHECK_EQ(deflateReset(&d), Z_OK);
    CHECK_EQ(d.total_in, 0);
    d.next_in = src;
    d.avail_in = (uInt)n;
    d.next_out = z2;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    CHECK(d.total_out == first && memcmp(z, z2, first) == 0);
    CHECK_EQ(deflateResetKeep(&d), Z_OK);
    CHECK_EQ(deflateEnd(&d), Z_OK);
    /* deflateCopy mid-stream: both copies finish to the same bytes. */
    z_stream a, b;
    memset(&a, 0, sizeof a);
    CHECK_EQ(deflateInit2(&a, 6, Z_DEFLATED, 31, 8, 0), Z_OK);
    a.next_in = src;
    a.avail_in = (uInt)(n / 2);
    a.next_out = z;
    a.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&a, Z_NO_FLUSH), Z_OK);
    CHECK_EQ(deflateCopy(&b, &a), Z_OK);
    size_t mid = a.total_out;
    memcpy(z2, z, mid);
    b.next_out = z2 + mid;
    b.avail_out = (uInt)(cap - mid);
    a.next_in = b.next_in = src + n / 2;
    a.avail_in = b.avail_in = (uInt)(n - n / 2);
    CHECK_EQ(deflate(&a, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(deflate(&b, Z_FINISH), Z_STREAM_END);
    CHECK(a.total_out == b.total_out && memcmp(z, z2, a.total_out) == 0);
    CHECK_EQ(inflate_all(31, z2, b.total_out, back, n, &bl), Z_STREAM_END);
    CHECK(bl == n && memcmp(back, src, n) == 0);
    CHECK_EQ(deflateEnd(&a), Z_OK);
    CHECK_EQ(deflateEnd(&b), Z_OK);
    free(src);
    free(z);
    free(z2);
    free(back);
}

/* ---- deflatePrime / inflatePrime, deflateSetHeader / inflateGetHeader ---- */
static void t_prime_and_header(void) {
    size_t n = 30000;
    unsigned char *src = make_text(n, 12);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n);
    /* Three bits (101) before a raw stream; inflate takes them back with
     * inflatePrime from the first byte's low bits. */
    z_stream d;
    memset(&d, 0, sizeof d);
    CHECK_EQ(deflateInit2(&d, 6, Z_DEFLATED, -15, 8, 0), Z_OK);
    CHECK_EQ(deflatePrime(&d, 3, 5), Z_OK);
    d.next_in = src;
    d.avail_in = (uInt)n;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    size_t zl = d.total_out;
    deflateEnd(&d);
    CHECK_EQ(z[0] & 7, 5);
    z_stream i;
    memset(&i, 0, sizeof i);
    CHECK_EQ(inflateInit2(&i, -15), Z_OK);
    CHECK_EQ(inflatePrime(&i, 5, z[0] >> 3), Z_OK);
    i.next_in = z + 1;
    i.avail_in = (uInt)(zl - 1);
    i.next_out = back;
    i.avail_out = (uInt)n;
    CHECK_EQ(inflate(&i, Z_FINISH), Z_STREAM_END);
    CHECK(i.total_out == n && memcmp(back, src, n) == 0);
    CHECK_EQ(inflatePrime(&i, -1, 0), Z_OK); /* clears the bit buffer */
    CHECK_EQ(inflatePrime(&i, 17, 0), Z_STREAM_ERROR);
    inflateEnd(&i);
    /* Negative bit counts are refused. */
    memset(&d, 0, sizeof d);
    deflateInit2(&d, 6, Z_DEFLATED, 31, 8, 0);
    CHECK_EQ(deflatePrime(&d, -1, 5), Z_BUF_ERROR);
    deflateEnd(&d);

    /* gzip header fields survive the trip. */
    gz_header h, g;
    memset(&h, 0, sizeof h);
    h.text = 1;
    h.time = 1234567890;
    h.os = 3;
    h.extra = (Bytef *)"EXTRA-FIELD";
    h.extra_len = 11;
    h.name = (Bytef *)"file.txt";
    h.comment = (Bytef *)"a comment";
    h.hcrc = 1;
    memset(&d, 0, sizeof d);
    CHECK_EQ(deflateInit2(&d, 6, Z_DEFLATED, 31, 8, 0), Z_OK);
    CHECK_EQ(deflateSetHeader(&d, &h), Z_OK);
    d.next_in = src;
    d.avail_in = (uInt)n;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    zl = d.total_out;
    deflateEnd(&d);
    CHECK_EQ(z[3], 0x1f); /* FTEXT|FHCRC|FEXTRA|FNAME|FCOMMENT */
    unsigned char extra[64], name[64], comment[64];
    memset(&g, 0, sizeof g);
    g.extra = extra;
    g.extra_max = sizeof extra;
    g.name = name;
    g.name_max = sizeof name;
    g.comment = comment;
    g.comm_max = sizeof comment;
    memset(&i, 0, sizeof i);
    CHECK_EQ(inflateInit2(&i, 31), Z_OK);
    CHECK_EQ(inflateGetHeader(&i, &g), Z_OK);
    i.next_in = z;
    i.avail_in = (uInt)zl;
    i.next_out = back;
    i.avail_out = (uInt)n;
    CHECK_EQ(inflate(&i, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(g.done, 1);
    CHECK_EQ(g.text, 1);
    CHECK_EQ(g.time, 1234567890);
    CHECK_EQ(g.os, 3);
    CHECK_EQ(g.hcrc, 1);
    CHECK(g.extra_len == 11 && memcmp(extra, "EXTRA-FIELD", 11) == 0);
    CHECK(strcmp((char *)name, "file.txt") == 0);
    CHECK(strcmp((char *)comment, "a comment") == 0);
    CHECK(i.total_out == n && memcmp(back, src, n) == 0);
    inflateEnd(&i);
    /* A corrupt header CRC. */
    z[4] ^= 1; /* mtime: covered by the header CRC */
    memset(&i, 0, sizeof i);
    inflateInit2(&i, 31);
    i.next_in = z;
    i.avail_in = (uInt)zl;
    i.next_out = back;
    i.avail_out = (uInt)n;
    CHECK_EQ(inflate(&i, Z_FINISH), Z_DATA_ERROR);
    CHECK_MSG(&i, "header crc mismatch");
    inflateEnd(&i);
    /* deflateSetHeader on a zlib stream: refused. */
    memset(&d, 0, sizeof d);
    deflateInit(&d, 6);
    CHECK_EQ(deflateSetHeader(&d, &h), Z_STREAM_ERROR);
    deflateEnd(&d);
    /* inflateGetHeader on a zlib stream: refused. */
    memset(&i, 0, sizeof i);
    inflateInit(&i);
    CHECK_EQ(inflateGetHeader(&i, &g), Z_STREAM_ERROR);
    inflateEnd(&i);
    free(src);
    free(z);
    free(back);
}

/* ---- inflateSync, inflateSyncPoint ---- */
static void t_inflate_sync(void) {
    size_t n = 40000;
    unsigned char *src = make_text(n, 13);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n);
    /* Raw stream: first half, Z_FULL_FLUSH, second half. */
    z_stream d;
    memset(&d, 0, sizeof d);
    CHECK_EQ(deflateInit2(&d, 6, Z_DEFLATED, -15, 8, 0), Z_OK);
    d.next_in = src;
    d.avail_in = (uInt)(n / 2);
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FULL_FLUSH), Z_OK);
    size_t flush_at = d.total_out;
    d.avail_in = (uInt)(n - n / 2);
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    size_t zl = d.total_out;
    deflateEnd(&d);
    /* Destroy the first half: 0xff bytes are an invalid block type. */
    memset(z, 0xff, flush_at - 4);
    z_stream i;
    memset(&i, 0, sizeof i);
    CHECK_EQ(inflateInit2(&i, -15), Z_OK);
    i.next_in = z;
    i.avail_in = (uInt)zl;
    i.next_out = back;
    i.avail_out = (uInt)n;
    CHECK_EQ(inflate(&i, Z_NO_FLUSH), Z_DATA_ERROR);
    CHECK_MSG(&i, "invalid block type");
    CHECK_EQ(inflateSync(&i), Z_OK);
    CHECK((size_t)(i.next_in - z) == flush_at);
    i.next_out = back;
    i.avail_out = (uInt)n;
    uLong before = i.total_out;
    CHECK_EQ(inflate(&i, Z_FINISH), Z_STREAM_END);
    CHECK(i.total_out - before == n - n / 2 && memcmp(back, src + n / 2, n - n / 2) == 0);
    inflateEnd(&i);
    /* No marker anywhere: Z_DATA_ERROR, all input consumed. Nothing to
     * look at: Z_BUF_ERROR. */
    memset(&i, 0, sizeof i);
    inflateInit2(&i, -15);
    i.next_in = z;
    i.avail_in = (uInt)(flush_at - 4);
    i.next_out = back;
    i.avail_out = (uInt)n;
    inflate(&i, Z_NO_FLUSH);
    i.avail_in = (uInt)(flush_at - 4);
    i.next_in = z;
    CHECK_EQ(inflateSync(&i), Z_DATA_ERROR);
    CHECK_EQ(i.avail_in, 0);
    CHECK_EQ(inflateSync(&i), Z_BUF_ERROR);
    inflateEnd(&i);
    CHECK_EQ(inflateSync(NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateSyncPoint(NULL), Z_STREAM_ERROR);
    /* inflateSyncPoint: true right after a full-flush marker's stored block. */
    memset(&d, 0, sizeof d);
    deflateInit2(&d, 6, Z_DEFLATED, -15, 8, 0);
    d.next_in = src;
    d.avail_in = 5000;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    deflate(&d, Z_FULL_FLUSH);
    zl = d.total_out;
    deflateEnd(&d);
    memset(&i, 0, sizeof i);
    inflateInit2(&i, -15);
    /* Stop just before the stored block's LEN/NLEN (00 00 ff ff). */
    i.next_in = z;
    i.avail_in = (uInt)(zl - 4);
    i.next_out = back;
    i.avail_out = (uInt)n;
    CHECK_EQ(inflate(&i, Z_SYNC_FLUSH), Z_OK);
    CHECK_EQ(i.total_out, 5000);
    CHECK_EQ(inflateSyncPoint(&i), 1);
    i.avail_in = 4;
    CHECK_EQ(inflate(&i, Z_SYNC_FLUSH), Z_OK);
    CHECK_EQ(inflateSyncPoint(&i), 0);
    inflateEnd(&i);
    free(src);
    free(z);
    free(back);
}

/* ---- inflateBack ---- */
struct back_io {
    const unsigned char *in;
    size_t inlen, chunk, pos;
    unsigned char *out;
    size_t outlen, cap;
    int fail_out_after;
};
static unsigned back_in(void *desc, z_const unsigned char **buf) {
    struct back_io *io = desc;
    size_t k = io->inlen - io->pos < io->chunk ? io->inlen - io->pos : io->chunk;
    *buf = (unsigned char *)io->in + io->pos;
    io->pos += k;
    return (unsigned)k;
}
static int back_out(void *desc, unsigned char *buf, unsigned len) {
    struct back_io *io = desc;
    if (io->fail_out_after >= 0 && io->outlen + len > (size_t)io->fail_out_after) return 1;
    if (io->outlen + len > io->cap) return 1;
    memcpy(io->out + io->outlen, buf, len);
    io->outlen += len;
    return 0;
}
static void t_inflate_back(void) {
    size_t n = 150000;
    unsigned char *src = make_text(n, 14);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n + 100);
    static unsigned char window[32768];
    size_t zl = deflate_all(6, -15, 8, 0, src, n, z, cap, n, Z_NO_FLUSH, cap);
    size_t chunks[] = {1, 100, 1 << 20};
    for (int c = 0; c < 3; c++) {
        if (chunks[c] == 1 && n > 20000) {
            /* a byte at a time on a shorter prefix stream keeps this quick */
        }
        struct back_io io = {z, zl, chunks[c], 0, back, 0, n + 100, -1};
        z_stream s;
        memset(&s, 0, sizeof s);
        CHECK_EQ(inflateBackInit(&s, 15, window), Z_OK);
        CHECK_EQ(inflateBack(&s, back_in, &io, back_out, &io), Z_STREAM_END);
        CHECK(io.outlen == n && memcmp(back, src, n) == 0);
        CHECK_EQ(inflateBackEnd(&s), Z_OK);
    }
    /* Input handed over up front in next_in is used first. */
    {
        struct back_io io = {z + 10, zl - 10, 4096, 0, back, 0, n + 100, -1};
        z_stream s;
        memset(&s, 0, sizeof s);
        CHECK_EQ(inflateBackInit(&s, 15, window), Z_OK);
        s.next_in = z;
        s.avail_in = 10;
        CHECK_EQ(inflateBack(&s, back_in, &io, back_out, &io), Z_STREAM_END);
        CHECK(io.outlen == n && memcmp(back, src, n) == 0);
        inflateBackEnd(&s);
    }
    /* Output refused: Z_BUF_ERROR with next_in not NULL. */
    {
        struct back_io io = {z, zl, 4096, 0, back, 0, n + 100, 50000};
        z_stream s;
        memset(&s, 0, sizeof s);
        inflateBackInit(&s, 15, window);
        CHECK_EQ(inflateBack(&s, back_in, &io, back_out, &io), Z_BUF_ERROR);
        CHECK(s.next_in != NULL);
        inflateBackEnd(&s);
    }
    /* Input ends early: Z_BUF_ERROR with next_in NULL. */
    {
        struct back_io io = {z, zl / 2, 4096, 0, back, 0, n + 100, -1};
        z_stream s;
        memset(&s, 0, sizeof s);
        inflateBackInit(&s, 15, window);
        CHECK_EQ(inflateBack(&s, back_in, &io, back_out, &io), Z_BUF_ERROR);
        CHECK(s.next_in == NULL);
        inflateBackEnd(&s);
    }
    /* Corrupt data: Z_DATA_ERROR with a message. */
    {
        unsigned char bad[] = {0x07, 0x00};
        struct back_io io = {bad, 2, 4096, 0, back, 0, n + 100, -1};
        z_stream s;
        memset(&s, 0, sizeof s);
        inflateBackInit(&s, 15, window);
        CHECK_EQ(inflateBack(&s, back_in, &io, back_out, &io), Z_DATA_ERROR);
        CHECK_MSG(&s, "invalid block type");
        inflateBackEnd(&s);
    }
    /* Misuse. */
    z_stream s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(inflateBackInit(&s, 7, window), Z_STREAM_ERROR);
    CHECK_EQ(inflateBackInit(&s, 16, window), Z_STREAM_ERROR);
    CHECK_EQ(inflateBackInit(&s, 15, NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateBackInit_(&s, 15, window, "0.9", (int)sizeof s), Z_VERSION_ERROR);
    CHECK_EQ(inflateBackInit_(&s, 15, window, ZLIB_VERSION, (int)sizeof s - 1), Z_VERSION_ERROR);
    CHECK_EQ(inflateBackEnd(NULL), Z_STREAM_ERROR);
    free(src);
    free(z);
    free(back);
}

/* ---- inflateCopy, inflateReset(2), inflateMark, inflateCodesUsed,
 *      inflateValidate, inflateUndermine ---- */
static void t_inflate_misc(void) {
    size_t n = 60000;
    unsigned char *src = make_text(n, 15);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n), *back2 = malloc(n);
    uLongf zl = cap;
    compress2(z, &zl, src, n, 6);
    z_stream a, b;
    memset(&a, 0, sizeof a);
    CHECK_EQ(inflateInit(&a), Z_OK);
    CHECK_EQ(inflateMark(&a), -65536L);
    CHECK_EQ(inflateMark(NULL), -65536L);
    CHECK_EQ(inflateCodesUsed(NULL), (unsigned long)-1);
    a.next_in = z;
    a.avail_in = (uInt)(zl / 2);
    a.next_out = back;
    a.avail_out = (uInt)n;
    CHECK_EQ(inflate(&a, Z_NO_FLUSH), Z_OK);
    CHECK(inflateCodesUsed(&a) > 0);
    CHECK_EQ(inflateCopy(&b, &a), Z_OK);
    memcpy(back2, back, a.total_out);
    b.next_out = back2 + a.total_out;
    a.avail_in = b.avail_in = (uInt)(zl - zl / 2);
    CHECK_EQ(inflate(&a, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(inflate(&b, Z_FINISH), Z_STREAM_END);
    CHECK(a.total_out == n && b.total_out == n && memcmp(back, src, n) == 0 && memcmp(back2, src, n) == 0);
    CHECK_EQ(inflateEnd(&b), Z_OK);
    /* inflateReset: the same stream decodes again. */
    CHECK_EQ(inflateReset(&a), Z_OK);
    CHECK_EQ(a.total_in, 0);
    CHECK_EQ(a.total_out, 0);
    a.next_in = z;
    a.avail_in = (uInt)zl;
    a.next_out = back;
    a.avail_out = (uInt)n;
    CHECK_EQ(inflate(&a, Z_FINISH), Z_STREAM_END);
    /* inflateReset2 switches to raw and back. */
    CHECK_EQ(inflateReset2(&a, -15), Z_OK);
    a.next_in = z + 2;
    a.avail_in = (uInt)(zl - 6);
    a.next_out = back;
    a.avail_out = (uInt)n;
    CHECK_EQ(inflate(&a, Z_FINISH), Z_STREAM_END);
    CHECK(a.total_out == n && memcmp(back, src, n) == 0);
    CHECK_EQ(inflateReset2(&a, 5), Z_STREAM_ERROR);
    CHECK_EQ(inflateReset2(&a, 47), Z_OK);
    CHECK_EQ(inflateResetKeep(&a), Z_OK);
    /* inflateValidate(0): a bad check value goes unnoticed. */
    CHECK_EQ(inflateReset2(&a, 15), Z_OK);
    CHECK_EQ(inflateValidate(&a, 0), Z_OK);
    z[zl - 1] ^= 1;
    a.next_in = z;
    a.avail_in = (uInt)zl;
    a.next_out = back;
    a.avail_out = (uInt)n;
    CHECK_EQ(inflate(&a, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(inflateReset(&a), Z_OK);
    CHECK_EQ(inflateValidate(&a, 1), Z_OK);
    a.next_in = z;
    a.avail_in = (uInt)zl;
    a.next_out = back;
    a.avail_out = (uInt)n;
    CHECK_EQ(inflate(&a, Z_FINISH), Z_DATA_ERROR);
    CHECK_MSG(&a, "incorrect data check");
    z[zl - 1] ^= 1;
    /* inflateUndermine: not compiled in zlib's default build. */
    CHECK_EQ(inflateUndermine(&a, 1), Z_DATA_ERROR);
    CHECK_EQ(inflateEnd(&a), Z_OK);
    free(src);
    free(z);
    free(back);
    free(back2);
}

/* ---- corrupt, truncated and trailing-garbage input ---- */
static int inflate_code(int wbits, const unsigned char *in, size_t len, const char **msg, size_t *left) {
    static unsigned char out[1 << 18];
    static char msgbuf[128];
    z_stream s;
    memset(&s, 0, sizeof s);
    inflateInit2(&s, wbits);
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)len;
    s.next_out = out;
    s.avail_out = sizeof out;
    int rc = inflate(&s, Z_NO_FLUSH);
    msgbuf[0] = 0;
    if (s.msg) snprintf(msgbuf, sizeof msgbuf, "%s", s.msg);
    *msg = s.msg ? msgbuf : NULL;
    if (left) *left = s.avail_in;
    inflateEnd(&s);
    return rc;
}
#define CHECK_INFLATE(wbits, buf, len, code, text)                                   \
    do {                                                                             \
        const char *m__;                                                             \
        CHECK_EQ(inflate_code((wbits), (buf), (len), &m__, NULL), (code));           \
        g_checks++;                                                                  \
        if ((text) != NULL && (m__ == NULL || strcmp(m__, (text) ? (text) : "") != 0)) { \
            g_failures++;                                                            \
            fprintf(stderr, "FAIL %s (%s:%d): msg \"%s\", want \"%s\"\n", g_case,    \
                    __FILE__, __LINE__, m__ ? m__ : "(null)", (text) ? (text) : ""); \
        }                                                                            \
    } while (0)
static void t_corrupt(void) {
    size_t n = 20000;
    unsigned char *src = make_text(n, 16);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *g = malloc(cap), *tmp = malloc(cap + 16);
    uLongf zl = cap;
    compress2(z, &zl, src, n, 6);
    size_t gl = deflate_all(6, 31, 8, 0, src, n, g, cap, n, Z_NO_FLUSH, cap);
    /* zlib header */
    unsigned char h1[] = {0x78, 0x9d, 0, 0};
    CHECK_INFLATE(15, h1, 4, Z_DATA_ERROR, "incorrect header check");
    unsigned char h2[] = {0x79, 0x18, 0, 0}; /* method 9, check ok */
    CHECK_INFLATE(15, h2, 4, Z_DATA_ERROR, "unknown compression method");
    unsigned char h3[] = {0x88, 0x98, 0, 0}; /* window 2^16 */
    CHECK_INFLATE(15, h3, 4, Z_DATA_ERROR, "invalid window size");
    /* gzip header */
    unsigned char g1[] = {0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3};
    CHECK_INFLATE(31, g1, 10, Z_DATA_ERROR, "unknown compression method");
    unsigned char g2[] = {0x1f, 0x8b, 8, 0xe0, 0, 0, 0, 0, 0, 3};
    CHECK_INFLATE(31, g2, 10, Z_DATA_ERROR, "unknown header flags set");
    CHECK_INFLATE(31, z, zl, Z_DATA_ERROR, "incorrect header check");
    CHECK_INFLATE(15, g, gl, Z_DATA_ERROR, "incorrect header check");
    /* deflate data */
    unsigned char d1[] = {0x07, 0x00};
    CHECK_INFLATE(-15, d1, 2, Z_DATA_ERROR, "invalid block type");
    unsigned char d2[] = {0x01, 0x05, 0x00, 0x00, 0x00};
    CHECK_INFLATE(-15, d2, 5, Z_DATA_ERROR, "invalid stored block lengths");
    /* Fixed-code blocks built bit by bit: a match of distance 1 with no
     * output yet; literal/length code 286; distance code 30. */
    unsigned char d3[] = {0x03, 0x02, 0x00};
    CHECK_INFLATE(-15, d3, sizeof d3, Z_DATA_ERROR, "invalid distance too far back");
    unsigned char d4[] = {0x1b, 0x03, 0x00};
    CHECK_INFLATE(-15, d4, sizeof d4, Z_DATA_ERROR, "invalid literal/length code");
    unsigned char d5[] = {0x4b, 0x4c, 0x04, 0x3e, 0x00};
    CHECK_INFLATE(-15, d5, sizeof d5, Z_DATA_ERROR, "invalid distance code");
    /* A damaged zlib stream (found by fuzz/zlib_diff) whose adler32 still
     * matches what a lenient decoder makes of it: zlib stops at an invalid
     * distance code, whole-buffer calls included. */
    {
        static const unsigned char d7[] = {0x18, 0x95, 0x35, 0xc5, 0x31, 0x0d, 0x00, 0x20, 0x10, 0x04, 0xb0, 0xbb, 0xe4,
                                           0x0d, 0xe0, 0x5f, 0x0c, 0xc6, 0x08, 0x65, 0x22, 0x4b, 0x27, 0xc5, 0x59, 0xbd,
                                           0x36, 0x26, 0x85, 0x14, 0xf9, 0xc1, 0x03, 0xe5, 0x34, 0x19, 0xc1};
        CHECK_INFLATE(15, d7, sizeof d7, Z_DATA_ERROR, "invalid distance code");
        unsigned char out7[256];
        uLongf l7 = sizeof out7;
        CHECK_EQ(uncompress(out7, &l7, d7, sizeof d7), Z_DATA_ERROR);
        size_t n7 = 0;
        CHECK_EQ(inflate_all(15, d7, sizeof d7, out7, sizeof out7, &n7), Z_DATA_ERROR);
    }
    /* A dynamic block header with HLIT 30 (287 codes). */
    unsigned char d6[] = {0xf5, 0x00, 0x00};
    CHECK_INFLATE(-15, d6, sizeof d6, Z_DATA_ERROR, "too many length or distance symbols");
    /* check values */
    memcpy(tmp, z, zl);
    tmp[zl - 2] ^= 0x10;
    CHECK_INFLATE(15, tmp, zl, Z_DATA_ERROR, "incorrect data check");
    memcpy(tmp, g, gl);
    tmp[gl - 6] ^= 0x10; /* CRC */
    CHECK_INFLATE(31, tmp, gl, Z_DATA_ERROR, "incorrect data check");
    memcpy(tmp, g, gl);
    tmp[gl - 2] ^= 0x10; /* ISIZE */
    CHECK_INFLATE(31, tmp, gl, Z_DATA_ERROR, "incorrect length check");
    /* Truncated anywhere: no error, Z_OK/Z_BUF_ERROR without Z_STREAM_END;
     * Z_FINISH says Z_BUF_ERROR. */
    for (size_t cut = 0; cut < zl; cut += (cut < 20 ? 1 : 997)) {
        const char *m;
        int rc = inflate_code(15, z, cut, &m, NULL);
        CHECK(rc == Z_OK || rc == Z_BUF_ERROR);
        size_t bl;
        CHECK_EQ(inflate_all(15, z, cut, tmp, cap, &bl), Z_BUF_ERROR);
    }
    for (size_t cut = 0; cut < gl; cut += (cut < 30 ? 1 : 1009)) {
        const char *m;
        int rc = inflate_code(31, g, cut, &m, NULL);
        CHECK(rc == Z_OK || rc == Z_BUF_ERROR);
    }
    /* Trailing garbage: Z_STREAM_END, the garbage left in avail_in. */
    memcpy(tmp, z, zl);
    memcpy(tmp + zl, "GARBAGE", 7);
    {
        const char *m;
        size_t left = 0;
        CHECK_EQ(inflate_code(15, tmp, zl + 7, &m, &left), Z_STREAM_END);
        CHECK_EQ(left, 7);
    }
    memcpy(tmp, g, gl);
    memcpy(tmp + gl, "GARBAGE", 7);
    {
        const char *m;
        size_t left = 0;
        CHECK_EQ(inflate_code(31, tmp, gl + 7, &m, &left), Z_STREAM_END);
        CHECK_EQ(left, 7);
        CHECK_EQ(inflate_code(47, tmp, gl + 7, &m, &left), Z_STREAM_END);
        CHECK_EQ(left, 7);
    }
    /* After Z_DATA_ERROR the stream stays broken: more calls, same code. */
    z_stream s;
    memset(&s, 0, sizeof s);
    inflateInit(&s);
    s.next_in = h1;
    s.avail_in = 4;
    s.next_out = tmp;
    s.avail_out = 100;
    CHECK_EQ(inflate(&s, Z_NO_FLUSH), Z_DATA_ERROR);
    s.next_in = z;
    s.avail_in = (uInt)zl;
    CHECK_EQ(inflate(&s, Z_NO_FLUSH), Z_DATA_ERROR);
    inflateEnd(&s);
    free(src);
    free(z);
    free(g);
    free(tmp);
}

/* ---- misuse: NULL streams, versions, sizes, calls after End ---- */
static void t_misuse(void) {
    z_stream s;
    unsigned char buf[64], out[64];
    memset(&s, 0, sizeof s);
    CHECK_EQ(deflateInit_(NULL, 6, ZLIB_VERSION, (int)sizeof s), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit_(NULL, ZLIB_VERSION, (int)sizeof s), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit2_(NULL, 6, 8, 15, 8, 0, ZLIB_VERSION, (int)sizeof s), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit2_(NULL, 15, ZLIB_VERSION, (int)sizeof s), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit_(&s, 6, "2.0.0", (int)sizeof s), Z_VERSION_ERROR);
    CHECK_EQ(deflateInit_(&s, 6, NULL, (int)sizeof s), Z_VERSION_ERROR);
    CHECK_EQ(deflateInit_(&s, 6, ZLIB_VERSION, (int)sizeof s + 8), Z_VERSION_ERROR);
    CHECK_EQ(inflateInit_(&s, "0.1", (int)sizeof s), Z_VERSION_ERROR);
    CHECK_EQ(inflateInit_(&s, NULL, (int)sizeof s), Z_VERSION_ERROR);
    CHECK_EQ(inflateInit_(&s, ZLIB_VERSION, 10), Z_VERSION_ERROR);
    CHECK_EQ(deflateInit2_(&s, 6, 8, 15, 8, 0, "9", (int)sizeof s), Z_VERSION_ERROR);
    CHECK_EQ(inflateInit2_(&s, 15, "1.2.13", (int)sizeof s - 1), Z_VERSION_ERROR);
    /* Any 1.x version string is accepted: only the major must match. */
    CHECK_EQ(deflateInit_(&s, 6, "1.0.0", (int)sizeof s), Z_OK);
    deflateEnd(&s);
    CHECK_EQ(inflateInit_(&s, "1.9.9", (int)sizeof s), Z_OK);
    inflateEnd(&s);
    CHECK_EQ(deflateInit(&s, 11), Z_STREAM_ERROR);
    CHECK_EQ(deflateInit(&s, -2), Z_STREAM_ERROR);
    /* Every stream function on NULL. */
    CHECK_EQ(deflate(NULL, Z_NO_FLUSH), Z_STREAM_ERROR);
    CHECK_EQ(inflate(NULL, Z_NO_FLUSH), Z_STREAM_ERROR);
    CHECK_EQ(deflateEnd(NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateEnd(NULL), Z_STREAM_ERROR);
    CHECK_EQ(deflateReset(NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateReset(NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateReset2(NULL, 15), Z_STREAM_ERROR);
    CHECK_EQ(deflateParams(NULL, 1, 0), Z_STREAM_ERROR);
    CHECK_EQ(deflateTune(NULL, 1, 1, 1, 1), Z_STREAM_ERROR);
    CHECK_EQ(deflateSetDictionary(NULL, buf, 4), Z_STREAM_ERROR);
    CHECK_EQ(inflateSetDictionary(NULL, buf, 4), Z_STREAM_ERROR);
    CHECK_EQ(deflatePrime(NULL, 1, 1), Z_STREAM_ERROR);
    CHECK_EQ(inflatePrime(NULL, 1, 1), Z_STREAM_ERROR);
    CHECK_EQ(deflatePending(NULL, NULL, NULL), Z_STREAM_ERROR);
    CHECK_EQ(deflateCopy(&s, NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateCopy(&s, NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateGetHeader(NULL, NULL), Z_STREAM_ERROR);
    CHECK_EQ(deflateSetHeader(NULL, NULL), Z_STREAM_ERROR);
    CHECK_EQ(inflateValidate(NULL, 1), Z_STREAM_ERROR);
    CHECK_EQ(deflateBound(NULL, 1000) >= 1000, 1); /* no stream: the conservative bound */
    /* A stream never initialised (state NULL). */
    memset(&s, 0, sizeof s);
    CHECK_EQ(deflate(&s, Z_NO_FLUSH), Z_STREAM_ERROR);
    CHECK_EQ(inflate(&s, Z_NO_FLUSH), Z_STREAM_ERROR);
    CHECK_EQ(deflateEnd(&s), Z_STREAM_ERROR);
    CHECK_EQ(inflateEnd(&s), Z_STREAM_ERROR);
    /* Calls after End. */
    CHECK_EQ(deflateInit(&s, 6), Z_OK);
    CHECK_EQ(deflateEnd(&s), Z_OK);
    CHECK(s.state == NULL);
    s.next_in = buf;
    s.avail_in = 4;
    s.next_out = out;
    s.avail_out = sizeof out;
    CHECK_EQ(deflate(&s, Z_FINISH), Z_STREAM_ERROR);
    CHECK_EQ(deflateEnd(&s), Z_STREAM_ERROR);
    CHECK_EQ(deflateParams(&s, 1, 0), Z_STREAM_ERROR);
    CHECK_EQ(deflateReset(&s), Z_STREAM_ERROR);
    CHECK_EQ(inflateInit(&s), Z_OK);
    CHECK_EQ(inflateEnd(&s), Z_OK);
    CHECK(s.state == NULL);
    CHECK_EQ(inflate(&s, Z_NO_FLUSH), Z_STREAM_ERROR);
    CHECK_EQ(inflateEnd(&s), Z_STREAM_ERROR);
    CHECK_EQ(inflateSync(&s), Z_STREAM_ERROR);
    CHECK_EQ(inflateReset(&s), Z_STREAM_ERROR);
    /* Deflate into a NULL output or from NULL input with avail_in. */
    CHECK_EQ(deflateInit(&s, 6), Z_OK);
    s.next_in = buf;
    s.avail_in = 4;
    s.next_out = NULL;
    s.avail_out = 10;
    CHECK_EQ(deflate(&s, Z_NO_FLUSH), Z_STREAM_ERROR);
    s.next_in = NULL;
    s.avail_in = 4;
    s.next_out = out;
    CHECK_EQ(deflate(&s, Z_NO_FLUSH), Z_STREAM_ERROR);
    s.next_in = buf;
    s.avail_in = 4;
    s.avail_out = 0;
    CHECK_EQ(deflate(&s, Z_NO_FLUSH), Z_BUF_ERROR);
    CHECK_MSG(&s, "buffer error");
    deflateEnd(&s);
    CHECK_EQ(inflateInit(&s), Z_OK);
    s.next_in = buf;
    s.avail_in = 4;
    s.next_out = NULL;
    s.avail_out = 10;
    CHECK_EQ(inflate(&s, Z_NO_FLUSH), Z_STREAM_ERROR);
    s.next_in = NULL;
    s.avail_in = 4;
    s.next_out = out;
    CHECK_EQ(inflate(&s, Z_NO_FLUSH), Z_STREAM_ERROR);
    /* No input at all: Z_BUF_ERROR. */
    s.next_in = buf;
    s.avail_in = 0;
    CHECK_EQ(inflate(&s, Z_NO_FLUSH), Z_BUF_ERROR);
    inflateEnd(&s);
    /* A stream struct copied by value is not a stream (state check). */
    z_stream a, b;
    memset(&a, 0, sizeof a);
    CHECK_EQ(deflateInit(&a, 6), Z_OK);
    memcpy(&b, &a, sizeof a);
    CHECK_EQ(deflate(&b, Z_NO_FLUSH), Z_STREAM_ERROR);
    CHECK_EQ(deflateEnd(&a), Z_OK);
    memset(&a, 0, sizeof a);
    CHECK_EQ(inflateInit(&a), Z_OK);
    memcpy(&b, &a, sizeof a);
    CHECK_EQ(inflate(&b, Z_NO_FLUSH), Z_STREAM_ERROR);
    CHECK_EQ(inflateEnd(&a), Z_OK);
}

/* ---- custom allocators ---- */
struct counts {
    long allocs, frees, live, fail_after;
    unsigned magic;
};
static voidpf count_alloc(voidpf opaque, uInt items, uInt size) {
    struct counts *c = opaque;
    if (c->magic != 0xC0FFEE) abort(); /* opaque must be passed through */
    if (c->fail_after >= 0 && c->allocs >= c->fail_after) return Z_NULL;
    c->allocs++;
    c->live++;
    return calloc(items, size);
}
static void count_free(voidpf opaque, voidpf p) {
    struct counts *c = opaque;
    if (c->magic != 0xC0FFEE) abort();
    c->frees++;
    c->live--;
    free(p);
}
static void t_allocators(void) {
    size_t n = 100000;
    unsigned char *src = make_text(n, 17);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap), *back = malloc(n);
    int wb[] = {-15, 15, 31};
    for (int w = 0; w < 3; w++) {
        for (int oneshot = 0; oneshot < 2; oneshot++) {
            struct counts c = {0, 0, 0, -1, 0xC0FFEE};
            z_stream d;
            memset(&d, 0, sizeof d);
            d.zalloc = count_alloc;
            d.zfree = count_free;
            d.opaque = &c;
            CHECK_EQ(deflateInit2(&d, 6, Z_DEFLATED, wb[w], 8, 0), Z_OK);
            CHECK(c.allocs > 0);
            d.next_in = src;
            d.next_out = z;
            if (oneshot) {
                d.avail_in = (uInt)n;
                d.avail_out = (uInt)cap;
                CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
            } else {
                for (size_t p = 0; p < n; p += 1000) {
                    d.avail_in = 1000;
                    d.avail_out = (uInt)(cap - d.total_out);
                    CHECK(deflate(&d, p + 1000 >= n ? Z_FINISH : Z_NO_FLUSH) >= 0);
                }
            }
            CHECK_EQ(deflateEnd(&d), Z_OK);
            CHECK_EQ(c.live, 0);
            CHECK_EQ(c.allocs, c.frees);
            size_t zl = d.total_out;
            struct counts ci = {0, 0, 0, -1, 0xC0FFEE};
            z_stream i;
            memset(&i, 0, sizeof i);
            i.zalloc = count_alloc;
            i.zfree = count_free;
            i.opaque = &ci;
            CHECK_EQ(inflateInit2(&i, wb[w]), Z_OK);
            i.next_in = z;
            i.avail_in = (uInt)zl;
            i.next_out = back;
            i.avail_out = (uInt)n;
            CHECK_EQ(inflate(&i, oneshot ? Z_FINISH : Z_NO_FLUSH), Z_STREAM_END);
            CHECK(i.total_out == n && memcmp(back, src, n) == 0);
            CHECK(ci.allocs > 0); /* the state at least */
            CHECK_EQ(inflateEnd(&i), Z_OK);
            CHECK_EQ(ci.live, 0);
        }
    }
    /* Copies allocate through the same functions and free everything. */
    struct counts c = {0, 0, 0, -1, 0xC0FFEE};
    z_stream a, b;
    memset(&a, 0, sizeof a);
    a.zalloc = count_alloc;
    a.zfree = count_free;
    a.opaque = &c;
    deflateInit(&a, 9);
    long before = c.allocs;
    CHECK_EQ(deflateCopy(&b, &a), Z_OK);
    CHECK(c.allocs > before);
    deflateEnd(&a);
    deflateEnd(&b);
    CHECK_EQ(c.live, 0);
    memset(&a, 0, sizeof a);
    a.zalloc = count_alloc;
    a.zfree = count_free;
    a.opaque = &c;
    inflateInit(&a);
    CHECK_EQ(inflateCopy(&b, &a), Z_OK);
    inflateEnd(&a);
    inflateEnd(&b);
    CHECK_EQ(c.live, 0);
    /* A failing allocator: Z_MEM_ERROR and nothing leaked. */
    for (long k = 0; k < 4; k++) {
        struct counts f = {0, 0, 0, k, 0xC0FFEE};
        z_stream d;
        memset(&d, 0, sizeof d);
        d.zalloc = count_alloc;
        d.zfree = count_free;
        d.opaque = &f;
        int rc = deflateInit(&d, 6);
        if (k == 0) CHECK_EQ(rc, Z_MEM_ERROR);
        if (rc == Z_OK) {
            deflateEnd(&d);
        } else {
            CHECK_EQ(rc, Z_MEM_ERROR);
        }
        CHECK_EQ(f.live, 0);
    }
    {
        struct counts f = {0, 0, 0, 0, 0xC0FFEE};
        z_stream i;
        memset(&i, 0, sizeof i);
        i.zalloc = count_alloc;
        i.zfree = count_free;
        i.opaque = &f;
        int rc = inflateInit(&i);
        CHECK_EQ(rc, Z_MEM_ERROR);
        if (rc == Z_OK) inflateEnd(&i); /* a library that did not fail must not leak either */
        CHECK_EQ(f.live, 0);
    }
    /* inflate's window is allocated on first need: failing then gives
     * Z_MEM_ERROR from inflate itself. */
    {
        struct counts f = {0, 0, 0, 1, 0xC0FFEE};
        z_stream i;
        memset(&i, 0, sizeof i);
        i.zalloc = count_alloc;
        i.zfree = count_free;
        i.opaque = &f;
        CHECK_EQ(inflateInit(&i), Z_OK);
        uLongf zl = cap;
        compress2(z, &zl, src, n, 6);
        i.next_in = z;
        i.avail_in = (uInt)zl;
        i.next_out = back;
        i.avail_out = 1000; /* not all of it: the window is needed */
        CHECK_EQ(inflate(&i, Z_NO_FLUSH), Z_MEM_ERROR);
        inflateEnd(&i);
        CHECK_EQ(f.live, 0);
    }
    free(src);
    free(z);
    free(back);
}

/* ---- data_type, adler and totals ---- */
static void t_stream_fields(void) {
    size_t n = 10000;
    unsigned char *txt = make_text(n, 18), *bin = make_binary(n, 19);
    size_t cap = compressBound(n) + 64;
    unsigned char *z = malloc(cap);
    z_stream d;
    memset(&d, 0, sizeof d);
    deflateInit(&d, 6);
    d.next_in = txt;
    d.avail_in = (uInt)n;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(d.data_type, Z_TEXT);
    CHECK_EQ(d.total_in, n);
    deflateEnd(&d);
    memset(&d, 0, sizeof d);
    deflateInit(&d, 6);
    d.next_in = bin;
    d.avail_in = (uInt)n;
    d.next_out = z;
    d.avail_out = (uInt)cap;
    CHECK_EQ(deflate(&d, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(d.data_type, Z_BINARY);
    deflateEnd(&d);
    free(txt);
    free(bin);
    free(z);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    check_library();
    struct {
        const char *name;
        void (*f)(void);
    } cases[] = {
        {"checksums", t_checksums},
        {"misc", t_misc},
        {"compress_uncompress", t_compress_uncompress},
        {"window_bits", t_window_bits},
        {"levels_strategies", t_levels_strategies},
        {"deflate_flush_modes", t_deflate_flush_modes},
        {"finish_first_call", t_finish_first_call},
        {"inflate_flush_modes", t_inflate_flush_modes},
        {"dictionary", t_dictionary},
        {"deflate_params", t_deflate_params},
        {"prime_and_header", t_prime_and_header},
        {"inflate_sync", t_inflate_sync},
        {"inflate_back", t_inflate_back},
        {"inflate_misc", t_inflate_misc},
        {"corrupt", t_corrupt},
        {"misuse", t_misuse},
        {"allocators", t_allocators},
        {"stream_fields", t_stream_fields},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        if (!want(filter, cases[k].name)) continue;
        int before = g_failures;
        cases[k].f();
        printf("%s %s\n", g_failures == before ? "ok" : "FAILED", cases[k].name);
    }
    return finish("api");
}
