/* Checks shared by the C tests: each failure names the expression, the
 * code it returned, the code wanted and the library's last error. */
#ifndef WD_CHECK_H
#define WD_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warpdrive.h"

#define CHECK(expr, want)                                                              \
    do {                                                                               \
        int r_ = (expr);                                                               \
        if (r_ != (want)) {                                                            \
            fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s); last error: %s\n",     \
                    __FILE__, __LINE__, #expr, r_, wd_strerror(r_), (int)(want),       \
                    wd_strerror(want), wd_last_error());                               \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define OK(expr) CHECK(expr, WD_OK)

#define TRUE(cond)                                                                     \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: not true: %s\n", __FILE__, __LINE__, #cond);       \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* Opens the embedded runtime: the tests need no broker. */
static inline wd_runtime open_embedded(void) {
    wd_runtime rt = {0};
    OK(wd_open(WD_MODE_EMBEDDED, NULL, &rt));
    return rt;
}

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
static inline void hex(const unsigned char *p, size_t n, char *out) {
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = 0;
}

#endif
