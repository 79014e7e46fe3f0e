/* Queues on registered memory: copy, fill, compare, CRC-32C, NOP; poll,
 * wait, the eventfd with epoll; a full ring; and misuse: blocks in flight, bad ops,
 * waiting with nothing in flight, NULLs, double close and free. */
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "check.h"

static wd_completion wait_one(wd_queue q) {
    wd_completion c;
    size_t n = 0;
    OK(wd_queue_wait(q, 1, &c, 1, &n));
    TRUE(n == 1);
    return c;
}

int main(void) {
    wd_runtime rt = open_embedded();
    wd_queue q = {0};
    OK(wd_queue_open(rt, "dma", &q));
    CHECK(wd_queue_open(rt, "nosuchdevice", &q), WD_ENODEV);
    CHECK(wd_queue_open(rt, NULL, &q), WD_EINVAL);
    CHECK(wd_queue_open(rt, "dma", NULL), WD_EINVAL);

    /* Two blocks: a source with a known pattern, a destination. */
    wd_mem a = {0}, b = {0};
    OK(wd_mem_alloc(rt, 4096, &a));
    OK(wd_mem_alloc(rt, 4096, &b));
    CHECK(wd_mem_alloc(rt, 0, &a), WD_EINVAL);
    CHECK(wd_mem_alloc(rt, 64, NULL), WD_EINVAL);
    void *pa = NULL, *pb = NULL;
    size_t la = 0, lb = 0;
    OK(wd_mem_ptr(a, &pa, &la));
    OK(wd_mem_ptr(b, &pb, &lb));
    TRUE(pa != NULL && pb != NULL && la == 4096 && lb == 4096);
    for (size_t i = 0; i < la; i++)
        ((unsigned char *)pa)[i] = (unsigned char)(i * 7 + 3);

    /* Copy, then compare equal. */
    wd_req r = {.op = WD_OP_COPY, .src = a, .dst = b, .user_data = 11};
    OK(wd_queue_submit(q, &r));
    /* While in flight the blocks are the device's. */
    CHECK(wd_queue_submit(q, &r), WD_EBUSY);
    CHECK(wd_mem_set_len(a, 10), WD_EBUSY);
    size_t inflight = 0;
    OK(wd_queue_in_flight(q, &inflight));
    TRUE(inflight == 1);
    wd_completion c = wait_one(q);
    TRUE(c.user_data == 11 && c.status == WD_OK && c.device_status == 0);
    TRUE(memcmp(pa, pb, 4096) == 0);

    r = (wd_req){.op = WD_OP_COMPARE, .src = a, .dst = b, .user_data = 12};
    OK(wd_queue_submit(q, &r));
    c = wait_one(q);
    TRUE(c.user_data == 12 && c.status == WD_OK);
    ((unsigned char *)pb)[100] ^= 1;
    OK(wd_queue_submit(q, &r));
    c = wait_one(q);
    TRUE(c.status == WD_EMISMATCH && c.result == 100);

    /* Fill with a pattern. */
    r = (wd_req){.op = WD_OP_FILL, .dst = b, .arg = 0x0807060504030201ull, .user_data = 13};
    OK(wd_queue_submit(q, &r));
    c = wait_one(q);
    TRUE(c.status == WD_OK);
    for (size_t i = 0; i < 4096; i++)
        TRUE(((unsigned char *)pb)[i] == (unsigned char)(i % 8 + 1));

    /* CRC-32C of "123456789" is the check value 0xE3069283. */
    memcpy(pa, "123456789", 9);
    OK(wd_mem_set_len(a, 9));
    CHECK(wd_mem_set_len(a, 5000), WD_EINVAL);
    OK(wd_mem_ptr(a, NULL, &la));
    TRUE(la == 9);
    r = (wd_req){.op = WD_OP_CRC32C, .src = a, .arg = 0, .user_data = 14};
    OK(wd_queue_submit(q, &r));
    c = wait_one(q);
    TRUE(c.status == WD_OK && (uint32_t)c.result == 0xE3069283u);

    /* The eventfd: arm, submit, sleep in epoll_wait(2) until it fires, reap. */
    int fd = -1, ready = -1;
    OK(wd_queue_eventfd(q, &fd));
    TRUE(fd >= 0);
    OK(wd_queue_arm(q, &ready));
    TRUE(ready == 0);
    r = (wd_req){.op = WD_OP_NOP, .user_data = 15};
    OK(wd_queue_submit(q, &r));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    TRUE(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
    TRUE(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    struct epoll_event got_ev;
    TRUE(epoll_wait(ep, &got_ev, 1, 5000) == 1 && got_ev.data.u64 == 42 && (got_ev.events & EPOLLIN));
    close(ep);
    wd_completion cs[4];
    size_t n = 0;
    for (int tries = 0; n == 0 && tries < 1000000; tries++)
        OK(wd_queue_poll(q, cs, 4, &n));
    TRUE(n == 1 && cs[0].user_data == 15);
    OK(wd_queue_disarm(q));

    /* Each wait mode completes requests; an unknown one is refused. */
    const int modes[] = {WD_WAIT_POLL, WD_WAIT_SPIN_THEN_SLEEP, WD_WAIT_EVENT, WD_WAIT_ADAPTIVE};
    for (int i = 0; i < 4; i++) {
        OK(wd_queue_set_wait(q, modes[i], 50));
        r = (wd_req){.op = WD_OP_NOP, .user_data = 20 + (uint64_t)i};
        OK(wd_queue_submit(q, &r));
        c = wait_one(q);
        TRUE(c.user_data == 20 + (uint64_t)i);
    }
    CHECK(wd_queue_set_wait(q, 9, 0), WD_EINVAL);

    /* Several in flight, one wait for all of them. */
    for (uint64_t i = 0; i < 8; i++) {
        r = (wd_req){.op = WD_OP_NOP, .user_data = 100 + i};
        OK(wd_queue_submit(q, &r));
    }
    wd_completion many[8];
    size_t got = 0;
    uint64_t seen = 0;
    while (got < 8) {
        OK(wd_queue_wait(q, 1, many + got, 8 - got, &n));
        got += n;
    }
    for (size_t i = 0; i < 8; i++)
        seen |= 1ull << (many[i].user_data - 100);
    TRUE(seen == 0xff);

    /* A full queue says WD_EBUSY; reaping makes room again. */
    size_t submitted = 0;
    int rc = WD_OK;
    while (submitted < 100000) {
        r = (wd_req){.op = WD_OP_NOP, .user_data = submitted};
        rc = wd_queue_submit(q, &r);
        if (rc != WD_OK)
            break;
        submitted++;
    }
    CHECK(rc, WD_EBUSY);
    TRUE(submitted >= 1);
    OK(wd_queue_in_flight(q, &inflight));
    TRUE(inflight == submitted);
    wd_completion *all = malloc(submitted * sizeof *all);
    for (got = 0; got < submitted; got += n)
        OK(wd_queue_wait(q, 1, all + got, submitted - got, &n));
    for (size_t i = 0; i < submitted; i++)
        TRUE(all[i].status == WD_OK);
    free(all);
    r = (wd_req){.op = WD_OP_NOP};
    OK(wd_queue_submit(q, &r));
    c = wait_one(q);

    /* Nothing in flight: a wait is an error, a poll finds nothing. */
    CHECK(wd_queue_wait(q, 1, cs, 4, &n), WD_EIDLE);
    OK(wd_queue_poll(q, cs, 4, &n));
    TRUE(n == 0);
    CHECK(wd_queue_wait(q, 0, cs, 4, &n), WD_EINVAL);
    CHECK(wd_queue_wait(q, 5, cs, 4, &n), WD_EINVAL);
    CHECK(wd_queue_poll(q, cs, 4, NULL), WD_EINVAL);

    /* Bad requests. */
    r = (wd_req){.op = 99};
    CHECK(wd_queue_submit(q, &r), WD_EINVAL);
    r = (wd_req){.op = WD_OP_NOP, .reserved = 1};
    CHECK(wd_queue_submit(q, &r), WD_EINVAL);
    CHECK(wd_queue_submit(q, NULL), WD_EINVAL);
    wd_mem none = {0};
    r = (wd_req){.op = WD_OP_COPY, .src = a, .dst = none};
    CHECK(wd_queue_submit(q, &r), WD_EBADHANDLE);
    /* The source taken for that failed submit was given back. */
    r = (wd_req){.op = WD_OP_CRC32C, .src = a};
    OK(wd_queue_submit(q, &r));
    c = wait_one(q);
    TRUE((uint32_t)c.result == 0xE3069283u);

    /* A block freed while in flight is released when it completes. */
    r = (wd_req){.op = WD_OP_CRC32C, .src = a, .user_data = 16};
    OK(wd_queue_submit(q, &r));
    OK(wd_mem_free(&a));
    TRUE(a.id == 0);
    c = wait_one(q);
    TRUE(c.user_data == 16 && (uint32_t)c.result == 0xE3069283u);
    CHECK(wd_mem_free(&a), WD_EBADHANDLE);
    CHECK(wd_mem_ptr(a, &pa, &la), WD_EBADHANDLE);

    /* A queue chosen by capability and locality. */
    wd_queue q2 = {0};
    OK(wd_queue_open_for(rt, "crc32c", WD_NEAR_CALLING_CPU, 0, &q2));
    r = (wd_req){.op = WD_OP_NOP, .user_data = 17};
    OK(wd_queue_submit(q2, &r));
    c = wait_one(q2);
    TRUE(c.user_data == 17);
    CHECK(wd_queue_open_for(rt, "bogusword", WD_NEAR_ANY, 0, &q2), WD_EALG);
    OK(wd_queue_close(&q2));

    /* A queue closed with a request in flight gives its blocks back. */
    wd_mem c1 = {0}, c2 = {0};
    OK(wd_mem_alloc(rt, 1 << 20, &c1));
    OK(wd_mem_alloc(rt, 1 << 20, &c2));
    OK(wd_queue_open(rt, "dma", &q2));
    r = (wd_req){.op = WD_OP_COPY, .src = c1, .dst = c2};
    OK(wd_queue_submit(q2, &r));
    OK(wd_queue_close(&q2));
    OK(wd_mem_set_len(c1, 100));
    OK(wd_mem_set_len(c2, 100));
    r = (wd_req){.op = WD_OP_COPY, .src = c1, .dst = c2, .user_data = 18};
    OK(wd_queue_submit(q, &r));
    c = wait_one(q);
    TRUE(c.user_data == 18 && c.status == WD_OK);
    OK(wd_mem_free(&c1));
    OK(wd_mem_free(&c2));

    /* Close twice; a closed queue's handle is refused. */
    wd_queue copy = q;
    OK(wd_queue_close(&q));
    CHECK(wd_queue_close(&q), WD_EBADHANDLE);
    CHECK(wd_queue_close(&copy), WD_EBADHANDLE);
    r = (wd_req){.op = WD_OP_NOP};
    CHECK(wd_queue_submit(copy, &r), WD_EBADHANDLE);
    CHECK(wd_queue_close(NULL), WD_EINVAL);
    /* A handle of another type is unknown here. */
    wd_queue wrong = {b.id};
    CHECK(wd_queue_submit(wrong, &r), WD_EBADHANDLE);
    OK(wd_mem_free(&b));
    OK(wd_runtime_close(&rt));
    printf("queue: ok\n");
    return 0;
}
