/* Cross-library check: `interop produce DIR` writes one compressed stream
 * per case into DIR; `interop consume DIR` inflates each with the case's
 * windowBits (and auto-detection where it applies) and compares with the
 * regenerated input. Run produce under one zlib and consume under the
 * other (LD_PRELOAD or not): our deflate must inflate with the system
 * zlib and the reverse. Exit status 1 when any case failed. */
#include "common.h"

#include <dirent.h>

struct icase {
    int kind;     /* 0 text, 1 binary, 2 zeros */
    size_t size;
    int level, wbits, strategy, memlevel;
    size_t chunk; /* input per deflate call */
    int flush;    /* between chunks */
    int dict;     /* deflateSetDictionary with a text dictionary */
    int params;   /* deflateParams to level 9 then 1 between chunks */
};

static struct icase cases[400];
static int ncases;

static void add(int kind, size_t size, int level, int wbits, int strategy, int memlevel, size_t chunk, int flush,
                int dict, int params) {
    struct icase c = {kind, size, level, wbits, strategy, memlevel, chunk, flush, dict, params};
    cases[ncases++] = c;
}

static void build_cases(void) {
    int wbs[] = {-15, -9, 9, 12, 15, 25, 31};
    for (int level = 0; level <= 9; level++)
        for (int w = 0; w < 7; w++) add(level % 2, level * 7919 + w * 1000 + 1, level, wbs[w], 0, 8, 1 << 30, 0, 0, 0);
    /* Whole-input sizes around the one-shot paths, small to 1 MiB. */
    size_t sizes[] = {0, 1, 2, 100, 1023, 1024, 4096, 65536, 65537, 300000, 1 << 20};
    for (int k = 0; k < 11; k++) {
        add(0, sizes[k], 1, 15, 0, 8, 1 << 30, 0, 0, 0);
        add(1, sizes[k], 6, 31, 0, 8, 1 << 30, 0, 0, 0);
        add(0, sizes[k], 9, -15, 0, 8, 1 << 30, 0, 0, 0);
        add(2, sizes[k], 1, 31, 0, 8, 1 << 30, 0, 0, 0);
    }
    int strategies[] = {Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    for (int s = 0; s < 4; s++)
        for (int level = 1; level <= 9; level += 4) add(s % 2, 50000, level, 15, strategies[s], 8, 1 << 30, 0, 0, 0);
    for (int ml = 1; ml <= 9; ml++) add(0, 70000, 6, 31, 0, ml, 1 << 30, 0, 0, 0);
    /* Streaming: chunks with every deflate flush mode between them. */
    int flushes[] = {Z_NO_FLUSH, Z_PARTIAL_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_BLOCK};
    for (int f = 0; f < 5; f++)
        for (int level = 0; level <= 9; level += 3) {
            add(0, 100000, level, -15, 0, 8, 3000, flushes[f], 0, 0);
            add(1, 100000, level, 31, 0, 8, 17, flushes[f], 0, 0);
        }
    /* Dictionaries and deflateParams mid-stream. */
    add(0, 20000, 6, 15, 0, 8, 1 << 30, 0, 1, 0);
    add(0, 20000, 9, -15, 0, 8, 1 << 30, 0, 1, 0);
    add(0, 200000, 6, 15, 0, 8, 20000, Z_NO_FLUSH, 0, 1);
    add(1, 200000, 1, 31, 0, 8, 20000, Z_SYNC_FLUSH, 0, 1);
}

static unsigned char *source(const struct icase *c, int idx) {
    if (c->kind == 2) return calloc(c->size ? c->size : 1, 1);
    return c->kind ? make_binary(c->size, 1000 + idx) : make_text(c->size, 1000 + idx);
}

static const unsigned char *dictionary(void) {
    static unsigned char *d;
    if (!d) d = make_text(8000, 424242);
    return d;
}

static size_t produce_one(const struct icase *c, const unsigned char *src, unsigned char *out, size_t cap) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, c->level, Z_DEFLATED, c->wbits, c->memlevel, c->strategy) != Z_OK) return 0;
    if (c->dict && deflateSetDictionary(&s, dictionary(), 8000) != Z_OK) return 0;
    size_t pos = 0;
    s.next_out = out;
    int step = 0;
    for (;;) {
        size_t k = c->size - pos < c->chunk ? c->size - pos : c->chunk;
        int last = pos + k == c->size;
        if (c->params && step > 0) {
            s.avail_out = (uInt)(cap - s.total_out);
            if (deflateParams(&s, step % 2 ? 9 : 1, step % 3 ? Z_DEFAULT_STRATEGY : Z_FILTERED) != Z_OK) return 0;
        }
        step++;
        s.next_in = (Bytef *)src + pos;
        s.avail_in = (uInt)k;
        pos += k;
        s.avail_out = (uInt)(cap - s.total_out);
        int rc = deflate(&s, last ? Z_FINISH : c->flush);
        if (last ? rc != Z_STREAM_END : rc != Z_OK) return 0;
        if (last) break;
    }
    size_t n = s.total_out;
    return deflateEnd(&s) == Z_OK ? n : 0;
}

