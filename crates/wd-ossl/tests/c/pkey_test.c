/*
 * Public-key keys and operations of the warpdrive provider through
 * libcrypto's EVP API, with the default provider beside it:
 *  - keys made by the default provider cross into ours as OSSL_PARAMs
 *    (EVP_PKEY_todata / EVP_PKEY_fromdata with "provider=warpdrive") and
 *    back, and compare equal (EVP_PKEY_eq: our match); sizes agree;
 *  - garbage key parameters (an inconsistent RSA modulus, a string where
 *    a number goes, a point off the curve, an unknown curve, wrong sizes,
 *    a public key that does not belong to the private one) are refused
 *    with an error on the queue;
 *  - wrong padding, impossible salt lengths, damaged ciphertexts, bad
 *    signatures and small-order X25519 peers fail with an error (or a
 *    clean "invalid"), never a crash.
 * Usage: pkey_test PROVIDER_DIR. Prints "PASS: 0 failures" at the end.
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(c, ...)                                           \
  do {                                                          \
    if (!(c)) {                                                 \
      failures++;                                               \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
      fprintf(stderr, __VA_ARGS__);                             \
      fputc('\n', stderr);                                      \
      ERR_print_errors_fp(stderr);                              \
    }                                                           \
  } while (0)

#define OURS "provider=warpdrive"
#define DEF "provider=default"

/* An error is on the queue (and is cleared). */
static int had_error(void) {
  unsigned long e = ERR_peek_error();
  ERR_clear_error();
  return e != 0;
}

static EVP_PKEY *fromdata(const char *alg, const char *prop, int sel, OSSL_PARAM *p) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, alg, prop);
  EVP_PKEY *k = NULL;
  if (c == NULL || EVP_PKEY_fromdata_init(c) <= 0 || EVP_PKEY_fromdata(c, &k, sel, p) <= 0) k = NULL;
  EVP_PKEY_CTX_free(c);
  return k;
}

static const char *prov_of(const EVP_PKEY *k) {
  const OSSL_PROVIDER *p = EVP_PKEY_get0_provider(k);
  return p ? OSSL_PROVIDER_get0_name(p) : "(legacy)";
}

/* The key `def` (default provider) imported into ours and exported back. */
static EVP_PKEY *cross(const char *alg, EVP_PKEY *def) {
  OSSL_PARAM *p = NULL;
  CHECK(EVP_PKEY_todata(def, EVP_PKEY_KEYPAIR, &p) == 1, "%s todata", alg);
  EVP_PKEY *ours = fromdata(alg, OURS, EVP_PKEY_KEYPAIR, p);
  OSSL_PARAM_free(p);
  CHECK(ours != NULL && strcmp(prov_of(ours), "warpdrive") == 0, "%s import into warpdrive", alg);
  if (ours == NULL) return NULL;
  CHECK(EVP_PKEY_eq(ours, def) == 1, "%s: imported key equals the original", alg);
  CHECK(EVP_PKEY_get_bits(ours) == EVP_PKEY_get_bits(def), "%s bits %d %d", alg, EVP_PKEY_get_bits(ours),
        EVP_PKEY_get_bits(def));
  CHECK(EVP_PKEY_get_size(ours) == EVP_PKEY_get_size(def), "%s size", alg);
  /* And back: our export, imported by the default provider. */
  p = NULL;
  CHECK(EVP_PKEY_todata(ours, EVP_PKEY_KEYPAIR, &p) == 1, "%s todata from ours", alg);
  EVP_PKEY *back = fromdata(alg, DEF, EVP_PKEY_KEYPAIR, p);
  OSSL_PARAM_free(p);
  CHECK(back != NULL && EVP_PKEY_eq(back, def) == 1, "%s exported back equals", alg);
  EVP_PKEY_free(back);
  return ours;
}

/* Signs a digest with `signer` in its provider, verifies with `verifier`
 * in the other; `pss` sets RSA-PSS with `salt`. */
static int sign_verify(EVP_PKEY *signer, const char *sprop, EVP_PKEY *verifier, const char *vprop, int pss,
                       int salt) {
  unsigned char md[32], sig[1024];
  size_t siglen = sizeof sig;
  memset(md, 0x5a, sizeof md);
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, signer, sprop);
  int ok = c != NULL && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0;
  if (ok && pss)
    ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) > 0 && EVP_PKEY_CTX_set_rsa_pss_saltlen(c, salt) > 0;
  ok = ok && EVP_PKEY_sign(c, sig, &siglen, md, sizeof md) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok) return 0;
  c = EVP_PKEY_CTX_new_from_pkey(NULL, verifier, vprop);
  ok = c != NULL && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0;
  if (ok && pss)
    ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_AUTO) > 0;
  ok = ok && EVP_PKEY_verify(c, sig, siglen, md, sizeof md) == 1;
  /* One flipped bit: invalid (0), not an error value or a crash. */
  sig[siglen / 3] ^= 4;
  if (ok) ok = EVP_PKEY_verify(c, sig, siglen, md, sizeof md) == 0;
  EVP_PKEY_CTX_free(c);
  ERR_clear_error();
  return ok;
}

