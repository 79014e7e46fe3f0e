/* The daemon mode: a runtime on a private warpd (its socket in
 * WD_TEST_SOCKET, started by tests/ctests.rs), chosen explicitly and by
 * WD_MODE_AUTO through WARPD_SOCKET; devices, selection, a queue on
 * registered memory, compression, a digest, AEAD and signatures through
 * the broker; and a fork whose child is refused the parent's handles. */
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

int main(void) {
    const char *sock = getenv("WD_TEST_SOCKET");
    TRUE(sock != NULL);
    wd_runtime rt = {0};
    OK(wd_open(WD_MODE_DAEMON, sock, &rt));
    int daemon = 0;
    OK(wd_runtime_is_daemon(rt, &daemon));
    TRUE(daemon == 1);

    /* Auto picks the broker when WARPD_SOCKET names it. */
    setenv("WARPD_SOCKET", sock, 1);
    wd_runtime autort = {0};
    OK(wd_open(WD_MODE_AUTO, NULL, &autort));
    OK(wd_runtime_is_daemon(autort, &daemon));
    TRUE(daemon == 1);
    /* Daemon mode with no socket argument follows WARPD_SOCKET too. */
    wd_runtime envrt = {0};
    OK(wd_open(WD_MODE_DAEMON, NULL, &envrt));
    OK(wd_runtime_close(&envrt));

    size_t n = 0;
    OK(wd_device_count(rt, &n));
    TRUE(n >= 4);
    wd_device_info info;
    OK(wd_device_get(rt, 0, &info));
    TRUE(strlen(info.name) > 0);
    char name[64];
    OK(wd_select(rt, "sha256 digest", WD_NEAR_CALLING_CPU, 0, name, sizeof name, &n));
    TRUE(strncmp(name, "sec", 3) == 0);

    /* A queue of the broker's on registered memory. */
    wd_queue q = {0};
    OK(wd_queue_open_for(rt, "crc32c", WD_NEAR_ANY, 0, &q));
    wd_mem m = {0};
    OK(wd_mem_alloc(rt, 9, &m));
    void *p = NULL;
    OK(wd_mem_ptr(m, &p, &n));
    memcpy(p, "123456789", 9);
    wd_req r = {.op = WD_OP_CRC32C, .src = m, .user_data = 9};
    OK(wd_queue_submit(q, &r));
    wd_completion c;
    OK(wd_queue_wait(q, 1, &c, 1, &n));
    TRUE(n == 1 && c.status == WD_OK && (unsigned)c.result == 0xE3069283u);

    /* Compression, digest, AEAD and signatures through the broker. */
    unsigned char z[512], back[64], out[64];
    size_t zl = 0, bl = 0;
    OK(wd_compress(autort, "zstd", 3, "through the broker", 18, z, sizeof z, &zl));
    OK(wd_decompress(rt, "zstd", z, zl, back, sizeof back, &bl));
    TRUE(bl == 18 && memcmp(back, "through the broker", 18) == 0);
    /* A stream: its session lives in the broker. */
    wd_zstream zs = {0};
    OK(wd_zstream_open(rt, "gzip", 6, WD_COMPRESS, &zs));
    OK(wd_zstream_write(zs, "through ", 8));
    OK(wd_zstream_write(zs, "the broker", 10));
    OK(wd_zstream_finish(zs));
    OK(wd_zstream_read(zs, z, sizeof z, &zl));
    OK(wd_zstream_close(&zs));
    OK(wd_decompress(rt, "gzip", z, zl, back, sizeof back, &bl));
    TRUE(bl == 18 && memcmp(back, "through the broker", 18) == 0);
    OK(wd_digest(rt, "sha256", "abc", 3, out, sizeof out, &n));
    char h[129];
    hex(out, n, h);
    TRUE(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    unsigned char key[32] = {5}, nonce[12] = {6}, sealed[64];
    wd_aead k = {0};
    OK(wd_aead_new(rt, "aes-256-gcm", key, 32, &k));
    OK(wd_aead_seal(k, nonce, 12, "a", 1, "secret", 6, sealed, sizeof sealed, &n));
    sealed[n - 1] ^= 1;
    CHECK(wd_aead_open(k, nonce, 12, "a", 1, sealed, n, back, sizeof back, &bl), WD_EAUTH);
    sealed[n - 1] ^= 1;
    OK(wd_aead_open(k, nonce, 12, "a", 1, sealed, n, back, sizeof back, &bl));
    TRUE(bl == 6 && memcmp(back, "secret", 6) == 0);
    unsigned char der[256], pub[256], sig[128];
    size_t dl = 0, pl = 0, sl = 0;
    OK(wd_keygen(rt, "ed25519", der, sizeof der, &dl));
    wd_privkey sk = {0};
    OK(wd_privkey_new(rt, "ed25519", der, dl, &sk));
    OK(wd_privkey_public(sk, pub, sizeof pub, &pl));
    wd_pubkey pk = {0};
    OK(wd_pubkey_new(rt, "ed25519", pub, pl, &pk));
    OK(wd_sign(sk, "m", 1, sig, sizeof sig, &sl));
    OK(wd_verify(pk, "m", 1, sig, sl));
    sig[3] ^= 4;
    CHECK(wd_verify(pk, "m", 1, sig, sl), WD_EVERIFY);

    /* Broker runtimes follow the same fork rule. */
    fflush(stdout);
    pid_t pid = fork();
    TRUE(pid >= 0);
    if (pid == 0) {
        CHECK(wd_device_count(rt, &n), WD_EFORKED);
        CHECK(wd_queue_submit(q, &r), WD_EFORKED);
        CHECK(wd_digest(autort, "sha256", "abc", 3, out, sizeof out, &n), WD_EFORKED);
        wd_runtime mine = {0};
        OK(wd_open(WD_MODE_DAEMON, sock, &mine));
        OK(wd_digest(mine, "sha256", "abc", 3, out, sizeof out, &n));
        hex(out, n, h);
        TRUE(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
        OK(wd_runtime_close(&mine));
        /* As in fork.c: exec, so valgrind does not count the parent's
         * threads' allocations as the child's leaks. */
        execl("/bin/true", "true", (char *)NULL);
        _exit(2);
    }
    int status = 0;
    TRUE(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    OK(wd_queue_submit(q, &r));
    OK(wd_queue_wait(q, 1, &c, 1, &n));
    TRUE((unsigned)c.result == 0xE3069283u);

    OK(wd_privkey_free(&sk));
    OK(wd_pubkey_free(&pk));
    OK(wd_aead_free(&k));
    OK(wd_mem_free(&m));
    OK(wd_queue_close(&q));
    OK(wd_runtime_close(&autort));
    OK(wd_runtime_close(&rt));
    printf("daemon: ok\n");
    return 0;
}
