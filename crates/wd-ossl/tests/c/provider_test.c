/* Drives the warpdrive provider through libcrypto's EVP API, fetching
 * every algorithm under test with "provider=warpdrive" (and checking the
 * fetch really resolved to it), against the default provider loaded in
 * the same process:
 *   digests over several sizes equal the default provider's;
 *   HMAC over every digest, several key and data sizes, equals the
 *   default provider's, and RFC 4231's test case 2; CMAC over AES-128,
 *   192 and 256 equals the default provider's and RFC 4493's examples;
 *   AEAD vectors from a stanza file (evp_test format) seal and open, in
 *   one and in several updates, with the tag set before or after the data;
 *   a wrong tag fails and (tag set first) releases no plaintext;
 *   random messages round-trip ours <-> default;
 *   TLS 1.2 records (TLS1_AAD, fixed IV, IV generation) round-trip
 *   ours <-> default, and a forged record is refused;
 *   AES and SM4 ECB/CBC/CTR vectors (SP 800-38A, GB/T 32907) in one and in 7-byte updates
 *   through a copied context; random messages with padding equal the
 *   default provider's, and a garbled padding gets the same verdict;
 *   AES-XTS data units equal the default provider's both ways;
 *   after fork() both processes keep computing the same results.
 * Usage: provider_test PROVIDER_DIR VECTOR_FILE... Exit status 0 = pass. */
#define _GNU_SOURCE
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(c, ...)                                                        \
  do {                                                                       \
    if (!(c)) {                                                              \
      failures++;                                                            \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                   \
      fprintf(stderr, __VA_ARGS__);                                          \
      fprintf(stderr, "\n");                                                 \
      ERR_print_errors_fp(stderr);                                           \
    }                                                                        \
  } while (0)

static const char *OURS = "provider=warpdrive";
static const char *THEIRS = "provider=default";

static EVP_MD *md(const char *name, const char *prop) {
  EVP_MD *m = EVP_MD_fetch(NULL, name, prop);
  if (m && prop == OURS)
    CHECK(strcmp(OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(m)), "warpdrive") == 0, "%s not ours", name);
  return m;
}

static EVP_CIPHER *ciph(const char *name, const char *prop) {
  EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, prop);
  CHECK(c != NULL, "fetch %s %s", name, prop);
  if (c && prop == OURS)
    CHECK(strcmp(OSSL_PROVIDER_get0_name(EVP_CIPHER_get0_provider(c)), "warpdrive") == 0, "%s not ours", name);
  return c;
}

/* Digest of `len` bytes, fed in chunks of `chunk` (0: one update), or
 * through EVP_Digest; a copy of the context part way checks dupctx. */
static int digest(const char *name, const char *prop, const unsigned char *d, size_t len, size_t chunk,
                  unsigned char *out) {
  EVP_MD *m = md(name, prop);
  unsigned int n = 0;
  if (!m) return -1;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = EVP_DigestInit_ex(c, m, NULL);
  size_t step = chunk ? chunk : (len ? len : 1);
  for (size_t off = 0; ok && off < len; off += step) {
    size_t k = len - off < step ? len - off : step;
    ok = EVP_DigestUpdate(c, d + off, k);
    if (ok && off == 0 && len <= (1 << 20)) {
      /* Continue on a copy (TLS hashes its transcript so); a message past
       * 1 MiB may be a device stream, which cannot be copied. */
      EVP_MD_CTX *dup = EVP_MD_CTX_new();
      ok = EVP_MD_CTX_copy_ex(dup, c);
      EVP_MD_CTX_free(c);
      c = dup;
    }
  }
  ok = ok && EVP_DigestFinal_ex(c, out, &n);
  EVP_MD_CTX_free(c);
  EVP_MD_free(m);
  return ok ? (int)n : -1;
}

static void digests(void) {
  static const char *names[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "SHA512-256",
                                "SHA3-256", "SHA3-384", "SHA3-512", "SM3", "MD5"};
  /* Up to 1 MiB a message is gathered and digested in one request; past
   * it, it streams (on the device when a queue is to be had). */
  static const size_t sizes[] = {0, 1, 64, 1000, 1 << 20, (1 << 20) + (1 << 17) + 5};
  unsigned char *buf = malloc((1 << 20) + (1 << 17) + 5);
  for (size_t i = 0; i < (1 << 20) + (1 << 17) + 5; i++) buf[i] = (unsigned char)(i * 131 + 7);
  for (size_t a = 0; a < sizeof names / sizeof *names; a++) {
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      unsigned char x[64], y[64], z[64], w[64];
      int n1 = digest(names[a], OURS, buf, sizes[s], 0, x);
      int n2 = digest(names[a], THEIRS, buf, sizes[s], 0, y);
      size_t small = sizes[s] > (1 << 20) ? 4093 : 7;
      int n3 = digest(names[a], OURS, buf, sizes[s], small, z);
      CHECK(n1 > 0 && n1 == n2 && memcmp(x, y, n1) == 0, "%s over %zu bytes differs", names[a], sizes[s]);
      CHECK(n3 == n1 && memcmp(x, z, n1) == 0, "%s in %zu-byte updates differs", names[a], small);
      /* One-shot EVP_Digest. */
      unsigned int n4 = 0;
      EVP_MD *m = md(names[a], OURS);
      CHECK(m && EVP_Digest(buf, sizes[s], w, &n4, m, NULL) && (int)n4 == n1 && memcmp(w, x, n4) == 0,
            "EVP_Digest %s", names[a]);
      EVP_MD_free(m);
    }
  }
  free(buf);
}

