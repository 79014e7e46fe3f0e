/* One runtime and one AEAD key shared by several threads at once: each
 * thread compresses, digests and seals its own data, and checks it. A
 * queue shared by two threads serializes their calls. */
#include <pthread.h>
#include <stdint.h>

#include "check.h"

static wd_runtime rt;
static wd_aead key;
static wd_queue shared_q;

static void *work(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    unsigned char data[20000], z[30000], back[20000], sealed[64], opened[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)("thread-" [i % 7] + id);
    for (int round = 0; round < 5; round++) {
        size_t zl = 0, bl = 0, sl = 0, ol = 0;
        OK(wd_compress(rt, "lz4", 0, data, sizeof data, z, sizeof z, &zl));
        OK(wd_decompress(rt, "lz4", z, zl, back, sizeof back, &bl));
        TRUE(bl == sizeof data && memcmp(back, data, bl) == 0);
        unsigned char nonce[12] = {(unsigned char)id, (unsigned char)round};
        OK(wd_aead_seal(key, nonce, 12, NULL, 0, data, 32, sealed, sizeof sealed, &sl));
        OK(wd_aead_open(key, nonce, 12, NULL, 0, sealed, sl, opened, sizeof opened, &ol));
        TRUE(ol == 32 && memcmp(opened, data, 32) == 0);
        wd_req r = {.op = WD_OP_NOP, .user_data = id};
        /* The shared queue: each thread waits for a completion, any one. */
        OK(wd_queue_submit(shared_q, &r));
        wd_completion c;
        size_t n = 0;
        int rc = wd_queue_poll(shared_q, &c, 1, &n);
        TRUE(rc == WD_OK);
    }
    return NULL;
}

int main(void) {
    rt = open_embedded();
    unsigned char k[32] = {9};
    OK(wd_aead_new(rt, "chacha20-poly1305", k, 32, &key));
    OK(wd_queue_open(rt, "dma", &shared_q));
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        TRUE(pthread_create(&t[i], NULL, work, (void *)i) == 0);
    for (int i = 0; i < 4; i++)
        TRUE(pthread_join(t[i], NULL) == 0);
    /* Every NOP completes: reap what the threads' polls left. */
    size_t left = 0;
    OK(wd_queue_in_flight(shared_q, &left));
    while (left > 0) {
        wd_completion c[20];
        size_t n = 0;
        OK(wd_queue_wait(shared_q, 1, c, 20, &n));
        left -= n;
    }
    OK(wd_queue_in_flight(shared_q, &left));
    TRUE(left == 0);
    OK(wd_queue_close(&shared_q));
    OK(wd_aead_free(&key));
    OK(wd_runtime_close(&rt));
    printf("threads: ok\n");
    return 0;
}
