/* One-shot deflate through ISA-L (igzip), behind a flat C signature so the
 * Rust side never mirrors ISA-L's large stream structs. Compiled only when
 * the ISA-L headers are installed (libisal-dev); see build.rs. */
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* Per-thread state, reused by every call on the thread. Engine threads end
 * when their runtime closes (and callers' own threads end whenever they
 * like), so a thread-specific key frees the state at thread exit. */
static __thread struct isal_zstream *wd_zs;
static __thread uint8_t *wd_lvl_buf;
static __thread uint32_t wd_lvl_size;
static pthread_key_t wd_key;
static pthread_once_t wd_key_once = PTHREAD_ONCE_INIT;

/* Runs at thread exit, before the thread's TLS is torn down. */
static void wd_free_state(void *unused)
{
    (void)unused;
    free(wd_zs);
    free(wd_lvl_buf);
    wd_zs = NULL;
    wd_lvl_buf = NULL;
    wd_lvl_size = 0;
}

static void wd_make_key(void)
{
    /* Without a key the state still works; it is only not freed. */
    (void)pthread_key_create(&wd_key, wd_free_state);
}

static int wd_prepare(int level, uint32_t *need)
{
    switch (level) {
    case 0: *need = ISAL_DEF_LVL0_DEFAULT; break;
    case 1: *need = ISAL_DEF_LVL1_DEFAULT; break;
    case 2: *need = ISAL_DEF_LVL2_DEFAULT; break;
    case 3: *need = ISAL_DEF_LVL3_DEFAULT; break;
    default: return -100;
    }
    if (wd_zs == NULL) {
        wd_zs = malloc(sizeof(*wd_zs));
        if (wd_zs == NULL)
            return -101;
        /* Any non-NULL value makes the destructor run at thread exit. */
        (void)pthread_once(&wd_key_once, wd_make_key);
        (void)pthread_setspecific(wd_key, wd_zs);
    }
    if (wd_lvl_size < *need) {
        free(wd_lvl_buf);
        wd_lvl_buf = malloc(*need);
        wd_lvl_size = wd_lvl_buf ? *need : 0;
        if (wd_lvl_buf == NULL)
            return -101;
    }
    return 0;
}

/* One block of a parallel raw-deflate stream: the window is primed with
 * dict (at most 32 KiB), the output ends byte-aligned (sync flush) unless
 * last, where it ends the stream. Same return codes as wd_isal_compress. */
int wd_isal_block(const uint8_t *dict, uint32_t dict_len, const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t cap,
                  int level, int last, uint32_t *out)
{
    uint32_t need;
    int r = wd_prepare(level, &need);

    if (r != 0)
        return r;
    isal_deflate_init(wd_zs);
    wd_zs->level = (uint32_t)level;
    wd_zs->level_buf = wd_lvl_buf;
    wd_zs->level_buf_size = need;
    wd_zs->gzip_flag = IGZIP_DEFLATE;
    if (dict_len > 0 && isal_deflate_set_dict(wd_zs, (uint8_t *)dict, dict_len) != COMP_OK)
        return -103;
    wd_zs->next_in = (uint8_t *)src;
    wd_zs->avail_in = n;
    wd_zs->next_out = dst;
    wd_zs->avail_out = cap;
    wd_zs->end_of_stream = last ? 1 : 0;
    wd_zs->flush = last ? NO_FLUSH : SYNC_FLUSH;
    r = isal_deflate(wd_zs);
    if (r != COMP_OK)
        return -102;
    /* Everything consumed and room left over: the flush (or end) is complete. */
    if (wd_zs->avail_in != 0 || wd_zs->avail_out == 0)
        return -1;
    if (last && wd_zs->internal_state.state != ZSTATE_END)
        return -1;
    *out = wd_zs->total_out;
    return 0;
}

/* Returns 0 and the output length in *out, -1 when dst is too small,
 * another negative value on any other failure. gzip_flag: 0 raw deflate,
 * 1 gzip, 3 zlib. level: 0..=3 (ISA-L's levels). */
int wd_isal_compress(const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t cap, int level, int gzip_flag,
                     uint32_t *out)
{
    uint32_t need;
    int r = wd_prepare(level, &need);

    if (r != 0)
        return r;
    isal_deflate_stateless_init(wd_zs);
    wd_zs->next_in = (uint8_t *)src;
    wd_zs->avail_in = n;
    wd_zs->next_out = dst;
    wd_zs->avail_out = cap;
    wd_zs->level = (uint32_t)level;
    wd_zs->level_buf = wd_lvl_buf;
    wd_zs->level_buf_size = need;
    wd_zs->gzip_flag = (uint16_t)gzip_flag;
    wd_zs->end_of_stream = 1;
    wd_zs->flush = NO_FLUSH;
    r = isal_deflate_stateless(wd_zs);
    if (r == STATELESS_OVERFLOW)
        return -1;
    if (r != COMP_OK)
        return -102;
    *out = wd_zs->total_out;
    return 0;
}