/* HMAC of `d` under `key` through `prop`, fed in `chunk`-byte updates
 * (0: one), continued in a copy after the first; returns its length. */
static int hmac(const char *digest, const char *prop, const unsigned char *key, size_t keylen,
                const unsigned char *d, size_t len, size_t chunk, unsigned char *out) {
  EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", prop);
  CHECK(m != NULL, "fetch HMAC %s", prop);
  if (!m) return -1;
  if (prop == OURS)
    CHECK(strcmp(OSSL_PROVIDER_get0_name(EVP_MAC_get0_provider(m)), "warpdrive") == 0, "HMAC not ours");
  EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
  OSSL_PARAM ps[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)digest, 0), OSSL_PARAM_END};
  int ok = c && EVP_MAC_init(c, key, keylen, ps);
  size_t step = chunk ? chunk : (len ? len : 1), n = 0;
  for (size_t off = 0; ok && off < len; off += step) {
    size_t k = len - off < step ? len - off : step;
    ok = EVP_MAC_update(c, d + off, k);
    if (ok && off == 0) {
      EVP_MAC_CTX *dup = EVP_MAC_CTX_dup(c);
      ok = dup != NULL;
      EVP_MAC_CTX_free(c);
      c = dup;
    }
  }
  ok = ok && EVP_MAC_final(c, out, &n, 64);
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(m);
  return ok ? (int)n : -1;
}

/* CMAC of `d` under `key` with `cipher` through `prop`, in `chunk`-byte
 * updates (0: one), continued in a copy after the first. */
static int cmac(const char *cipher, const char *prop, const unsigned char *key, size_t keylen,
                const unsigned char *d, size_t len, size_t chunk, unsigned char *out) {
  EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", prop);
  CHECK(m != NULL, "fetch CMAC %s", prop);
  if (!m) return -1;
  if (prop == OURS)
    CHECK(strcmp(OSSL_PROVIDER_get0_name(EVP_MAC_get0_provider(m)), "warpdrive") == 0, "CMAC not ours");
  EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
  OSSL_PARAM ps[] = {OSSL_PARAM_construct_utf8_string("cipher", (char *)cipher, 0), OSSL_PARAM_END};
  int ok = c && EVP_MAC_init(c, key, keylen, ps);
  size_t step = chunk ? chunk : (len ? len : 1), n = 0;
  for (size_t off = 0; ok && off < len; off += step) {
    size_t k = len - off < step ? len - off : step;
    ok = EVP_MAC_update(c, d + off, k);
    if (ok && off == 0) {
      EVP_MAC_CTX *dup = EVP_MAC_CTX_dup(c);
      ok = dup != NULL;
      EVP_MAC_CTX_free(c);
      c = dup;
    }
  }
  ok = ok && EVP_MAC_final(c, out, &n, 16);
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(m);
  return ok ? (int)n : -1;
}