/* A copy of `p` with the octets or number named `key` changed by `f`. */
static void flip(OSSL_PARAM *p, const char *key, size_t at) {
  OSSL_PARAM *e = OSSL_PARAM_locate(p, key);
  CHECK(e != NULL && e->data_size > at, "locate %s", key);
  if (e != NULL && e->data_size > at) ((unsigned char *)e->data)[at] ^= 0x01;
}

static void rsa(void) {
  EVP_PKEY *def = EVP_PKEY_Q_keygen(NULL, DEF, "RSA", (size_t)2048);
  EVP_PKEY *ours = cross("RSA", def);
  if (ours == NULL) return;
  CHECK(sign_verify(ours, OURS, def, DEF, 0, 0), "RSA PKCS#1: ours signs, default verifies");
  CHECK(sign_verify(def, DEF, ours, OURS, 0, 0), "RSA PKCS#1: default signs, ours verifies");
  int salts[] = {RSA_PSS_SALTLEN_DIGEST, RSA_PSS_SALTLEN_AUTO, RSA_PSS_SALTLEN_MAX, 0, 17};
  for (size_t i = 0; i < sizeof salts / sizeof *salts; i++) {
    CHECK(sign_verify(ours, OURS, def, DEF, 1, salts[i]), "RSA-PSS salt %d: ours signs", salts[i]);
    CHECK(sign_verify(def, DEF, ours, OURS, 1, salts[i]), "RSA-PSS salt %d: ours verifies", salts[i]);
  }
  /* A salt longer than the modulus allows: an error. */
  CHECK(!sign_verify(ours, OURS, def, DEF, 1, 1000) && had_error(), "RSA-PSS salt 1000 refused");

  /* Garbage key parameters. */
  OSSL_PARAM *p = NULL;
  EVP_PKEY_todata(def, EVP_PKEY_KEYPAIR, &p);
  flip(p, OSSL_PKEY_PARAM_RSA_N, 100);
  EVP_PKEY *bad = fromdata("RSA", OURS, EVP_PKEY_KEYPAIR, p);
  CHECK(bad == NULL && had_error(), "an RSA modulus that is not p*q is refused");
  EVP_PKEY_free(bad);
  OSSL_PARAM_free(p);
  OSSL_PARAM s[] = {OSSL_PARAM_utf8_string("n", "12345", 5), OSSL_PARAM_END};
  bad = fromdata("RSA", OURS, EVP_PKEY_PUBLIC_KEY, s);
  CHECK(bad == NULL && had_error(), "an RSA modulus given as a string is refused");
  EVP_PKEY_free(bad);
  unsigned int e = 65537;
  OSSL_PARAM only_e[] = {OSSL_PARAM_uint("e", &e), OSSL_PARAM_END};
  bad = fromdata("RSA", OURS, EVP_PKEY_PUBLIC_KEY, only_e);
  CHECK(bad == NULL && had_error(), "an RSA key without n is refused");
  EVP_PKEY_free(bad);

  /* Wrong padding for the operation: refused when set. */
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, ours, OURS);
  CHECK(EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 && had_error(),
        "OAEP padding for a signature refused");
  EVP_PKEY_CTX_free(c);
  c = EVP_PKEY_CTX_new_from_pkey(NULL, ours, OURS);
  CHECK(EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) <= 0 && had_error(),
        "PSS padding for encryption refused");
  EVP_PKEY_CTX_free(c);

  /* OAEP with a label, ours to default and back; garbage does not decrypt. */
  unsigned char msg[] = "oaep message", ct[512], pt[512];
  size_t ctlen = sizeof ct, ptlen = sizeof pt;
  c = EVP_PKEY_CTX_new_from_pkey(NULL, ours, OURS);
  unsigned char *label = OPENSSL_memdup("label!", 6);
  int ok = EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0 && EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 6) > 0 &&
           EVP_PKEY_encrypt(c, ct, &ctlen, msg, sizeof msg) == 1;
  CHECK(ok, "OAEP encrypt (ours)");
  EVP_PKEY_CTX_free(c);
  c = EVP_PKEY_CTX_new_from_pkey(NULL, def, DEF);
  label = OPENSSL_memdup("label!", 6);
  ok = EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
       EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0 && EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 6) > 0 &&
       EVP_PKEY_decrypt(c, pt, &ptlen, ct, ctlen) == 1 && ptlen == sizeof msg && memcmp(pt, msg, ptlen) == 0;
  CHECK(ok, "OAEP decrypt (default) of ours");
  EVP_PKEY_CTX_free(c);
  c = EVP_PKEY_CTX_new_from_pkey(NULL, ours, OURS);
  memset(ct, 0x33, 256);
  ptlen = sizeof pt;
  CHECK(EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
            EVP_PKEY_decrypt(c, pt, &ptlen, ct, 256) <= 0 && had_error(),
        "garbage OAEP ciphertext refused");
  EVP_PKEY_CTX_free(c);
  /* Implicit rejection (OpenSSL 3.2's PKCS#1 v1.5 default) is not offered: refused, not pretended. */
  c = EVP_PKEY_CTX_new_from_pkey(NULL, ours, OURS);
  unsigned int ir = 1;
  OSSL_PARAM irp[] = {OSSL_PARAM_uint("implicit-rejection", &ir), OSSL_PARAM_END};
  CHECK(EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_params(c, irp) <= 0 && had_error(),
        "implicit rejection refused");
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(ours);
  EVP_PKEY_free(def);
}

