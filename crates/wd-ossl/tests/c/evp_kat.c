/*
 * An evp_test-style runner: reads stanza files in OpenSSL's test-data
 * format (Digest and MAC stanzas) and runs each through libcrypto's EVP
 * API with the algorithm fetched from our provider only
 * ("provider=warpdrive"), so a vector can pass only on our code.
 *
 * Digest: one-shot (EVP_Digest), one byte per update, and updates split
 * at uneven points; all must give Output. Count = N repeats Input N
 * times (streamed). MAC: HMAC (Algorithm is the digest) or CMAC
 * (Algorithm is the cipher), updates split in two; an Output shorter
 * than the MAC is compared as a prefix (RFC 4231's truncated case).
 *
 * Usage: evp_kat PROVIDER_DIR FILE...
 * Prints one line per file ("stanzas: N in FILE") and, at the end,
 * "PASS: N stanzas", or the failed checks and "FAIL: K failed checks
 * over N stanzas".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#define MAXBUF 4096

struct stanza {
    char kind[16];   /* "Digest" or "MAC" */
    char name[64];   /* Digest = NAME, MAC = NAME */
    char alg[64];    /* MAC's Algorithm */
    unsigned char key[MAXBUF], in[MAXBUF], out[MAXBUF];
    size_t keylen, inlen, outlen;
    long count;
    int line;
};

static int failures, total;

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes hex `s` into `dst` (room `cap`); -1 on a bad or too long value. */
static long unhex(const char *s, unsigned char *dst, size_t cap) {
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

static void fail(const struct stanza *s, const char *what) {
    failures++;
    fprintf(stderr, "line %d: %s %s%s%s: %s\n", s->line, s->kind, s->name, s->alg[0] ? " " : "", s->alg, what);
    ERR_print_errors_fp(stderr);
}

static int ours(const OSSL_PROVIDER *p) {
    return p && strcmp(OSSL_PROVIDER_get0_name(p), "warpdrive") == 0;
}

/* Feeds the stanza's input (Count times) to `ctx` in pieces of `step`
 * bytes (0: each repetition in one update). */
static int feed_digest(EVP_MD_CTX *ctx, const struct stanza *s, size_t step) {
    for (long r = 0; r < (s->count ? s->count : 1); r++) {
        if (step == 0 || s->inlen == 0) {
            if (!EVP_DigestUpdate(ctx, s->in, s->inlen)) return 0;
            continue;
        }
        for (size_t off = 0; off < s->inlen; off += step) {
            size_t n = s->inlen - off < step ? s->inlen - off : step;
            if (!EVP_DigestUpdate(ctx, s->in + off, n)) return 0;
        }
    }
    return 1;
}

static void run_digest(const struct stanza *s) {
    EVP_MD *md = EVP_MD_fetch(NULL, s->name, "provider=warpdrive");
    if (!md) return fail(s, "not fetched from our provider");
    if (!ours(EVP_MD_get0_provider(md))) {
        EVP_MD_free(md);
        return fail(s, "fetched from another provider");
    }
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if ((size_t)EVP_MD_get_size(md) != s->outlen) fail(s, "Output is not the digest's size");
    /* One shot (only without Count: EVP_Digest takes one buffer). */
    if (!s->count) {
        if (!EVP_Digest(s->in, s->inlen, got, &n, md, NULL) || n != s->outlen || memcmp(got, s->out, n))
            fail(s, "one-shot digest differs");
    }
    /* Whole repetitions, byte by byte (short inputs), uneven pieces. */
    size_t steps[] = {0, 1, 7, 65};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        if (steps[i] == 1 && s->inlen * (s->count ? s->count : 1) > 4096) continue;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = ctx && EVP_DigestInit_ex2(ctx, md, NULL) && feed_digest(ctx, s, steps[i]) &&
                 EVP_DigestFinal_ex(ctx, got, &n);
        if (!ok || n != s->outlen || memcmp(got, s->out, n)) {
            char msg[64];
            snprintf(msg, sizeof msg, "streamed digest (pieces of %zu) differs", steps[i]);
            fail(s, msg);
        }
        EVP_MD_CTX_free(ctx);
    }
    EVP_MD_free(md);
}