static void cmacs(void) {
  static const char *ciphers[] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
  static const size_t sizes[] = {0, 1, 16, 17, 1000};
  unsigned char key[32], d[1000], x[16], y[16], z[16];
  RAND_bytes(d, sizeof d);
  for (int a = 0; a < 3; a++)
    for (size_t s = 0; s < 5; s++) {
      RAND_bytes(key, 32);
      size_t kl = 16 + 8 * (size_t)a;
      int n1 = cmac(ciphers[a], OURS, key, kl, d, sizes[s], 0, x);
      int n2 = cmac(ciphers[a], THEIRS, key, kl, d, sizes[s], 0, y);
      int n3 = cmac(ciphers[a], OURS, key, kl, d, sizes[s], 7, z);
      CHECK(n1 == 16 && n2 == 16 && memcmp(x, y, 16) == 0, "CMAC %s over %zu differs", ciphers[a], sizes[s]);
      CHECK(n3 == 16 && memcmp(x, z, 16) == 0, "CMAC %s in 7-byte updates differs", ciphers[a]);
    }
  /* RFC 4493 section 4, examples 1 and 2. */
  static const unsigned char k[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                      0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
  static const unsigned char m[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
                                      0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
  static const unsigned char t0[16] = {0xbb, 0x1d, 0x69, 0x29, 0xe9, 0x59, 0x37, 0x28,
                                       0x7f, 0xa3, 0x7d, 0x12, 0x9b, 0x75, 0x67, 0x46};
  static const unsigned char t1[16] = {0x07, 0x0a, 0x16, 0xb4, 0x6b, 0x4d, 0x41, 0x44,
                                       0xf7, 0x9b, 0xdd, 0x9d, 0xd0, 0x4a, 0x28, 0x7c};
  CHECK(cmac("AES-128-CBC", OURS, k, 16, m, 0, 0, x) == 16 && memcmp(x, t0, 16) == 0, "RFC 4493 example 1");
  CHECK(cmac("AES-128-CBC", OURS, k, 16, m, 16, 0, x) == 16 && memcmp(x, t1, 16) == 0, "RFC 4493 example 2");
  ERR_clear_error();
  CHECK(cmac("DES-EDE3-CBC", OURS, key, 24, d, 10, 0, x) < 0 && ERR_peek_error() != 0, "CMAC-3DES accepted");
  ERR_clear_error();
}

static void hmacs(void) {
  static const char *names[] = {"SHA1", "SHA2-224", "SHA256", "SHA384", "SHA-512", "SHA512-256",
                                "SHA3-256", "SHA3-384", "SHA3-512", "SM3", "MD5"};
  static const size_t keys[] = {0, 20, 64, 131}, sizes[] = {0, 1, 1000};
  unsigned char key[131], d[1000], x[64], y[64], z[64];
  for (size_t i = 0; i < sizeof key; i++) key[i] = (unsigned char)(i * 7 + 1);
  for (size_t i = 0; i < sizeof d; i++) d[i] = (unsigned char)(i * 13 + 5);
  for (size_t a = 0; a < sizeof names / sizeof *names; a++)
    for (size_t k = 0; k < 4; k++)
      for (size_t s = 0; s < 3; s++) {
        int n1 = hmac(names[a], OURS, key, keys[k], d, sizes[s], 0, x);
        int n2 = hmac(names[a], THEIRS, key, keys[k], d, sizes[s], 0, y);
        int n3 = hmac(names[a], OURS, key, keys[k], d, sizes[s], 7, z);
        CHECK(n1 > 0 && n1 == n2 && memcmp(x, y, n1) == 0, "HMAC-%s key %zu data %zu differs", names[a], keys[k],
              sizes[s]);
        CHECK(n3 == n1 && memcmp(x, z, n1) == 0, "HMAC-%s in 7-byte updates differs", names[a]);
      }
  /* RFC 4231 test case 2. */
  static const unsigned char want[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                         0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                         0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  const char *msg = "what do ya want for nothing?";
  CHECK(hmac("SHA256", OURS, (const unsigned char *)"Jefe", 4, (const unsigned char *)msg, strlen(msg), 0, x) == 32 &&
            memcmp(x, want, 32) == 0,
        "RFC 4231 test case 2");
  /* A digest we do not offer is refused with an error, not a crash. */
  ERR_clear_error();
  CHECK(hmac("BLAKE2B-512", OURS, key, 16, d, 10, 0, x) < 0 && ERR_peek_error() != 0, "HMAC-BLAKE2 accepted");
  ERR_clear_error();
}

/* ---- AEAD ---- */

typedef struct {
  char cipher[64];
  unsigned char key[64], iv[128], aad[256], pt[512], ct[512], tag[16];
  size_t keylen, ivlen, aadlen, ptlen, ctlen, taglen;
} vec_t;

static size_t unhex(const char *s, unsigned char *out, size_t cap) {
  size_t n = 0;
  while (s[0] && s[1] && n < cap) {
    unsigned int b;
    if (sscanf(s, "%2x", &b) != 1) break;
    out[n++] = (unsigned char)b;
    s += 2;
  }
  return n;
}

/* Seals v->pt with `prop`'s cipher, in `parts` updates; 1 when ok. */
static int seal(const char *prop, const vec_t *v, int parts, unsigned char *ct, unsigned char *tag) {
  EVP_CIPHER *c = ciph(v->cipher, prop);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_EncryptInit_ex2(x, c, NULL, NULL, NULL);
  int ccm = strstr(v->cipher, "CCM") != NULL;
  size_t total = 0;
  ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)v->ivlen, NULL) > 0;
  /* CCM: the tag length first, the message length before the AAD. */
  if (ccm) ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)v->taglen, NULL) > 0;
  ok = ok && EVP_EncryptInit_ex2(x, NULL, v->key, v->iv, NULL);
  if (ccm) ok = ok && EVP_EncryptUpdate(x, NULL, &n, NULL, (int)v->ptlen);
  if (v->aadlen) ok = ok && EVP_EncryptUpdate(x, NULL, &n, v->aad, (int)v->aadlen);
  size_t step = parts > 1 ? (v->ptlen + parts - 1) / parts : v->ptlen;
  for (size_t off = 0; ok && off < v->ptlen; off += step) {
    size_t k = v->ptlen - off < step ? v->ptlen - off : step;
    ok = EVP_EncryptUpdate(x, ct + total, &n, v->pt + off, (int)k);
    total += n;
  }
  ok = ok && EVP_EncryptFinal_ex(x, ct + total, &n);
  total += n;
  ok = ok && total == v->ptlen;
  ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)v->taglen, tag) > 0;
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
  return ok;
}

