/* What the C boundary costs: the round trip of a NOP (submit, then wait)
 * through libwarpdrive on the embedded dma device, and the cost of a call
 * that does nothing but look its handle up (wd_queue_in_flight). Not a
 * test: a measurement for docs/CAPI.md. Build and run against a scratch
 * install (release):
 *
 *   dist/install-capi.sh --prefix /tmp/wd
 *   export PKG_CONFIG_PATH=/tmp/wd/lib/pkgconfig LD_LIBRARY_PATH=/tmp/wd/lib
 *   cc -O2 $(pkg-config --cflags warpdrive) crates/wd-capi/bench/nop_rtt.c \
 *      $(pkg-config --libs warpdrive) -o /tmp/nop_rtt && /tmp/nop_rtt
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "warpdrive.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void ok(int rc, const char *what) {
    if (rc != WD_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, wd_strerror(rc), wd_last_error());
        exit(1);
    }
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    wd_runtime rt = {0};
    ok(wd_open(WD_MODE_EMBEDDED, NULL, &rt), "open");
    wd_queue q = {0};
    ok(wd_queue_open(rt, "dma", &q), "queue");
    /* argv[2]: "poll" busy-polls (as wd bench queue's queue-poll-rtt);
     * the default is the adaptive wait. */
    if (argc > 2 && argv[2][0] == 'p')
        ok(wd_queue_set_wait(q, WD_WAIT_POLL, 0), "set_wait");
    wd_req r = {.op = WD_OP_NOP};
    wd_completion c;
    size_t n;
    for (long i = 0; i < iters / 10; i++) { /* warm up: engines, spin estimates */
        ok(wd_queue_submit(q, &r), "submit");
        ok(wd_queue_wait(q, 1, &c, 1, &n), "wait");
    }
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        ok(wd_queue_submit(q, &r), "submit");
        ok(wd_queue_wait(q, 1, &c, 1, &n), "wait");
    }
    double rtt = (now() - t0) / (double)iters;
    t0 = now();
    for (long i = 0; i < iters; i++)
        ok(wd_queue_in_flight(q, &n), "in_flight");
    double call = (now() - t0) / (double)iters;
    printf("nop round trip: %.0f ns; handle lookup + lock + return: %.1f ns\n", rtt, call);
    wd_queue_close(&q);
    wd_runtime_close(&rt);
    return 0;
}