static void ec(const char *curve) {
  EVP_PKEY *def = EVP_PKEY_Q_keygen(NULL, DEF, "EC", curve);
  EVP_PKEY *ours = cross("EC", def);
  if (ours == NULL) return;
  CHECK(sign_verify(ours, OURS, def, DEF, 0, 0), "ECDSA %s: ours signs", curve);
  CHECK(sign_verify(def, DEF, ours, OURS, 0, 0), "ECDSA %s: ours verifies", curve);
  OSSL_PARAM *p = NULL;
  EVP_PKEY_todata(def, EVP_PKEY_KEYPAIR, &p);
  flip(p, OSSL_PKEY_PARAM_PUB_KEY, 20);
  EVP_PKEY *bad = fromdata("EC", OURS, EVP_PKEY_PUBLIC_KEY, p);
  CHECK(bad == NULL && had_error(), "%s: a point off the curve is refused", curve);
  EVP_PKEY_free(bad);
  OSSL_PARAM_free(p);
  unsigned char pt[65] = {4};
  OSSL_PARAM g[] = {OSSL_PARAM_utf8_string("group", "secp521r1", 0), OSSL_PARAM_octet_string("pub", pt, 65),
                    OSSL_PARAM_END};
  bad = fromdata("EC", OURS, EVP_PKEY_PUBLIC_KEY, g);
  CHECK(bad == NULL && had_error(), "a curve we do not offer is refused");
  EVP_PKEY_free(bad);
  EVP_PKEY_free(ours);
  EVP_PKEY_free(def);
}

static void ecx(void) {
  unsigned char k[32] = {1, 2, 3};
  OSSL_PARAM shortpub[] = {OSSL_PARAM_octet_string("pub", k, 31), OSSL_PARAM_END};
  EVP_PKEY *bad = fromdata("X25519", OURS, EVP_PKEY_PUBLIC_KEY, shortpub);
  CHECK(bad == NULL && had_error(), "a 31-byte X25519 key is refused");
  EVP_PKEY_free(bad);
  unsigned char seed[32] = {9}, wrong[32] = {7};
  OSSL_PARAM mismatch[] = {OSSL_PARAM_octet_string("priv", seed, 32), OSSL_PARAM_octet_string("pub", wrong, 32),
                           OSSL_PARAM_END};
  bad = fromdata("ED25519", OURS, EVP_PKEY_KEYPAIR, mismatch);
  CHECK(bad == NULL && had_error(), "an Ed25519 public key of another private key is refused");
  EVP_PKEY_free(bad);

  EVP_PKEY *ed_def = EVP_PKEY_Q_keygen(NULL, DEF, "ED25519");
  EVP_PKEY *ed = cross("ED25519", ed_def);
  EVP_PKEY *x_def = EVP_PKEY_Q_keygen(NULL, DEF, "X25519");
  EVP_PKEY *x = cross("X25519", x_def);
  if (ed == NULL || x == NULL) return;
  /* Ed25519 through EVP_DigestSign: ours and default agree (deterministic). */
  unsigned char sig1[64], sig2[64], m[] = "message";
  size_t l1 = 64, l2 = 64;
  EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
  CHECK(EVP_DigestSignInit_ex(a, NULL, NULL, NULL, OURS, ed, NULL) == 1 && EVP_DigestSign(a, sig1, &l1, m, 7) == 1,
        "Ed25519 sign (ours)");
  CHECK(EVP_DigestSignInit_ex(b, NULL, NULL, NULL, DEF, ed_def, NULL) == 1 &&
            EVP_DigestSign(b, sig2, &l2, m, 7) == 1 && l1 == 64 && l2 == 64 && memcmp(sig1, sig2, 64) == 0,
        "Ed25519 signatures equal");
  EVP_MD_CTX_free(a);
  EVP_MD_CTX_free(b);
  /* X25519 with an all-zero (small-order) peer: an error. */
  unsigned char zero[32] = {0}, out[32];
  size_t outl = 32;
  OSSL_PARAM zp[] = {OSSL_PARAM_octet_string("pub", zero, 32), OSSL_PARAM_END};
  EVP_PKEY *peer = fromdata("X25519", OURS, EVP_PKEY_PUBLIC_KEY, zp);
  CHECK(peer != NULL, "all-zero X25519 public value imports");
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, x, OURS);
  CHECK(c != NULL && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
            EVP_PKEY_derive(c, out, &outl) <= 0 && had_error(),
        "X25519 with a small-order peer refused");
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(ed);
  EVP_PKEY_free(ed_def);
  EVP_PKEY_free(x);
  EVP_PKEY_free(x_def);
}