/* Opens ct/tag; `tag_first` sets the tag before the data (TLS 1.3's
 * order). Returns 1 when it verifies; *released counts plaintext bytes
 * handed out. */
static int open_(const char *prop, const vec_t *v, const unsigned char *ct, const unsigned char *tag, int tag_first,
                 unsigned char *pt, size_t *released) {
  EVP_CIPHER *c = ciph(v->cipher, prop);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_DecryptInit_ex2(x, c, NULL, NULL, NULL);
  int ccm = strstr(v->cipher, "CCM") != NULL;
  *released = 0;
  ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)v->ivlen, NULL) > 0;
  ok = ok && EVP_DecryptInit_ex2(x, NULL, v->key, v->iv, NULL);
  if (tag_first) ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)v->taglen, (void *)tag) > 0;
  if (ccm) ok = ok && EVP_DecryptUpdate(x, NULL, &n, NULL, (int)v->ptlen);
  if (v->aadlen) ok = ok && EVP_DecryptUpdate(x, NULL, &n, v->aad, (int)v->aadlen);
  if (ok && v->ptlen) {
    ok = EVP_DecryptUpdate(x, pt, &n, ct, (int)v->ptlen);
    if (ok) *released += n;
  }
  if (!tag_first) ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)v->taglen, (void *)tag) > 0;
  ok = ok && EVP_DecryptFinal_ex(x, pt + *released, &n) > 0;
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
  ERR_clear_error();
  return ok;
}

static void run_vector(const vec_t *v, int line) {
  unsigned char ct[512], tag[16], pt[512];
  size_t rel;
  /* CCM takes its data in one update and its tag before the data. */
  int ccm = strstr(v->cipher, "CCM") != NULL;
  for (int parts = 1; parts <= (ccm ? 1 : 3); parts += 2) {
    CHECK(seal(OURS, v, parts, ct, tag), "vector at line %d: seal failed", line);
    CHECK(memcmp(ct, v->ct, v->ctlen) == 0 && v->ctlen == v->ptlen, "vector at line %d: ciphertext", line);
    CHECK(memcmp(tag, v->tag, v->taglen) == 0, "vector at line %d: tag", line);
  }
  for (int first = ccm; first <= 1; first++) {
    CHECK(open_(OURS, v, v->ct, v->tag, first, pt, &rel), "vector at line %d: open (tag first %d)", line, first);
    CHECK(rel == v->ptlen && memcmp(pt, v->pt, v->ptlen) == 0, "vector at line %d: plaintext", line);
    unsigned char bad[16];
    memcpy(bad, v->tag, 16);
    bad[0] ^= 1;
    memset(pt, 0, sizeof pt);
    CHECK(!open_(OURS, v, v->ct, bad, first, pt, &rel), "vector at line %d: forged tag accepted", line);
    if (first) CHECK(rel == 0, "vector at line %d: plaintext released under a bad tag", line);
  }
}

/* A plain mode through `prop`: `len` bytes of `in` in updates of `chunk`
 * bytes, padding on or off; returns the output length or -1. */
static int block_crypt(const char *name, const char *prop, int enc, int pad, const unsigned char *key,
                       const unsigned char *iv, const unsigned char *in, size_t len, size_t chunk,
                       unsigned char *out) {
  EVP_CIPHER *c = ciph(name, prop);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n = 0, total = 0, ok = c && EVP_CipherInit_ex2(x, c, key, iv, enc, NULL);
  ok = ok && EVP_CIPHER_CTX_set_padding(x, pad);
  size_t step = chunk ? chunk : (len ? len : 1);
  for (size_t off = 0; ok && off < len; off += step) {
    size_t k = len - off < step ? len - off : step;
    ok = EVP_CipherUpdate(x, out + total, &n, in + off, (int)k);
    total += n;
    if (ok && off == 0) {
      /* Go on in a copy: dupctx keeps partial blocks and the counter. */
      EVP_CIPHER_CTX *d = EVP_CIPHER_CTX_new();
      ok = EVP_CIPHER_CTX_copy(d, x);
      EVP_CIPHER_CTX_free(x);
      x = d;
    }
  }
  ok = ok && EVP_CipherFinal_ex(x, out + total, &n);
  total += n;
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
  ERR_clear_error();
  return ok ? total : -1;
}

