/* Signatures: keys generated on the device, loaded as PKCS#8 / SPKI DER
 * and PEM, sign and verify; a flipped byte in the signature or the
 * message fails; and misuse: unknown schemes and key types, keys that do
 * not parse or do not fit the scheme, small buffers, double free. */
#include "check.h"
#include "rsa_key.h"

/* Bytes from lowercase hex; their count. */
static size_t unhex(const char *h, unsigned char *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        TRUE(sscanf(h + 2 * i, "%2x", &v) == 1);
        out[i] = (unsigned char)v;
    }
    return n;
}

/* An openssl-made RSA key (PKCS#1 PEM): its public half and a PKCS#1 v1.5
 * signature match openssl's byte for byte; PSS signs and verifies. */
static void rsa_from_openssl(wd_runtime rt) {
    unsigned char spki[512], want[256], pub[512], sig[512];
    size_t spki_len = unhex(RSA_SPKI_HEX, spki), want_len = unhex(RSA_SIG_ABC_HEX, want);
    size_t pl = 0, sl = 0;
    wd_privkey sk = {0};
    OK(wd_privkey_new(rt, "rsa-pkcs1-sha256", RSA_PRIV_PEM, strlen(RSA_PRIV_PEM), &sk));
    OK(wd_privkey_public(sk, pub, sizeof pub, &pl));
    TRUE(pl == spki_len && memcmp(pub, spki, pl) == 0);
    OK(wd_sign(sk, "abc", 3, sig, sizeof sig, &sl));
    TRUE(sl == want_len && memcmp(sig, want, sl) == 0);
    wd_pubkey pk = {0};
    OK(wd_pubkey_new(rt, "rsa-pkcs1-sha256", RSA_PUB_PEM, strlen(RSA_PUB_PEM), &pk));
    OK(wd_verify(pk, "abc", 3, want, want_len));
    want[0] ^= 0x40;
    CHECK(wd_verify(pk, "abc", 3, want, want_len), WD_EVERIFY);
    OK(wd_privkey_free(&sk));
    OK(wd_pubkey_free(&pk));

    /* PSS (randomised): sign, verify with the SPKI DER form, flip a byte. */
    OK(wd_privkey_new(rt, "rsa-pss-sha256", RSA_PRIV_PEM, strlen(RSA_PRIV_PEM), &sk));
    OK(wd_pubkey_new(rt, "rsa-pss-sha256", spki, spki_len, &pk));
    OK(wd_sign(sk, "abc", 3, sig, sizeof sig, &sl));
    TRUE(sl == 256);
    OK(wd_verify(pk, "abc", 3, sig, sl));
    sig[100] ^= 1;
    CHECK(wd_verify(pk, "abc", 3, sig, sl), WD_EVERIFY);
    /* A PKCS#1 v1.5 signature is no PSS signature. */
    unhex(RSA_SIG_ABC_HEX, want);
    CHECK(wd_verify(pk, "abc", 3, want, want_len), WD_EVERIFY);
    OK(wd_privkey_free(&sk));
    OK(wd_pubkey_free(&pk));
}

/* PEM armour of DER (base64, 64 columns), for the PEM path. */
static size_t pem(const char *label, const unsigned char *der, size_t n, char *out) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = (size_t)sprintf(out, "-----BEGIN %s-----\n", label), col = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)der[i] << 16 | (i + 1 < n ? (unsigned)der[i + 1] << 8 : 0) |
                     (i + 2 < n ? der[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
        if ((col += 4) == 64) {
            out[o++] = '\n';
            col = 0;
        }
    }
    if (col)
        out[o++] = '\n';
    o += (size_t)sprintf(out + o, "-----END %s-----\n", label);
    return o;
}