/* What `openssl speed` does: an EC key generated from a paramgen
 * template, and a signing context initialised twice (the second time
 * libcrypto passes no key: the first one stays). */
static void template_and_reinit(void) {
  EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", OURS);
  EVP_PKEY *params = NULL, *key = NULL;
  CHECK(pc != NULL && EVP_PKEY_paramgen_init(pc) == 1 && EVP_PKEY_CTX_set_group_name(pc, "P-384") == 1 &&
            EVP_PKEY_paramgen(pc, &params) == 1,
        "EC paramgen (ours)");
  EVP_PKEY_CTX_free(pc);
  if (params == NULL) return;
  EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, OURS);
  CHECK(kc != NULL && EVP_PKEY_keygen_init(kc) == 1 && EVP_PKEY_keygen(kc, &key) == 1 && EVP_PKEY_get_bits(key) == 384,
        "EC keygen from a P-384 template");
  EVP_PKEY_CTX_free(kc);
  EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, OURS, "ED25519");
  EVP_PKEY *keys[] = {key, ed};
  for (int i = 0; i < 2; i++) {
    if (keys[i] == NULL) continue;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned char sig[128];
    size_t l = sizeof sig;
    const EVP_MD *md = i == 0 ? EVP_sha384() : NULL;
    int ok = EVP_DigestSignInit_ex(m, NULL, md ? "SHA384" : NULL, NULL, OURS, keys[i], NULL) == 1 &&
             EVP_DigestSign(m, sig, &l, (const unsigned char *)"x", 1) == 1;
    l = sizeof sig;
    ok = ok && EVP_DigestSignInit(m, NULL, NULL, NULL, NULL) == 1 &&
         EVP_DigestSign(m, sig, &l, (const unsigned char *)"y", 1) == 1;
    CHECK(ok, "%s: sign, re-initialise with no key, sign again", i == 0 ? "ECDSA" : "Ed25519");
    EVP_MD_CTX *v = EVP_MD_CTX_new();
    CHECK(EVP_DigestVerifyInit_ex(v, NULL, md ? "SHA384" : NULL, NULL, DEF, keys[i], NULL) == 1 &&
              EVP_DigestVerify(v, sig, l, (const unsigned char *)"y", 1) == 1,
          "the second signature verifies (default)");
    EVP_MD_CTX_free(v);
    EVP_MD_CTX_free(m);
  }
  EVP_PKEY_free(ed);
  EVP_PKEY_free(key);
  EVP_PKEY_free(params);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  OSSL_PROVIDER_set_default_search_path(NULL, argv[1]);
  OSSL_PROVIDER *w = OSSL_PROVIDER_load(NULL, "warpdrive");
  OSSL_PROVIDER *d = OSSL_PROVIDER_load(NULL, "default");
  if (w == NULL || d == NULL) {
    ERR_print_errors_fp(stderr);
    return 2;
  }
  rsa();
  ec("P-256");
  ec("P-384");
  ecx();
  template_and_reinit();
  printf("PASS: %d failures\n", failures);
  OSSL_PROVIDER_unload(w);
  OSSL_PROVIDER_unload(d);
  return failures != 0;
}