static void run_block_vector(const vec_t *v, int line) {
  unsigned char out[600];
  for (size_t chunk = 0; chunk <= 7; chunk += 7) {
    int n = block_crypt(v->cipher, OURS, 1, 0, v->key, v->iv, v->pt, v->ptlen, chunk, out);
    CHECK(n == (int)v->ctlen && memcmp(out, v->ct, v->ctlen) == 0, "vector at line %d: encrypt (chunk %zu)", line,
          chunk);
    n = block_crypt(v->cipher, OURS, 0, 0, v->key, v->iv, v->ct, v->ctlen, chunk, out);
    CHECK(n == (int)v->ptlen && memcmp(out, v->pt, v->ptlen) == 0, "vector at line %d: decrypt (chunk %zu)", line,
          chunk);
  }
}

/* Random messages with padding, in several update sizes, ours <-> default;
 * a corrupted padding block fails. */
static void block_interop(void) {
  static const char *names[] = {"AES-128-ECB", "AES-192-CBC", "AES-256-CBC", "AES-128-CTR",
                                "AES-256-CTR", "SM4-ECB",     "SM4-CBC",     "SM4-CTR"};
  static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 4096, 70001};
  static unsigned char in[70001], ct[70100], ct2[70100], back[70100];
  unsigned char key[32], iv[16];
  for (size_t a = 0; a < sizeof names / sizeof *names; a++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
      for (size_t chunk = 0; chunk <= 5; chunk += 5) {
        RAND_bytes(key, 32);
        RAND_bytes(iv, 16);
        RAND_bytes(in, (int)sizes[s] + 1);
        size_t ch = chunk && sizes[s] > 1000 ? 4093 : chunk;
        int n1 = block_crypt(names[a], OURS, 1, 1, key, iv, in, sizes[s], ch, ct);
        int n2 = block_crypt(names[a], THEIRS, 1, 1, key, iv, in, sizes[s], 0, ct2);
        CHECK(n1 >= 0 && n1 == n2 && memcmp(ct, ct2, n1) == 0, "%s %zu chunk %zu: ours != default", names[a],
              sizes[s], ch);
        int n3 = block_crypt(names[a], OURS, 0, 1, key, iv, ct2, n2 > 0 ? n2 : 0, ch, back);
        CHECK(n3 == (int)sizes[s] && memcmp(back, in, sizes[s]) == 0, "%s %zu: ours does not open default's",
              names[a], sizes[s]);
        if (strstr(names[a], "CTR") == NULL && n2 >= 16) {
          ct2[n2 - 1] ^= 0x5a; /* the last block's padding, garbled */
          int bad = block_crypt(names[a], OURS, 0, 1, key, iv, ct2, n2, 0, back);
          int ref = block_crypt(names[a], THEIRS, 0, 1, key, iv, ct2, n2, 0, back);
          CHECK((bad < 0) == (ref < 0), "%s: bad padding verdict differs (ours %d, default %d)", names[a], bad, ref);
        }
      }
}

/* XTS: each update is one data unit; ours equals default both ways, and
 * a unit shorter than a block is refused by both. */
static void xts(void) {
  static const char *names[] = {"AES-128-XTS", "AES-256-XTS"};
  static const size_t sizes[] = {16, 17, 100, 512, 4096, 4111};
  static unsigned char in[4111], a[4200], b[4200], back[4200];
  unsigned char key[64], iv[16];
  for (size_t n = 0; n < 2; n++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      RAND_bytes(key, 64);
      RAND_bytes(iv, 16);
      RAND_bytes(in, (int)sizes[s]);
      int n1 = block_crypt(names[n], OURS, 1, 0, key, iv, in, sizes[s], 0, a);
      int n2 = block_crypt(names[n], THEIRS, 1, 0, key, iv, in, sizes[s], 0, b);
      CHECK(n1 == (int)sizes[s] && n1 == n2 && memcmp(a, b, n1) == 0, "%s %zu: ours != default", names[n],
            sizes[s]);
      int n3 = block_crypt(names[n], OURS, 0, 0, key, iv, b, sizes[s], 0, back);
      CHECK(n3 == (int)sizes[s] && memcmp(back, in, sizes[s]) == 0, "%s %zu: ours does not open default's",
            names[n], sizes[s]);
    }
  unsigned char k2[64], iv2[16] = {0}, short_in[15] = {0}, out[64];
  for (int i = 0; i < 64; i++) k2[i] = (unsigned char)i;
  CHECK(block_crypt("AES-128-XTS", OURS, 1, 0, k2, iv2, short_in, 15, 0, out) < 0, "XTS unit of 15 bytes accepted");
}

