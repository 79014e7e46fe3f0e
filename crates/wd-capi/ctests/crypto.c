/* Digests, MACs and AEAD against known answers, and misuse: unknown
 * algorithms, wrong key sizes, small buffers, tampered tags and AAD. */
#include "check.h"

int main(void) {
    wd_runtime rt = open_embedded();
    unsigned char out[128];
    char h[300];
    size_t n = 0;

    /* SHA-256("abc") (FIPS 180-2 example). */
    OK(wd_digest(rt, "sha256", "abc", 3, out, sizeof out, &n));
    TRUE(n == 32);
    hex(out, n, h);
    TRUE(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    /* Names are case- and dash-insensitive. */
    OK(wd_digest(rt, "SHA-256", "abc", 3, out, sizeof out, &n));
    hex(out, n, h);
    TRUE(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    /* SHA-256 of nothing. */
    OK(wd_digest(rt, "sha256", NULL, 0, out, sizeof out, &n));
    hex(out, n, h);
    TRUE(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    /* SHA-512("abc"). */
    OK(wd_digest(rt, "sha512", "abc", 3, out, sizeof out, &n));
    TRUE(n == 64);
    hex(out, n, h);
    TRUE(strcmp(h, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f") == 0);
    CHECK(wd_digest(rt, "sha256", "abc", 3, out, 31, &n), WD_ENOSPC);
    TRUE(n == 32);
    CHECK(wd_digest(rt, "sha999", "abc", 3, out, sizeof out, &n), WD_EALG);
    TRUE(strstr(wd_last_error(), "sha999") != NULL);
    CHECK(wd_digest(rt, NULL, "abc", 3, out, sizeof out, &n), WD_EINVAL);
    CHECK(wd_digest(rt, "sha256", NULL, 3, out, sizeof out, &n), WD_EINVAL);
    CHECK(wd_digest(rt, "sha256", "abc", 3, out, sizeof out, NULL), WD_EINVAL);

    /* HMAC-SHA-256, RFC 4231 test case 1. */
    unsigned char key[20];
    memset(key, 0x0b, sizeof key);
    OK(wd_mac(rt, "hmac-sha256", key, sizeof key, "Hi There", 8, out, sizeof out, &n));
    TRUE(n == 32);
    hex(out, n, h);
    TRUE(strcmp(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0);
    OK(wd_mac_verify(rt, "hmac-sha256", key, sizeof key, "Hi There", 8, out, n));
    out[0] ^= 1;
    CHECK(wd_mac_verify(rt, "hmac-sha256", key, sizeof key, "Hi There", 8, out, n), WD_EAUTH);
    CHECK(wd_mac_verify(rt, "hmac-sha256", key, sizeof key, "Hi There", 8, out, 31), WD_EAUTH);
    CHECK(wd_mac(rt, "hmac-sha256", key, sizeof key, "Hi There", 8, out, 16, &n), WD_ENOSPC);
    TRUE(n == 32);
    CHECK(wd_mac(rt, "hmac-nope", key, sizeof key, "x", 1, out, sizeof out, &n), WD_EALG);
    CHECK(wd_mac(rt, "poly1305", key, sizeof key, "x", 1, out, sizeof out, &n), WD_EALG);
    /* CMAC-AES needs a 16, 24 or 32-byte key. */
    CHECK(wd_mac(rt, "cmac-aes", key, sizeof key, "x", 1, out, sizeof out, &n), WD_EKEY);
    /* CMAC-AES-128, RFC 4493 example 1 (empty message). */
    static const unsigned char ck[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                         0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
    OK(wd_mac(rt, "cmac-aes", ck, 16, NULL, 0, out, sizeof out, &n));
    hex(out, n, h);
    TRUE(strcmp(h, "bb1d6929e95937287fa37d129b756746") == 0);

    /* AES-128-GCM, the GCM specification's test case 1: zero key and IV,
     * empty plaintext; the tag is 58e2fccefa7e3061367f1d57a4e7455a. */
    unsigned char zkey[16] = {0}, iv[12] = {0};
    wd_aead k = {0};
    OK(wd_aead_new(rt, "aes-128-gcm", zkey, 16, &k));
    OK(wd_aead_seal(k, iv, 12, NULL, 0, NULL, 0, out, sizeof out, &n));
    TRUE(n == 16);
    hex(out, n, h);
    TRUE(strcmp(h, "58e2fccefa7e3061367f1d57a4e7455a") == 0);
    OK(wd_aead_free(&k));
    CHECK(wd_aead_free(&k), WD_EBADHANDLE);

    /* Round trip with AAD; every tampering is refused. */
    const char *algs[] = {"aes-256-gcm", "chacha20-poly1305", "aes-gcm"};
    for (int a = 0; a < 3; a++) {
        unsigned char k32[32];
        for (int i = 0; i < 32; i++)
            k32[i] = (unsigned char)(i * 3 + a);
        OK(wd_aead_new(rt, algs[a], k32, 32, &k));
        const char *msg = "attack at dawn, bring the accelerator";
        size_t ml = strlen(msg);
        unsigned char sealed[128], opened[128];
        size_t sl = 0, ol = 0;
        CHECK(wd_aead_seal(k, iv, 12, "hdr", 3, msg, ml, sealed, ml, &sl), WD_ENOSPC);
        TRUE(sl == ml + 16);
        OK(wd_aead_seal(k, iv, 12, "hdr", 3, msg, ml, sealed, sizeof sealed, &sl));
        TRUE(sl == ml + 16 && memcmp(sealed, msg, ml) != 0);
        CHECK(wd_aead_open(k, iv, 12, "hdr", 3, sealed, sl, opened, 3, &ol), WD_ENOSPC);
        TRUE(ol == ml);
        OK(wd_aead_open(k, iv, 12, "hdr", 3, sealed, sl, opened, sizeof opened, &ol));
        TRUE(ol == ml && memcmp(opened, msg, ml) == 0);
        sealed[sl - 1] ^= 0x80; /* the tag */
        CHECK(wd_aead_open(k, iv, 12, "hdr", 3, sealed, sl, opened, sizeof opened, &ol), WD_EAUTH);
        sealed[sl - 1] ^= 0x80;
        sealed[0] ^= 1; /* the ciphertext */
        CHECK(wd_aead_open(k, iv, 12, "hdr", 3, sealed, sl, opened, sizeof opened, &ol), WD_EAUTH);
        sealed[0] ^= 1;
        CHECK(wd_aead_open(k, iv, 12, "hdX", 3, sealed, sl, opened, sizeof opened, &ol), WD_EAUTH);
        iv[0] = 1;
        CHECK(wd_aead_open(k, iv, 12, "hdr", 3, sealed, sl, opened, sizeof opened, &ol), WD_EAUTH);
        iv[0] = 0;
        OK(wd_aead_open(k, iv, 12, "hdr", 3, sealed, sl, opened, sizeof opened, &ol));
        CHECK(wd_aead_seal(k, iv, 5, NULL, 0, msg, ml, sealed, sizeof sealed, &sl), WD_EKEY);
        OK(wd_aead_free(&k));
    }
    CHECK(wd_aead_new(rt, "aes-256-gcm", zkey, 16, &k), WD_EKEY);
    CHECK(wd_aead_new(rt, "aes-gcm", zkey, 15, &k), WD_EKEY);
    CHECK(wd_aead_new(rt, "aes-cbc", zkey, 16, &k), WD_EALG);
    CHECK(wd_aead_new(rt, "rot13", zkey, 16, &k), WD_EALG);
    CHECK(wd_aead_new(rt, "aes-gcm", NULL, 16, &k), WD_EINVAL);
    CHECK(wd_aead_new(rt, "aes-gcm", zkey, 16, NULL), WD_EINVAL);
    CHECK(wd_aead_seal(k, iv, 12, NULL, 0, NULL, 0, out, sizeof out, &n), WD_EBADHANDLE);

    OK(wd_runtime_close(&rt));
    printf("crypto: ok\n");
    return 0;
}
