/* The gz* file API. `gz write DIR` writes files in every mode the API
 * has; `gz read DIR` reads them back (and files gzip would write) and
 * checks their bytes, positions and errors. Run write under one zlib and
 * read under the other. Both phases also make and check their own files,
 * so each runs the API on one library alone as well. */
#include "common.h"

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

static char dir[3000];

static const char *at(const char *name) {
    static char p[4][3100];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

#define TEXT_N 200000
static unsigned char *text_data(void) {
    static unsigned char *t;
    if (!t) t = make_text(TEXT_N, 31337);
    return t;
}

static int vprint(gzFile f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = gzvprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

/* The lines written to "lines.gz", in order. */
static const char *line_text(int i, char *buf, size_t n) {
    snprintf(buf, n, "line %d of the gz test, value %x\n", i, i * 2654435761u);
    return buf;
}

static void write_files(void) {
    g_case = "write";
    const unsigned char *t = text_data();
    /* Plain writes in odd pieces, each level/strategy mode letter. */
    const char *modes[] = {"wb", "wb1", "wb9", "wb0", "wbf", "wbh", "wbR", "wbF", "wb6T"};
    for (int m = 0; m < 9; m++) {
        char name[64];
        snprintf(name, sizeof name, "mode-%d.gz", m);
        gzFile f = gzopen(at(name), modes[m]);
        CHECK(f != NULL);
        if (!f) continue;
        CHECK_EQ(gzbuffer(f, 16384), 0);
        size_t pos = 0, step = 1;
        while (pos < TEXT_N) {
            size_t k = TEXT_N - pos < step ? TEXT_N - pos : step;
            CHECK_EQ(gzwrite(f, t + pos, (unsigned)k), (int)k);
            pos += k;
            step = step * 3 + 1;
            if (step > 70000) step = 5;
        }
        CHECK_EQ(gztell(f), TEXT_N);
        CHECK_EQ(gzclose(f), Z_OK);
    }
    /* Lines with every text writer, flushes and a level change between. */
    gzFile f = gzopen(at("lines.gz"), "wb");
    CHECK(f != NULL);
    char buf[200];
    for (int i = 0; i < 3000; i++) {
        line_text(i, buf, sizeof buf);
        switch (i % 5) {
        case 0: CHECK_EQ(gzputs(f, buf), (int)strlen(buf)); break;
        case 1: CHECK_EQ(gzprintf(f, "line %d of the gz test, value %x\n", i, i * 2654435761u), (int)strlen(buf)); break;
        case 2:
            for (const char *p = buf; *p; p++) CHECK_EQ(gzputc(f, *p), (unsigned char)*p);
            break;
        case 3: CHECK_EQ(gzfwrite(buf, 1, strlen(buf), f), strlen(buf)); break;
        case 4: CHECK_EQ(vprint(f, "line %d of the gz test, value %x\n", i, i * 2654435761u), (int)strlen(buf)); break;
        }
        if (i == 1000) CHECK_EQ(gzflush(f, Z_SYNC_FLUSH), Z_OK);
        if (i == 1500) CHECK_EQ(gzsetparams(f, 9, Z_FILTERED), Z_OK);
        if (i == 2000) CHECK_EQ(gzflush(f, Z_FULL_FLUSH), Z_OK);
        if (i == 2500) CHECK_EQ(gzsetparams(f, 1, Z_DEFAULT_STRATEGY), Z_OK);
    }
    /* A forward seek while writing writes zeros. */
    z_off_t here = gztell(f);
    CHECK_EQ(gzseek(f, 1000, SEEK_CUR), here + 1000);
    CHECK_EQ(gzputs(f, "END\n"), 4);
    /* Backward seeks on a write stream are refused. */
    CHECK_EQ(gzseek(f, 0, SEEK_SET), -1);
    /* Reading a write stream fails, and records no error. */
    CHECK_EQ(gzread(f, buf, 10), -1);
    int err = 0;
    gzerror(f, &err);
    CHECK_EQ(err, Z_OK);
    gzclearerr(f);
    CHECK_EQ(gzclose_w(f), Z_OK);
    /* Two members: a file then appended to ("ab"). */
    f = gzopen(at("multi.gz"), "wb");
    CHECK_EQ(gzwrite(f, t, 1000), 1000);
    CHECK_EQ(gzclose(f), Z_OK);
    f = gzopen64(at("multi.gz"), "ab");
    CHECK(f != NULL);
    CHECK_EQ(gzwrite(f, t + 1000, 9000), 9000);
    CHECK_EQ(gztell64(f), 9000);
    CHECK_EQ(gzclose(f), Z_OK);
    /* Through a descriptor. */
    int fd = open(at("fd.gz"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    f = gzdopen(fd, "wb");
    CHECK(f != NULL);
    CHECK_EQ(gzwrite(f, t, 50000), 50000);
    CHECK(gzoffset(f) >= 0);
    CHECK_EQ(gzclose(f), Z_OK);
    /* An empty file. */
    f = gzopen(at("empty.gz"), "wb");
    CHECK_EQ(gzclose(f), Z_OK);
    /* Opening what cannot be opened. */
    CHECK(gzopen(at("no/such/dir/x.gz"), "wb") == NULL);
    CHECK(gzopen(at("nothing-here.gz"), "rb") == NULL);
    CHECK(gzopen(at("mode.gz"), "") == NULL);
    CHECK(gzdopen(-1, "rb") == NULL);
    /* Writing the plain (uncompressed) file gzread must pass through. */
    FILE *p = fopen(at("plain.txt"), "wb");
    fwrite(t, 1, 5000, p);
    fclose(p);
}

static void read_files(void) {
    g_case = "read";
    const unsigned char *t = text_data();
    unsigned char *got = malloc(TEXT_N + 100);
    for (int m = 0; m < 9; m++) {
        char name[64];
        snprintf(name, sizeof name, "mode-%d.gz", m);
        gzFile f = gzopen(at(name), "rb");
        CHECK(f != NULL);
        if (!f) continue;
        CHECK_EQ(gzdirect(f), m == 8); /* "T": written transparently */
        size_t pos = 0;
        int n;
        unsigned step = 7;
        /* Never more than the buffer holds: gzread may read straight into it. */
        while ((n = gzread(f, got + pos, step < TEXT_N + 100 - pos ? step : (unsigned)(TEXT_N + 100 - pos))) > 0) {
            pos += (size_t)n;
            step = step * 5 % 65521 + 1;
        }
        CHECK_EQ(n, 0);
        CHECK_EQ(pos, TEXT_N);
        CHECK(memcmp(got, t, TEXT_N) == 0);
        CHECK_EQ(gzeof(f), 1);
        CHECK_EQ(gztell(f), TEXT_N);
        /* Seek back (rewinds and decompresses again) and forward. */
        CHECK_EQ(gzseek(f, 12345, SEEK_SET), 12345);
        CHECK_EQ(gzread(f, got, 100), 100);
        CHECK(memcmp(got, t + 12345, 100) == 0);
        CHECK_EQ(gzseek(f, 1000, SEEK_CUR), 12345 + 100 + 1000);
        CHECK_EQ(gzgetc(f), t[13445]);
        CHECK_EQ(gzrewind(f), 0);
        CHECK_EQ(gztell(f), 0);
        CHECK_EQ(gzgetc_(f), t[0]);
        CHECK_EQ(gzungetc('Q', f), 'Q');
        CHECK_EQ(gzgetc(f), 'Q');
        CHECK_EQ(gzfread(got, 10, 100, f), 100);
        CHECK(memcmp(got, t + 1, 1000) == 0);
        CHECK_EQ(gzclose_r(f), Z_OK);
    }
    /* Lines come back with gzgets. */
    gzFile f = gzopen(at("lines.gz"), "rb");
    CHECK(f != NULL);
    char buf[200], want[200];
    for (int i = 0; i < 3000; i++) {
        CHECK(gzgets(f, buf, sizeof buf) == buf);
        line_text(i, want, sizeof want);
        if (strcmp(buf, want) != 0) {
            CHECK(strcmp(buf, want) == 0);
            break;
        }
    }
    /* The zeros of the write-side seek, then END. */
    int zeros = 0;
    while (zeros < 1000 && gzgetc(f) == 0) zeros++;
    CHECK_EQ(zeros, 1000);
    CHECK(gzgets(f, buf, sizeof buf) != NULL && strcmp(buf, "END\n") == 0);
    CHECK(gzgets(f, buf, sizeof buf) == NULL);
    CHECK_EQ(gzeof(f), 1);
    CHECK_EQ(gzclose(f), Z_OK);
    /* Two members read as one stream. */
    f = gzopen64(at("multi.gz"), "rb");
    CHECK_EQ(gzread(f, got, 20000), 10000);
    CHECK(memcmp(got, t, 10000) == 0);
    CHECK_EQ(gzseek64(f, 5, SEEK_SET), 5);
    CHECK(gzoffset64(f) >= 0);
    CHECK_EQ(gzclose(f), Z_OK);
    int fd = open(at("fd.gz"), O_RDONLY);
    f = gzdopen(fd, "rb");
    CHECK_EQ(gzread(f, got, TEXT_N), 50000);
    CHECK(memcmp(got, t, 50000) == 0);
    CHECK_EQ(gzclose(f), Z_OK);
    f = gzopen(at("empty.gz"), "rb");
    CHECK_EQ(gzread(f, got, 100), 0);
    CHECK_EQ(gzeof(f), 1);
    CHECK_EQ(gzclose(f), Z_OK);
    /* A file that is not gzip reads through as is. */
    f = gzopen(at("plain.txt"), "rb");
    CHECK_EQ(gzdirect(f), 1);
    CHECK_EQ(gzread(f, got, TEXT_N), 5000);
    CHECK(memcmp(got, t, 5000) == 0);
    CHECK_EQ(gzclose(f), Z_OK);
    /* Corrupt data: -1, Z_DATA_ERROR and zlib's message. */
    FILE *in = fopen(at("mode-1.gz"), "rb");
    static unsigned char raw[TEXT_N * 2];
    size_t rl = fread(raw, 1, sizeof raw, in);
    fclose(in);
    raw[rl / 2] ^= 0xff;
    raw[rl / 2 + 1] ^= 0xff;
    raw[rl / 2 + 2] ^= 0xff;
    FILE *out = fopen(at("bad.gz"), "wb");
    fwrite(raw, 1, rl, out);
    fclose(out);
    f = gzopen(at("bad.gz"), "rb");
    int n, total = 0;
    while ((n = gzread(f, got, 65536)) > 0) total += n;
    CHECK_EQ(n, -1);
    int err = 0;
    const char *msg = gzerror(f, &err);
    CHECK_EQ(err, Z_DATA_ERROR);
    CHECK(msg != NULL && strstr(msg, "bad.gz: ") != NULL);
    gzclearerr(f);
    gzerror(f, &err);
    CHECK_EQ(err, Z_OK);
    gzclose(f);
    /* Truncated: the data up to the cut, then end of file (0) with
     * Z_BUF_ERROR recorded, which gzclose reports too. */
    out = fopen(at("short.gz"), "wb");
    fwrite(raw, 1, rl / 3, out);
    fclose(out);
    raw[rl / 2] ^= 0xff;
    f = gzopen(at("short.gz"), "rb");
    total = 0;
    while ((n = gzread(f, got + total, 1000)) > 0) total += n;
    CHECK_EQ(n, 0);
    CHECK(total > 0 && memcmp(got, t, (size_t)total) == 0);
    msg = gzerror(f, &err);
    CHECK_EQ(err, Z_BUF_ERROR);
    CHECK(msg != NULL && strstr(msg, "unexpected end of file") != NULL);
    CHECK_EQ(gzclose(f), Z_BUF_ERROR);
    /* NULL handles. */
    CHECK_EQ(gzread(NULL, got, 1), -1);
    CHECK_EQ(gzwrite(NULL, got, 1), 0);
    CHECK_EQ(gzclose(NULL), Z_STREAM_ERROR);
    CHECK_EQ(gzeof(NULL), 0);
    CHECK(gzerror(NULL, &err) == NULL);
    free(got);
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "read"))) {
        fprintf(stderr, "usage: gz write|read DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[2]);
    check_library();
    if (strcmp(argv[1], "write") == 0) {
        write_files();
    } else {
        read_files();
    }
    return finish(argv[1]);
}