static void vectors(const char *path) {
  FILE *f = fopen(path, "r");
  CHECK(f != NULL, "open %s", path);
  if (!f) return;
  char line[2048];
  vec_t v;
  int have = 0, start = 0, ln = 0, count = 0;
  memset(&v, 0, sizeof v);
  for (;;) {
    char *l = fgets(line, sizeof line, f);
    ln++;
    if (!l || line[0] == '\n' || line[0] == '#') {
      if (have) {
        if (v.taglen)
          run_vector(&v, start);
        else
          run_block_vector(&v, start);
        count++;
      }
      have = 0;
      memset(&v, 0, sizeof v);
      if (!l) break;
      continue;
    }
    line[strcspn(line, "\r\n")] = 0;
    char *eq = strchr(line, '=');
    if (!eq) continue;
    char *val = eq + 1;
    while (*val == ' ') val++;
    *eq = 0;
    for (char *e = eq - 1; e >= line && *e == ' '; e--) *e = 0;
    if (!have) start = ln;
    have = 1;
    if (!strcmp(line, "Cipher")) snprintf(v.cipher, sizeof v.cipher, "%s", val);
    else if (!strcmp(line, "Key")) v.keylen = unhex(val, v.key, sizeof v.key);
    else if (!strcmp(line, "IV")) v.ivlen = unhex(val, v.iv, sizeof v.iv);
    else if (!strcmp(line, "AAD")) v.aadlen = unhex(val, v.aad, sizeof v.aad);
    else if (!strcmp(line, "Plaintext")) v.ptlen = unhex(val, v.pt, sizeof v.pt);
    else if (!strcmp(line, "Ciphertext")) v.ctlen = unhex(val, v.ct, sizeof v.ct);
    else if (!strcmp(line, "Tag")) v.taglen = unhex(val, v.tag, sizeof v.tag);
  }
  fclose(f);
  CHECK(count >= 6, "only %d vectors read from %s", count, path);
  printf("vectors: %d from %s\n", count, path);
}

/* Feeds `len` bytes to `x` in updates of `chunk` (0: one); returns the
 * bytes written to `out` or -1. */
static int feed(EVP_CIPHER_CTX *x, unsigned char *out, const unsigned char *in, size_t len, size_t chunk) {
  size_t step = chunk ? chunk : (len ? len : 1);
  int total = 0, n = 0;
  for (size_t off = 0; off < len; off += step) {
    size_t k = len - off < step ? len - off : step;
    if (!EVP_CipherUpdate(x, out + total, &n, in + off, (int)k)) return -1;
    total += n;
  }
  return total;
}

/* Random messages: ours seals, default opens, and the reverse; in one
 * update (the opener sets the tag first, as TLS 1.3 does) and in many
 * (tag set after the data). */
static void interop(void) {
  static const char *names[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
  static const size_t sizes[] = {0, 1, 17, 1000, 70000};
  static unsigned char ct[70000], pt[70000], big[70001];
  unsigned char key[32], iv[12], aad[13], tag[16];
  for (size_t a = 0; a < 3; a++)
    for (size_t s = 0; s < 5; s++)
      for (size_t chunk = 0; chunk <= 4093; chunk += 4093) {
        size_t ch = chunk && sizes[s] < 10000 ? 100 : chunk;
        RAND_bytes(key, 32);
        RAND_bytes(iv, 12);
        RAND_bytes(aad, 13);
        RAND_bytes(big, (int)sizes[s] + 1);
        for (int dir = 0; dir < 2; dir++) {
          const char *sealer = dir ? THEIRS : OURS, *opener = dir ? OURS : THEIRS;
          EVP_CIPHER *c = ciph(names[a], sealer);
          EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
          int n = 0, ok = EVP_EncryptInit_ex2(x, c, key, iv, NULL);
          ok = ok && EVP_EncryptUpdate(x, NULL, &n, aad, 13);
          int w = ok ? feed(x, ct, big, sizes[s], ch) : -1;
          ok = w == (int)sizes[s] && EVP_EncryptFinal_ex(x, ct + w, &n);
          ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag) > 0;
          EVP_CIPHER_CTX_free(x);
          EVP_CIPHER_free(c);
          CHECK(ok, "%s %zu (chunk %zu): seal by %s", names[a], sizes[s], ch, sealer);
          c = ciph(names[a], opener);
          x = EVP_CIPHER_CTX_new();
          ok = EVP_DecryptInit_ex2(x, c, key, iv, NULL);
          if (!ch) ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, tag) > 0;
          ok = ok && EVP_DecryptUpdate(x, NULL, &n, aad, 13);
          int r = ok ? feed(x, pt, ct, sizes[s], ch) : -1;
          if (ch) ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, tag) > 0;
          ok = ok && r == (int)sizes[s] && EVP_DecryptFinal_ex(x, pt + r, &n) > 0;
          EVP_CIPHER_CTX_free(x);
          EVP_CIPHER_free(c);
          CHECK(ok && memcmp(pt, big, sizes[s]) == 0, "%s %zu (chunk %zu): open by %s", names[a], sizes[s], ch,
                opener);
          /* A forged tag fails the stream's final too. */
          if (ch && sizes[s]) {
            c = ciph(names[a], opener);
            x = EVP_CIPHER_CTX_new();
            tag[3] ^= 4;
            ok = EVP_DecryptInit_ex2(x, c, key, iv, NULL) && EVP_DecryptUpdate(x, NULL, &n, aad, 13);
            r = ok ? feed(x, pt, ct, sizes[s], ch) : -1;
            ok = r >= 0 && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, tag) > 0 &&
                 EVP_DecryptFinal_ex(x, pt + r, &n) > 0;
            CHECK(!ok, "%s %zu (chunk %zu): forged tag accepted by %s", names[a], sizes[s], ch, opener);
            tag[3] ^= 4;
            EVP_CIPHER_CTX_free(x);
            EVP_CIPHER_free(c);
            ERR_clear_error();
          }
        }
      }
}