static void run_mac(const struct stanza *s) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, s->name, "provider=warpdrive");
    if (!mac) return fail(s, "not fetched from our provider");
    if (!ours(EVP_MAC_get0_provider(mac))) {
        EVP_MAC_free(mac);
        return fail(s, "fetched from another provider");
    }
    const char *param = strcmp(s->name, "CMAC") == 0 ? OSSL_MAC_PARAM_CIPHER : OSSL_MAC_PARAM_DIGEST;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(param, (char *)s->alg, 0),
        OSSL_PARAM_construct_end(),
    };
    /* Updates split at every third of the input. */
    size_t cuts[] = {0, s->inlen / 3, s->inlen};
    for (size_t c = 0; c < 3; c++) {
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        unsigned char got[EVP_MAX_MD_SIZE];
        size_t n = 0;
        int ok = ctx && EVP_MAC_init(ctx, s->key, s->keylen, params) &&
                 EVP_MAC_update(ctx, s->in, cuts[c]) && EVP_MAC_update(ctx, s->in + cuts[c], s->inlen - cuts[c]) &&
                 EVP_MAC_final(ctx, got, &n, sizeof got);
        if (!ok || n < s->outlen || memcmp(got, s->out, s->outlen)) {
            char msg[64];
            snprintf(msg, sizeof msg, "MAC (split at %zu) differs", cuts[c]);
            fail(s, msg);
        }
        EVP_MAC_CTX_free(ctx);
    }
    EVP_MAC_free(mac);
}

static void run(struct stanza *s) {
    if (!s->kind[0]) return;
    total++;
    if (strcmp(s->kind, "Digest") == 0)
        run_digest(s);
    else
        run_mac(s);
    memset(s, 0, sizeof *s);
}

/* Reads one file; returns the number of stanzas, -1 on a parse error. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    static struct stanza s;
    memset(&s, 0, sizeof s);
    char line[2 * MAXBUF + 64];
    int lineno = 0, before = total;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#') continue;
        if (!line[0]) {
            run(&s);
            continue;
        }
        char *eq = strstr(line, " = ");
        char *val = eq ? eq + 3 : NULL;
        if (!eq) {
            /* "Input =" with an empty value. */
            size_t n = strlen(line);
            if (n >= 2 && strcmp(line + n - 2, " =") == 0) {
                line[n - 2] = 0;
                val = "";
            } else {
                fprintf(stderr, "%s:%d: not a key = value line\n", path, lineno);
                fclose(f);
                return -1;
            }
        } else {
            *eq = 0;
        }
        long n = 0;
        if (!strcmp(line, "Digest") || !strcmp(line, "MAC")) {
            run(&s);
            strcpy(s.kind, line[0] == 'D' ? "Digest" : "MAC");
            snprintf(s.name, sizeof s.name, "%s", val);
            s.line = lineno;
        } else if (!strcmp(line, "Algorithm")) {
            snprintf(s.alg, sizeof s.alg, "%s", val);
        } else if (!strcmp(line, "Key")) {
            n = unhex(val, s.key, sizeof s.key);
            s.keylen = (size_t)n;
        } else if (!strcmp(line, "Input")) {
            n = unhex(val, s.in, sizeof s.in);
            s.inlen = (size_t)n;
        } else if (!strcmp(line, "Output")) {
            n = unhex(val, s.out, sizeof s.out);
            s.outlen = (size_t)n;
        } else if (!strcmp(line, "Count")) {
            s.count = atol(val);
        } else {
            fprintf(stderr, "%s:%d: unknown field %s\n", path, lineno, line);
            fclose(f);
            return -1;
        }
        if (n < 0 || !s.kind[0]) {
            fprintf(stderr, "%s:%d: bad value or no stanza\n", path, lineno);
            fclose(f);
            return -1;
        }
    }
    run(&s);
    fclose(f);
    printf("stanzas: %d in %s\n", total - before, path);
    return total - before;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: evp_kat PROVIDER_DIR FILE...\n");
        return 2;
    }
    OSSL_PROVIDER_set_default_search_path(NULL, argv[1]);
    OSSL_PROVIDER *wd = OSSL_PROVIDER_load(NULL, "warpdrive");
    OSSL_PROVIDER *def = OSSL_PROVIDER_load(NULL, "default");
    if (!wd || !def) {
        ERR_print_errors_fp(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (run_file(argv[i]) < 0) return 2;
    if (failures) {
        printf("FAIL: %d failed checks over %d stanzas\n", failures, total);
        return 1;
    }
    printf("PASS: %d stanzas\n", total);
    OSSL_PROVIDER_unload(wd);
    OSSL_PROVIDER_unload(def);
    return 0;
}