static void roundtrip(wd_runtime rt, const char *type, const char *scheme) {
    unsigned char der[4096], pub[1024], sig[512];
    size_t dl = 0, pl = 0, sl = 0;
    OK(wd_keygen(rt, type, der, sizeof der, &dl));
    TRUE(dl > 32);
    wd_privkey sk = {0};
    OK(wd_privkey_new(rt, scheme, der, dl, &sk));
    CHECK(wd_privkey_public(sk, pub, 8, &pl), WD_ENOSPC);
    TRUE(pl > 8);
    OK(wd_privkey_public(sk, pub, sizeof pub, &pl));
    wd_pubkey pk = {0};
    OK(wd_pubkey_new(rt, scheme, pub, pl, &pk));

    const char *msg = "a message worth signing";
    size_t ml = strlen(msg);
    CHECK(wd_sign(sk, msg, ml, sig, 4, &sl), WD_ENOSPC);
    TRUE(sl > 4);
    OK(wd_sign(sk, msg, ml, sig, sizeof sig, &sl));
    OK(wd_verify(pk, msg, ml, sig, sl));
    sig[sl / 2] ^= 0x01;
    CHECK(wd_verify(pk, msg, ml, sig, sl), WD_EVERIFY);
    sig[sl / 2] ^= 0x01;
    CHECK(wd_verify(pk, "A message worth signing", ml, sig, sl), WD_EVERIFY);
    CHECK(wd_verify(pk, msg, ml, sig, sl - 1), WD_EVERIFY);
    OK(wd_verify(pk, msg, ml, sig, sl));

    /* The same keys as PEM. */
    char text[8192];
    size_t tl = pem("PRIVATE KEY", der, dl, text);
    wd_privkey sk2 = {0};
    OK(wd_privkey_new(rt, scheme, text, tl, &sk2));
    tl = pem("PUBLIC KEY", pub, pl, text);
    wd_pubkey pk2 = {0};
    OK(wd_pubkey_new(rt, scheme, text, tl, &pk2));
    OK(wd_sign(sk2, msg, ml, sig, sizeof sig, &sl));
    OK(wd_verify(pk, msg, ml, sig, sl));
    OK(wd_verify(pk2, msg, ml, sig, sl));

    /* A public key where a private one is needed, and the reverse. */
    CHECK(wd_privkey_new(rt, scheme, pub, pl, &sk2), WD_EKEY);
    CHECK(wd_pubkey_new(rt, scheme, der, dl, &pk2), WD_EKEY);

    OK(wd_privkey_free(&sk));
    CHECK(wd_privkey_free(&sk), WD_EBADHANDLE);
    CHECK(wd_sign(sk, msg, ml, sig, sizeof sig, &sl), WD_EBADHANDLE);
    OK(wd_pubkey_free(&pk));
    CHECK(wd_pubkey_free(&pk), WD_EBADHANDLE);
    CHECK(wd_verify(pk, msg, ml, sig, sl), WD_EBADHANDLE);
    OK(wd_privkey_free(&sk2));
    OK(wd_pubkey_free(&pk2));
}

int main(void) {
    wd_runtime rt = open_embedded();
    roundtrip(rt, "ed25519", "ed25519");
    roundtrip(rt, "p256", "ecdsa-p256-sha256");
    rsa_from_openssl(rt);

    /* Ed25519 signatures are deterministic: 64 bytes, same each time. */
    unsigned char der[256], s1[128], s2[128];
    size_t dl = 0, l1 = 0, l2 = 0;
    OK(wd_keygen(rt, "ed25519", der, sizeof der, &dl));
    wd_privkey sk = {0};
    OK(wd_privkey_new(rt, "Ed25519", der, dl, &sk));
    OK(wd_sign(sk, "x", 1, s1, sizeof s1, &l1));
    OK(wd_sign(sk, "x", 1, s2, sizeof s2, &l2));
    TRUE(l1 == 64 && l2 == 64 && memcmp(s1, s2, 64) == 0);
    OK(wd_privkey_free(&sk));

    /* A key of one type under another scheme is refused. */
    CHECK(wd_privkey_new(rt, "ecdsa-p256-sha256", der, dl, &sk), WD_EKEY);
    /* Misuse. */
    CHECK(wd_keygen(rt, "rsa1024", der, sizeof der, &dl), WD_EALG);
    CHECK(wd_keygen(rt, "ed25519", der, sizeof der, NULL), WD_EINVAL);
    CHECK(wd_privkey_new(rt, "dsa-sha1", der, dl, &sk), WD_EALG);
    TRUE(strstr(wd_last_error(), "dsa-sha1") != NULL);
    CHECK(wd_privkey_new(rt, "ed25519", "garbage", 7, &sk), WD_EKEY);
    CHECK(wd_privkey_new(rt, "ed25519", NULL, 7, &sk), WD_EINVAL);
    CHECK(wd_privkey_new(rt, "ed25519", der, dl, NULL), WD_EINVAL);
    wd_pubkey pk = {0};
    CHECK(wd_pubkey_new(rt, "ed25519", "garbage", 7, &pk), WD_EKEY);
    CHECK(wd_privkey_free(NULL), WD_EINVAL);
    CHECK(wd_pubkey_free(NULL), WD_EINVAL);

    OK(wd_runtime_close(&rt));
    printf("sign: ok\n");
    return 0;
}