/* TLS 1.2 record: seal with `sealer`, open with `opener`, in place. */
static void tls_record(const char *name, const char *sealer, const char *opener, size_t payload) {
  int gcm = strstr(name, "GCM") != NULL;
  size_t lead = gcm ? 8 : 0, len = lead + payload + 16;
  unsigned char key[32], fixed[12], aad[13], *rec = malloc(len), *orig = malloc(payload + 1);
  RAND_bytes(key, 32);
  RAND_bytes(fixed, 12);
  RAND_bytes(aad, 13);
  RAND_bytes(orig, (int)payload + 1);
  /* The AAD's length field: the record without its tag when sealing,
   * with it when opening (as libssl sets it). */
  unsigned char aad_open[13];
  aad[11] = (unsigned char)((len - 16) >> 8);
  aad[12] = (unsigned char)(len - 16);
  memcpy(aad_open, aad, 13);
  aad_open[11] = (unsigned char)(len >> 8);
  aad_open[12] = (unsigned char)len;
  memcpy(rec + lead, orig, payload);
  int fixed_len = gcm ? 4 : 12;
  for (int tamper = 0; tamper < 2; tamper++) {
    EVP_CIPHER *c = ciph(name, sealer);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    memcpy(rec + lead, orig, payload);
    int ok = EVP_EncryptInit_ex2(x, c, key, NULL, NULL);
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IV_FIXED, fixed_len, fixed) > 0;
    int pad = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_TLS1_AAD, 13, aad);
    CHECK(pad == 16, "%s: TLS AAD pad %d by %s", name, pad, sealer);
    /* libssl passes a record through EVP_CipherUpdate; outl is the
     * record (sealing) or the payload (opening). */
    int r = -1;
    if (ok && !EVP_CipherUpdate(x, rec, &r, rec, (int)len)) r = -1;
    CHECK(r == (int)len, "%s: TLS seal by %s returned %d", name, sealer, r);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    if (tamper) rec[len - 1] ^= 0x80;
    c = ciph(name, opener);
    x = EVP_CIPHER_CTX_new();
    ok = EVP_DecryptInit_ex2(x, c, key, NULL, NULL);
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IV_FIXED, fixed_len, fixed) > 0;
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_TLS1_AAD, 13, aad_open) == 16;
    r = -1;
    if (ok && !EVP_CipherUpdate(x, rec, &r, rec, (int)len)) r = -1;
    if (tamper) {
      CHECK(r < 0, "%s: forged TLS record opened by %s", name, opener);
      int zero = 1;
      for (size_t i = 0; i < payload; i++) zero &= memcmp(rec + lead + i, orig + i, 1) != 0 || orig[i] == 0;
      CHECK(zero || payload == 0, "%s: forged record's plaintext left in the buffer by %s", name, opener);
    } else {
      CHECK(r == (int)payload && memcmp(rec + lead, orig, payload) == 0, "%s: TLS record %s -> %s (r=%d)", name, sealer,
            opener, r);
    }
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    ERR_clear_error();
  }
  free(rec);
  free(orig);
}