static int consume_one(const struct icase *c, int wbits, const unsigned char *z, size_t zl,
                       const unsigned char *src) {
    size_t cap = c->size + 1;
    unsigned char *out = malloc(cap);
    z_stream s;
    memset(&s, 0, sizeof s);
    int ok = inflateInit2(&s, wbits) == Z_OK;
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)zl;
    s.next_out = out;
    /* Output in odd pieces: the stream state must carry across calls. */
    int rc = Z_OK;
    while (ok && rc == Z_OK) {
        size_t room = cap - s.total_out;
        s.avail_out = (uInt)(room < 7001 ? room : 7001);
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc == Z_NEED_DICT && c->dict) rc = inflateSetDictionary(&s, dictionary(), 8000);
    }
    ok = ok && rc == Z_STREAM_END && s.total_out == c->size && s.avail_in == 0 &&
         (c->size == 0 || memcmp(out, src, c->size) == 0);
    if (c->dict && c->wbits < 0 && ok) ok = 0; /* raw with dictionary handled below */
    inflateEnd(&s);
    free(out);
    return ok;
}

/* Raw streams with a dictionary: inflateSetDictionary before any input. */
static int consume_raw_dict(const struct icase *c, const unsigned char *z, size_t zl, const unsigned char *src) {
    unsigned char *out = malloc(c->size + 1);
    z_stream s;
    memset(&s, 0, sizeof s);
    int ok = inflateInit2(&s, c->wbits) == Z_OK && inflateSetDictionary(&s, dictionary(), 8000) == Z_OK;
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)zl;
    s.next_out = out;
    s.avail_out = (uInt)(c->size + 1);
    ok = ok && inflate(&s, Z_FINISH) == Z_STREAM_END && s.total_out == c->size && memcmp(out, src, c->size) == 0;
    inflateEnd(&s);
    free(out);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "produce") && strcmp(argv[1], "consume"))) {
        fprintf(stderr, "usage: interop produce|consume DIR\n");
        return 2;
    }
    check_library();
    build_cases();
    int produce = strcmp(argv[1], "produce") == 0;
    char path[4096];
    for (int k = 0; k < ncases; k++) {
        const struct icase *c = &cases[k];
        static char name[64];
        snprintf(name, sizeof name, "case %d (kind %d size %zu level %d wbits %d)", k, c->kind, c->size, c->level,
                 c->wbits);
        g_case = name;
        unsigned char *src = source(c, k);
        snprintf(path, sizeof path, "%s/case-%03d.z", argv[2], k);
        if (produce) {
            /* Room for a flush marker per chunk too (17-byte chunks, level 0). */
            size_t cap = compressBound(c->size) + 4096 + (c->size / c->chunk + 1) * 16;
            unsigned char *z = malloc(cap);
            size_t zl = produce_one(c, src, z, cap);
            CHECK(zl > 0);
            FILE *f = fopen(path, "wb");
            CHECK(f != NULL);
            if (f) {
                CHECK_EQ(fwrite(z, 1, zl, f), zl);
                fclose(f);
            }
            free(z);
        } else {
            FILE *f = fopen(path, "rb");
            CHECK(f != NULL);
            if (!f) {
                free(src);
                continue;
            }
            fseek(f, 0, SEEK_END);
            size_t zl = (size_t)ftell(f);
            fseek(f, 0, SEEK_SET);
            unsigned char *z = malloc(zl + 1);
            CHECK_EQ(fread(z, 1, zl, f), zl);
            fclose(f);
            if (c->dict && c->wbits < 0) {
                CHECK(consume_raw_dict(c, z, zl, src));
            } else {
                CHECK(consume_one(c, c->wbits, z, zl, src));
                /* zlib and gzip streams: auto-detection, and 0 (zlib: the
                 * header's window). */
                if (c->wbits > 0) CHECK(consume_one(c, 47, z, zl, src));
                if (c->wbits > 0 && c->wbits < 16) CHECK(consume_one(c, 0, z, zl, src));
                /* One-shot decompression of zlib streams. */
                if (c->wbits > 0 && c->wbits < 16 && !c->dict) {
                    uLongf bl = c->size + 1;
                    unsigned char *out = malloc(bl);
                    CHECK_EQ(uncompress(out, &bl, z, zl), Z_OK);
                    CHECK(bl == c->size && memcmp(out, src, c->size) == 0);
                    free(out);
                }
            }
            free(z);
        }
        free(src);
    }
    /* With EXPECT_DEVICE set, the zip device must have run here: its
     * engine threads ("wd-zip...-eN") live in this process (embedded). */
    const char *dev = getenv("EXPECT_DEVICE");
    if (dev && *dev) {
        g_case = "device engines";
        int engines = 0;
        DIR *d = opendir("/proc/self/task");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char comm[64];
            snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
            FILE *f = fopen(path, "r");
            if (f && fgets(comm, sizeof comm, f) && strncmp(comm, "wd-zip", 6) == 0) engines++;
            if (f) fclose(f);
        }
        if (d) closedir(d);
        printf("device engine threads: %d\n", engines);
        CHECK(engines > 0);
    }
    printf("%d cases\n", ncases);
    return finish(produce ? "interop produce" : "interop consume");
}
