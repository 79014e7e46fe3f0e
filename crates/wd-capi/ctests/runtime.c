/* Runtime open/close in each mode, the ABI check, error strings, device
 * listing and selection, and misuse: NULL pointers, double close, stale
 * and forged handles. */
#include "check.h"

int main(void) {
    /* ABI: the library speaks the header's version; another major is refused. */
    TRUE(wd_abi_version() == WARPDRIVE_ABI_VERSION);
    wd_runtime rt = {0};
    CHECK(wd_runtime_open(WARPDRIVE_ABI_VERSION + (1u << 16), WD_MODE_EMBEDDED, NULL, &rt), WD_EABI);
    TRUE(strstr(wd_last_error(), "ABI") != NULL);
    TRUE(rt.id == 0);

    /* Every code has its own description; unknown codes say so. */
    for (int c = 0; c >= WD_EMISMATCH; c--) {
        const char *s = wd_strerror(c);
        TRUE(s != NULL && strlen(s) > 3);
        for (int d = 0; d > c; d--)
            TRUE(strcmp(s, wd_strerror(d)) != 0);
    }
    TRUE(strcmp(wd_strerror(-9999), "unknown error code") == 0);
    TRUE(strcmp(wd_strerror(1), "unknown error code") == 0);

    /* Bad arguments to open. */
    CHECK(wd_open(WD_MODE_EMBEDDED, NULL, NULL), WD_EINVAL);
    CHECK(wd_open(7, NULL, &rt), WD_EINVAL);
    CHECK(wd_open(WD_MODE_EMBEDDED, "/tmp/x.sock", &rt), WD_EINVAL);
    /* A broker that is not there is an error, not a silent fallback. */
    CHECK(wd_open(WD_MODE_DAEMON, "/nonexistent/warpd.sock", &rt), WD_EDAEMON);
    TRUE(strstr(wd_last_error(), "/nonexistent/warpd.sock") != NULL);

    /* Auto follows the environment: WD_MODE=embedded here. */
    setenv("WD_MODE", "embedded", 1);
    wd_runtime autort = {0};
    OK(wd_open(WD_MODE_AUTO, NULL, &autort));
    int daemon = -1;
    OK(wd_runtime_is_daemon(autort, &daemon));
    TRUE(daemon == 0);
    CHECK(wd_runtime_is_daemon(autort, NULL), WD_EINVAL);
    OK(wd_runtime_close(&autort));
    TRUE(autort.id == 0);

    rt = open_embedded();

    /* Devices: the four drivers, each with operations. */
    size_t n = 0;
    OK(wd_device_count(rt, &n));
    TRUE(n >= 4);
    CHECK(wd_device_count(rt, NULL), WD_EINVAL);
    int seen_dma = 0, seen_zip = 0, seen_sec = 0, seen_hpre = 0;
    for (size_t i = 0; i < n; i++) {
        wd_device_info info;
        OK(wd_device_get(rt, i, &info));
        TRUE(strlen(info.name) > 0 && strlen(info.driver) > 0);
        TRUE(info.health == WD_HEALTH_OK);
        TRUE(info.n_ops > 0 && info.max_queues > 0);
        seen_dma |= strcmp(info.driver, "dma") == 0;
        seen_zip |= strcmp(info.driver, "zip") == 0;
        seen_sec |= strcmp(info.driver, "sec") == 0;
        seen_hpre |= strcmp(info.driver, "hpre") == 0;
        /* Operation names: a size query first, then the real call. */
        size_t need = 0;
        CHECK(wd_device_ops(rt, i, NULL, 0, &need), WD_ENOSPC);
        TRUE(need > 1);
        char *ops = malloc(need);
        size_t got = 0;
        CHECK(wd_device_ops(rt, i, ops, need - 1, &got), WD_ENOSPC);
        TRUE(got == need);
        OK(wd_device_ops(rt, i, ops, need, &got));
        TRUE(got == need && strlen(ops) == need - 1);
        if (strcmp(info.driver, "dma") == 0)
            TRUE(strstr(ops, "crc32c") != NULL);
        free(ops);
    }
    TRUE(seen_dma && seen_zip && seen_sec && seen_hpre);
    wd_device_info info;
    CHECK(wd_device_get(rt, n, &info), WD_ENODEV);
    CHECK(wd_device_get(rt, 0, NULL), WD_EINVAL);

    /* Selection by capability and locality. */
    char name[64];
    size_t len = 0;
    OK(wd_select(rt, "gzip level 1 compress", WD_NEAR_CALLING_CPU, 0, name, sizeof name, &len));
    TRUE(strncmp(name, "zip", 3) == 0 && len == strlen(name) + 1);
    OK(wd_select(rt, "sha256 digest", WD_NEAR_ANY, 0, name, sizeof name, &len));
    TRUE(strncmp(name, "sec", 3) == 0);
    OK(wd_select(rt, "zip", WD_NEAR_CPU, 0, name, sizeof name, &len));
    OK(wd_select(rt, "zip", WD_NEAR_NODE, -1, name, sizeof name, &len));
    OK(wd_select(rt, "zip", WD_NEAR_LEAST_LOADED, 0, name, sizeof name, &len));
    CHECK(wd_select(rt, "zip", 99, 0, name, sizeof name, &len), WD_EINVAL);
    CHECK(wd_select(rt, "zip", WD_NEAR_CPU, -5, name, sizeof name, &len), WD_EINVAL);
    CHECK(wd_select(rt, "frobnicate compress", WD_NEAR_ANY, 0, name, sizeof name, &len), WD_EALG);
    TRUE(strstr(wd_last_error(), "frobnicate") != NULL);
    CHECK(wd_select(rt, "zip", WD_NEAR_ANY, 0, name, 2, &len), WD_ENOSPC);
    TRUE(len >= 5);
    CHECK(wd_select(rt, NULL, WD_NEAR_ANY, 0, name, sizeof name, &len), WD_EINVAL);
    CHECK(wd_select(rt, "zip", WD_NEAR_ANY, 0, name, sizeof name, NULL), WD_EINVAL);

    /* Stale, zero and forged handles are refused, never dereferenced. */
    wd_runtime copy = rt;
    OK(wd_runtime_close(&rt));
    TRUE(rt.id == 0);
    CHECK(wd_runtime_close(&rt), WD_EBADHANDLE);
    CHECK(wd_runtime_close(&copy), WD_EBADHANDLE);
    CHECK(wd_device_count(copy, &n), WD_EBADHANDLE);
    CHECK(wd_runtime_close(NULL), WD_EINVAL);
    wd_runtime zero = {0};
    CHECK(wd_device_count(zero, &n), WD_EBADHANDLE);
    wd_runtime forged = {copy.id + 12345};
    CHECK(wd_device_count(forged, &n), WD_EBADHANDLE);
    printf("runtime: ok\n");
    return 0;
}