static void tls(void) {
  static const char *names[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
  for (int a = 0; a < 3; a++)
    for (size_t p = 0; p <= 16384; p += 16384 / 2 - 1) {
      tls_record(names[a], OURS, THEIRS, p);
      tls_record(names[a], THEIRS, OURS, p);
    }
}

/* Wrong sizes, calls out of order and malformed parameters fail with an
 * error on the queue, never a crash. */
static void bad_input(void) {
  unsigned char key[32] = {1}, iv[16] = {2}, buf[64] = {0}, tag[17] = {0};
  int n = 0;
  EVP_CIPHER *c = ciph("AES-256-GCM", OURS);
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
#define REFUSED(expr, what)                                                  \
  do {                                                                       \
    ERR_clear_error();                                                       \
    int r_ = (expr);                                                         \
    CHECK(r_ <= 0 && ERR_peek_error() != 0, "%s accepted (or no error queued)", what); \
    ERR_clear_error();                                                       \
  } while (0)
  /* Data before any key. */
  CHECK(EVP_EncryptInit_ex2(x, c, NULL, NULL, NULL), "init without key");
  REFUSED(EVP_EncryptUpdate(x, buf, &n, buf, 16), "update without key");
  /* Key length other than the cipher's. */
  OSSL_PARAM kl[] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_KEYLEN, &(size_t){16}), OSSL_PARAM_END};
  REFUSED(EVP_CIPHER_CTX_set_params(x, kl), "keylen 16 on AES-256");
  /* IV lengths out of range. */
  REFUSED(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 0, NULL), "ivlen 0");
  REFUSED(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 129, NULL), "ivlen 129");
  /* A parameter of the wrong type. */
  OSSL_PARAM wt[] = {OSSL_PARAM_construct_utf8_string(OSSL_CIPHER_PARAM_AEAD_IVLEN, "twelve", 0), OSSL_PARAM_END};
  REFUSED(EVP_CIPHER_CTX_set_params(x, wt), "ivlen as a string");
  /* Tags of bad sizes when opening; final with no tag. */
  CHECK(EVP_DecryptInit_ex2(x, c, key, iv, NULL), "decrypt init");
  REFUSED(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 17, tag), "17-byte tag");
  REFUSED(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 3, tag), "3-byte tag");
  CHECK(EVP_DecryptUpdate(x, buf, &n, buf, 16), "decrypt update");
  REFUSED(EVP_DecryptFinal_ex(x, buf, &n), "final without a tag");
  /* TLS: AAD of the wrong size, a record shorter than IV and tag. */
  CHECK(EVP_EncryptInit_ex2(x, c, key, NULL, NULL), "encrypt init");
  REFUSED(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_TLS1_AAD, 12, buf), "12-byte TLS AAD");
  CHECK(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IV_FIXED, 4, iv) > 0, "fixed iv");
  unsigned char aad[13] = {0};
  aad[12] = 8;
  CHECK(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_TLS1_AAD, 13, aad) == 16, "TLS AAD");
  REFUSED(EVP_CipherUpdate(x, buf, &n, buf, 20) , "20-byte TLS record");
  /* Wrong key size on a fresh context. */
  EVP_CIPHER_CTX_free(x);
  x = EVP_CIPHER_CTX_new();
  OSSL_PARAM kl2[] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_KEYLEN, &(size_t){24}), OSSL_PARAM_END};
  REFUSED(EVP_EncryptInit_ex2(x, c, key, iv, kl2), "init with keylen 24");
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(c);
#undef REFUSED
}

/* The same work before and after fork, in both processes. */
static void fork_check(void) {
  unsigned char buf[100000], before[32], after[32];
  memset(buf, 0x5a, sizeof buf);
  CHECK(digest("SHA256", OURS, buf, sizeof buf, 0, before) == 32, "sha256 before fork");
  vec_t v;
  memset(&v, 0, sizeof v);
  strcpy(v.cipher, "AES-256-GCM");
  v.keylen = 32, v.ivlen = 12, v.taglen = 16, v.ptlen = 500;
  unsigned char ct0[512], tag0[16], ct1[512], tag1[16];
  CHECK(seal(OURS, &v, 1, ct0, tag0), "seal before fork");
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  int ok = digest("SHA256", OURS, buf, sizeof buf, 0, after) == 32 && memcmp(before, after, 32) == 0 &&
           seal(OURS, &v, 1, ct1, tag1) && memcmp(ct0, ct1, 500) == 0 && memcmp(tag0, tag1, 16) == 0;
  if (pid == 0) _exit(ok ? 0 : 1);
  CHECK(ok, "parent after fork");
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child after fork: status %d", st);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PROVIDER_DIR VECTOR_FILE...\n", argv[0]);
    return 2;
  }
  OSSL_PROVIDER_set_default_search_path(NULL, argv[1]);
  OSSL_PROVIDER *ours = OSSL_PROVIDER_load(NULL, "warpdrive");
  OSSL_PROVIDER *def = OSSL_PROVIDER_load(NULL, "default");
  if (!ours || !def) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  digests();
  hmacs();
  cmacs();
  for (int i = 2; i < argc; i++) vectors(argv[i]);
  interop();
  block_interop();
  xts();
  tls();
  bad_input();
  fork_check();
  OSSL_PROVIDER_unload(ours);
  OSSL_PROVIDER_unload(def);
  printf("%s: %d failures\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
