/*
 * Causal attention for the rows of a chunk (a prompt chunk's, or a decoded row), and SiLU for the MLPs of the Java
 * forward path.
 *
 * A prompt chunk of n rows attends n x (past + n) / 2 query-key pairs per head: at 2000 tokens of the ~1.5B shape
 * that is 16 GFLOP a layer, which libtorch ran in one thread on score tensors of 64 MB (their pages faulted in
 * afresh for every tile), a third of the prompt's time. Here one call takes one KV head of one sequence: its keys
 * are transposed once into blocks of 16 positions (a vector's lanes), then the head's query vectors (each a query
 * head of one row) go 16 at a time:
 *  1. scores: for each block of 16 keys, 16 accumulators (one per query) gain q[d] * K[., d] for d = 0.. Dh - 1,
 *     each one FMA with its query's value broadcast from memory;
 *  2. softmax of each query over its own positions [0, position], in f32 after subtracting the maximum, e^x by
 *     fs_exp; later positions get probability 0;
 *  3. context = sum over positions of p * V[position], the value rows read once for several queries, divided by the
 *     sum of the probabilities at the end.
 * A decoded row's 4 query heads take the same three steps with its keys transposed in registers and its values read
 * where they lie (fs_direct): the same products in the same order.
 * A query's numbers depend only on its own row and the keys and values before it, always added in the same order:
 * the result of a row does not depend on the chunk it came in, the rows beside it, or whether it was decoded.
 * The cache holds keys and values in f32 or in f16 (half the bytes to keep and to read); f16 values are widened to
 * f32 as they are loaded (exactly), and everything after is the same f32 arithmetic.
 */
#include "flexikernels.h"
#include <math.h>

/* floats in a vector; positions in a block of keys (a vector of scores); query vectors scored at once */
enum { FLOATS = 16, KEYS = 16, QUERIES = 16 };

/*
 * e^x in f32 to about 2 ulp (Cephes' expf: x = n ln 2 + r, |r| <= ln 2 / 2, a degree-6 polynomial of r, times 2^n
 * by VSCALEFPS); 0 below -104, infinity above 88.7, as the true value rounds.
 */
HELPER __m512 fs_exp(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.8f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x); /* ln 2 in two parts: exact n * high */
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* g[i] = g[i] * sigmoid(g[i]) * v[i], sigmoid(z) = 1 / (1 + e^-z): the gate of a SwiGLU. */
KERNEL static void fs_silu_times(float *g, const float *v, long n) {
    __m512 one = _mm512_set1_ps(1.0f);
    long i = 0;
    for (; i + FLOATS <= n; i += FLOATS) {
        __m512 z = _mm512_loadu_ps(g + i);
        __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, fs_exp(_mm512_sub_ps(_mm512_setzero_ps(), z))));
        _mm512_storeu_ps(g + i, _mm512_mul_ps(_mm512_mul_ps(z, s), _mm512_loadu_ps(v + i)));
    }
    if (i < n) {
        __mmask16 tail = (__mmask16) ((1u << (n - i)) - 1);
        __m512 z = _mm512_maskz_loadu_ps(tail, g + i);
        __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, fs_exp(_mm512_sub_ps(_mm512_setzero_ps(), z))));
        _mm512_mask_storeu_ps(g + i, tail, _mm512_mul_ps(_mm512_mul_ps(z, s), _mm512_maskz_loadu_ps(tail, v + i)));
    }
}

/*
 * Whether a call's queries are read straight from the cache (a decoded row's query heads) rather than through the
 * transposed keys and gathered values a prompt chunk's queries share.
 */
static int fs_direct(int vectors) {
    return vectors <= 4;
}

/*
 * Floats of scratch one call needs: the queries of a group and their scores, and for a prompt chunk the transposed
 * keys and the gathered values.
 */
static long fs_attention_floats(int keys, int dh, int vectors) {
    long positions = (long) (keys + KEYS - 1) / KEYS * KEYS;
    return (fs_direct(vectors) ? 0 : 2 * positions * dh) + (long) dh * QUERIES + QUERIES * positions;
}

/*
 * How many positions ahead the kernels ask for the cache lines of a key or value row. A sequence's rows are a whole
 * token's heads apart (1 or 2 KB), a stride the hardware's prefetchers do not follow; asked for ahead, they arrive
 * while the positions before them are added.
 */
enum { KEYS_AHEAD = 32, VALUES_AHEAD = 16 };

/* Where element i of the cache lies: f16 (half) or f32 values. */
HELPER const void *fs_kv_at(const void *cache, long i, int half) {
    return half ? (const void *) ((const uint16_t *) cache + i) : (const void *) ((const float *) cache + i);
}

/* Asks for the line of the cache holding element i, where a row's values from it start a new line. */
HELPER void fs_prefetch_kv(const void *cache, long i, int half) {
    _mm_prefetch((const char *) fs_kv_at(cache, i, half), _MM_HINT_T0);
}

/* Whether the values of a row from dim c start a cache line (64 bytes: 32 halves, 16 floats) past its first. */
HELPER int fs_new_line(int c, int half) {
    return half ? c % 32 == 0 : 1;
}

/* 16 values of the cache from element i: f32 as they are, or f16 widened to f32 (exact). */
HELPER __m512 fs_load_kv(const void *cache, long i, int half) {
    const void *at = fs_kv_at(cache, i, half);
    return half ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) at)) : _mm512_loadu_ps((const float *) at);
}

/* r[i] = column i of the 16 x 16 block whose row i was r[i] on entry: unpacks within 128-bit lanes, then lanes. */
HELPER void fs_transpose16(__m512 r[16]) {
    __m512 a[16], b[16];
    _Pragma("GCC unroll 8")
    for (int k = 0; k < 8; k++) { /* lane L of a[2k]: rows 2k, 2k+1 at 4L, 4L+1; of a[2k+1]: at 4L+2, 4L+3 */
        a[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        a[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    _Pragma("GCC unroll 4")
    for (int m = 0; m < 4; m++) { /* lane L of b[4m + e]: rows 4m..4m+3 at 4L + e */
        __m512d x0 = _mm512_castps_pd(a[4 * m]), x1 = _mm512_castps_pd(a[4 * m + 1]);
        __m512d x2 = _mm512_castps_pd(a[4 * m + 2]), x3 = _mm512_castps_pd(a[4 * m + 3]);
        b[4 * m] = _mm512_castpd_ps(_mm512_unpacklo_pd(x0, x2));
        b[4 * m + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x0, x2));
        b[4 * m + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(x1, x3));
        b[4 * m + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(x1, x3));
    }
    _Pragma("GCC unroll 4")
    for (int e = 0; e < 4; e++) { /* column 4L + e: lane L of b[e], b[4 + e], b[8 + e], b[12 + e] */
        __m512 c1 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0x88), c2 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0xDD);
        __m512 c3 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0x88), c4 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0xDD);
        r[e] = _mm512_shuffle_f32x4(c1, c3, 0x88);
        r[8 + e] = _mm512_shuffle_f32x4(c1, c3, 0xDD);
        r[4 + e] = _mm512_shuffle_f32x4(c2, c4, 0x88);
        r[12 + e] = _mm512_shuffle_f32x4(c2, c4, 0xDD);
    }
}

/*
 * Dims [c, c + 16) of the keys of positions [b * KEYS, b * KEYS + KEYS) (zero past keys), transposed: r[j] holds dim
 * c + j of the block's positions. The KV head starts at element head_at of each cache row (row_values elements).
 */
HELPER void fs_key_block(const void *k, int half, long row_values, int head_at, const int *cache_rows, int keys,
                         int b, int c, __m512 r[KEYS]) {
    _Pragma("GCC unroll 16")
    for (int i = 0; i < KEYS; i++) {
        int t = b * KEYS + i;
        r[i] = t < keys ? fs_load_kv(k, cache_rows[t] * row_values + head_at + c, half) : _mm512_setzero_ps();
        if (t + KEYS_AHEAD < keys && fs_new_line(c, half)) {
            fs_prefetch_kv(k, cache_rows[t + KEYS_AHEAD] * row_values + head_at + c, half);
        }
    }
    fs_transpose16(r);
}

/*
 * The keys of positions [0, keys) into kt, in blocks of KEYS positions: block b holds, for each d, the values of its
 * positions in one vector (zero past keys), for fs_scores_16 to read once per 16 queries.
 */
KERNEL static void fs_transpose_keys(const void *k, int half, long row_values, int head_at, const int *cache_rows,
                                     int keys, int dh, float *kt) {
    int blocks = (keys + KEYS - 1) / KEYS;
    for (int b = 0; b < blocks; b++) {
        for (int c = 0; c < dh; c += FLOATS) {
            __m512 r[KEYS];
            fs_key_block(k, half, row_values, head_at, cache_rows, keys, b, c, r);
            _Pragma("GCC unroll 16")
            for (int j = 0; j < FLOATS; j++) {
                _mm512_storeu_ps(kt + ((long) b * dh + c + j) * KEYS, r[j]);
            }
        }
    }
}

/*
 * fs_scores_4 for a decoded row's queries (at most 4), its keys transposed in registers straight from the cache
 * instead of through kt (written once and read once, that copy was half of a decoded row's attention time): the
 * same products added in the same order, so the same bits.
 */
KERNEL static void fs_scores_direct(const float *qt, const void *k, int half, long row_values, int head_at,
                                    const int *cache_rows, int keys, int dh, int blocks, float *s, long stride) {
    for (int b = 0; b < blocks; b++) {
        __m512 acc[4];
        _Pragma("GCC unroll 4")
        for (int v = 0; v < 4; v++) {
            acc[v] = _mm512_setzero_ps();
        }
        for (int c = 0; c < dh; c += FLOATS) {
            __m512 r[KEYS];
            fs_key_block(k, half, row_values, head_at, cache_rows, keys, b, c, r);
            _Pragma("GCC unroll 16")
            for (int j = 0; j < FLOATS; j++) {
                const float *q = qt + (c + j) * QUERIES;
                _Pragma("GCC unroll 4")
                for (int v = 0; v < 4; v++) {
                    acc[v] = _mm512_fmadd_ps(_mm512_set1_ps(q[v]), r[j], acc[v]);
                }
            }
        }
        _Pragma("GCC unroll 4")
        for (int v = 0; v < 4; v++) {
            _mm512_storeu_ps(s + v * stride + b * KEYS, acc[v]);
        }
    }
}

/*
 * The values of positions [0, keys) side by side in vh, in f32, a position's dh floats after the other's: the
 * weighted sums stream them in order (in the cache a position's head is 256 bytes every 2 KB, a stride the
 * prefetchers do not follow; read there, half of the prompt's attention time went to waiting for them).
 */
KERNEL static void fs_gather_values(const void *v, int half, long row_values, int head_at, const int *cache_rows,
                                    int keys, int dh, float *vh) {
    for (int t = 0; t < keys; t++) {
        for (int c = 0; c < dh; c += FLOATS) {
            _mm512_storeu_ps(vh + (long) t * dh + c, fs_load_kv(v, cache_rows[t] * row_values + head_at + c, half));
        }
    }
}

/*
 * Scores of N queries in qt (for each d, QUERIES values side by side, the first N used) over key blocks
 * [0, blocks), into s (a query's scores every `stride` floats). Each accumulator adds its query's products in
 * order of d, whatever N: 16 queries for prompt rows, 4 for a decoded row's query heads (G = 4), the same bits.
 */
#define SCORES(N) \
KERNEL static void fs_scores_##N(const float *qt, const float *kt, int dh, int blocks, float *s, long stride) { \
    for (int b = 0; b < blocks; b++) { \
        const float *block = kt + (long) b * dh * KEYS; \
        __m512 acc[N]; \
        _Pragma("GCC unroll 16") for (int v = 0; v < N; v++) { \
            acc[v] = _mm512_setzero_ps(); \
        } \
        for (int d = 0; d < dh; d++) { \
            __m512 kd = _mm512_loadu_ps(block + d * KEYS); \
            const float *q = qt + d * QUERIES; \
            _Pragma("GCC unroll 16") for (int v = 0; v < N; v++) { \
                acc[v] = _mm512_fmadd_ps(_mm512_set1_ps(q[v]), kd, acc[v]); \
            } \
        } \
        _Pragma("GCC unroll 16") for (int v = 0; v < N; v++) { \
            _mm512_storeu_ps(s + v * stride + b * KEYS, acc[v]); \
        } \
    } \
}
SCORES(16)
SCORES(4)

/*
 * Scores s[0, keys) into probabilities in place, unnormalised (e^(s - max)), zero from keys to `width` (a multiple
 * of KEYS); returns their sum.
 */
KERNEL static float fs_softmax(float *s, int keys, int width) {
    __m512 max = _mm512_set1_ps(-INFINITY);
    int t = 0;
    for (; t + KEYS <= keys; t += KEYS) {
        max = _mm512_max_ps(max, _mm512_loadu_ps(s + t));
    }
    __mmask16 tail = (__mmask16) ((1u << (keys - t)) - 1);
    max = _mm512_mask_max_ps(max, tail, max, _mm512_maskz_loadu_ps(tail, s + t));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(max));
    __m512 sum = _mm512_setzero_ps();
    for (t = 0; t + KEYS <= keys; t += KEYS) {
        __m512 p = fs_exp(_mm512_sub_ps(_mm512_loadu_ps(s + t), m));
        sum = _mm512_add_ps(sum, p);
        _mm512_storeu_ps(s + t, p);
    }
    if (t < width) { /* the block holding the last key, its later positions zero */
        __m512 p = _mm512_maskz_mov_ps(tail, fs_exp(_mm512_sub_ps(_mm512_loadu_ps(s + t), m)));
        sum = _mm512_add_ps(sum, p);
        _mm512_storeu_ps(s + t, p);
        for (t += KEYS; t < width; t += KEYS) {
            _mm512_storeu_ps(s + t, _mm512_setzero_ps());
        }
    }
    return _mm512_reduce_add_ps(sum);
}

/*
 * out[v] = sum over positions t < keys of p[v][t] * V[t] / sums[v] for `count` queries, VG at a time, a value row
 * being VC vectors (Dh = 16 VC), V[t] from element rows[t] * row_values of vh (the cache's rows, f16 where half), or
 * from t * row_values without rows (the values gathered side by side, f32): each value row is read once for VG
 * queries, and each query adds its positions in order. One function per head size, so that the VG x VC accumulators
 * are registers.
 */
#define WEIGHTED_VALUES(VC, VG) \
KERNEL static void fs_weighted_values_##VC(const void *vh, int half, long row_values, const int *rows, int keys, \
                                           const float *p, long stride, int count, float *const *out, \
                                           const float *sums) { \
    for (int v0 = 0; v0 < count; v0 += VG) { \
        int n = count - v0 < VG ? count - v0 : VG; \
        __m512 acc[VG][VC]; \
        _Pragma("GCC unroll 16") for (int i = 0; i < VG; i++) { \
            _Pragma("GCC unroll 8") for (int c = 0; c < VC; c++) { \
                acc[i][c] = _mm512_setzero_ps(); \
            } \
        } \
        const float *weights[VG]; /* a group's missing queries read the last one's probabilities, unused */ \
        _Pragma("GCC unroll 16") for (int i = 0; i < VG; i++) { \
            weights[i] = p + (v0 + (i < n ? i : n - 1)) * stride; \
        } \
        for (int t = 0; t < keys; t++) { \
            const long row = (rows != NULL ? rows[t] : t) * row_values; \
            if (rows != NULL && t + VALUES_AHEAD < keys) { /* the cache's rows, strided */ \
                _Pragma("GCC unroll 8") for (int c = 0; c < VC; c++) { \
                    if (fs_new_line(c * FLOATS, half)) { \
                        fs_prefetch_kv(vh, rows[t + VALUES_AHEAD] * row_values + c * FLOATS, half); \
                    } \
                } \
            } \
            __m512 value[VC]; \
            _Pragma("GCC unroll 8") for (int c = 0; c < VC; c++) { \
                value[c] = fs_load_kv(vh, row + c * FLOATS, half); \
            } \
            _Pragma("GCC unroll 16") for (int i = 0; i < VG; i++) { \
                __m512 weight = _mm512_set1_ps(weights[i][t]); \
                _Pragma("GCC unroll 8") for (int c = 0; c < VC; c++) { \
                    acc[i][c] = _mm512_fmadd_ps(weight, value[c], acc[i][c]); \
                } \
            } \
        } \
        for (int i = 0; i < n; i++) { \
            __m512 sum = _mm512_set1_ps(sums[v0 + i]); \
            _Pragma("GCC unroll 8") for (int c = 0; c < VC; c++) { \
                _mm512_storeu_ps(out[v0 + i] + c * FLOATS, _mm512_div_ps(acc[i][c], sum)); \
            } \
        } \
    } \
}
WEIGHTED_VALUES(1, 16)
WEIGHTED_VALUES(2, 8)
WEIGHTED_VALUES(4, 4)
WEIGHTED_VALUES(8, 2)

/*
 * Attention of `vectors` query vectors (query heads of rows of one sequence, all reading one KV head) over the
 * sequence's keys and values in the cache: query i starts at q + at[i], attends to positions [0, keys_of[i]) and
 * writes its context at context + at[i]. Keys and values are cache rows of row_values elements, f32 or (half) f16,
 * the KV head's from element head_at; cache_rows[t] is position t's row. dh is 16, 32, 64 or 128.
 */
KERNEL static void fs_attend(const void *k, const void *v, int half, long row_values, int head_at, int dh,
                             const int *cache_rows, const float *q, float *context, const int *at,
                             const int *keys_of, int vectors, float *scratch) {
    int keys = 0;
    for (int i = 0; i < vectors; i++) {
        keys = keys_of[i] > keys ? keys_of[i] : keys;
    }
    int blocks = (keys + KEYS - 1) / KEYS;
    long stride = (long) blocks * KEYS;
    const int direct = fs_direct(vectors); /* a decoded row's query heads: keys and values read where they lie */
    float *qt = scratch;
    float *s = qt + (long) dh * QUERIES;
    float *kt = s + QUERIES * stride; /* a prompt chunk's only */
    float *vh = kt + stride * dh;
    if (!direct) {
        fs_transpose_keys(k, half, row_values, head_at, cache_rows, keys, dh, kt);
        fs_gather_values(v, half, row_values, head_at, cache_rows, keys, dh, vh);
    }
    /* the weighted sums read a decoded row's values in the cache (from its head), a prompt chunk's gathered */
    const void *values = direct ? fs_kv_at(v, head_at, half) : vh;
    const int value_half = direct && half;
    const long value_stride = direct ? row_values : dh;
    const int *value_rows = direct ? cache_rows : NULL;
    void (*const weighted_values)(const void *, int, long, const int *, int, const float *, long, int, float *const *,
                                  const float *) = dh == 16 ? fs_weighted_values_1 : dh == 32 ? fs_weighted_values_2
                                                 : dh == 64 ? fs_weighted_values_4 : fs_weighted_values_8;
    for (int v0 = 0; v0 < vectors; v0 += QUERIES) {
        int count = vectors - v0 < QUERIES ? vectors - v0 : QUERIES;
        int group_keys = 0;
        for (int i = 0; i < QUERIES; i++) { /* a short group repeats its last query: scored, then unused */
            int from = at[v0 + (i < count ? i : count - 1)];
            for (int d = 0; d < dh; d++) {
                qt[d * QUERIES + i] = q[from + d];
            }
            group_keys = keys_of[v0 + (i < count ? i : count - 1)] > group_keys
                    ? keys_of[v0 + (i < count ? i : count - 1)] : group_keys;
        }
        int group_blocks = (group_keys + KEYS - 1) / KEYS;
        if (direct) {
            fs_scores_direct(qt, k, half, row_values, head_at, cache_rows, keys, dh, group_blocks, s, stride);
        } else if (count <= 4) {
            fs_scores_4(qt, kt, dh, group_blocks, s, stride);
        } else {
            fs_scores_16(qt, kt, dh, group_blocks, s, stride);
        }
        float sums[QUERIES];
        float *out[QUERIES];
        for (int i = 0; i < count; i++) {
            sums[i] = fs_softmax(s + i * stride, keys_of[v0 + i], group_blocks * KEYS);
            out[i] = context + at[v0 + i];
        }
        weighted_values(values, value_half, value_stride, value_rows, group_keys, s, stride, count, out, sums);
    }
}

#ifndef FS_NO_JNI
/* ---- JNI: io.flexiserve.model.cpu.NativeKernels ------------------------------------------------------------- */

JNIEXPORT jlong JNICALL Java_io_flexiserve_model_cpu_NativeKernels_attentionScratchBytes(JNIEnv *env, jclass cls,
                                                                                         jint keys, jint dh,
                                                                                         jint vectors) {
    (void) env; (void) cls;
    return fs_attention_floats(keys, dh, vectors) * (jlong) sizeof(float);
}

JNIEXPORT void JNICALL Java_io_flexiserve_model_cpu_NativeKernels_attend(JNIEnv *env, jclass cls, jobject keys,
        jobject values, jboolean half, jint row_values, jint head_at, jint dh, jintArray cache_rows, jfloatArray q,
        jfloatArray context, jintArray at, jintArray keys_of, jint vectors, jobject scratch) {
    (void) cls;
    const void *k = (*env)->GetDirectBufferAddress(env, keys);
    const void *v = (*env)->GetDirectBufferAddress(env, values);
    float *work = (*env)->GetDirectBufferAddress(env, scratch);
    if (fs_missing(env, k, "the keys are not a direct buffer") || fs_missing(env, v, "the values are not direct")
            || fs_missing(env, work, "the scratch is not a direct buffer")) {
        return;
    }
    int *rows = (*env)->GetPrimitiveArrayCritical(env, cache_rows, NULL);
    if (fs_missing(env, rows, "the cache rows could not be pinned")) {
        return;
    }
    int *from = (*env)->GetPrimitiveArrayCritical(env, at, NULL);
    int *counts = from == NULL ? NULL : (*env)->GetPrimitiveArrayCritical(env, keys_of, NULL);
    float *qs = counts == NULL ? NULL : (*env)->GetPrimitiveArrayCritical(env, q, NULL);
    float *out = qs == NULL ? NULL : (*env)->GetPrimitiveArrayCritical(env, context, NULL);
    if (out != NULL) {
        fs_attend(k, v, half == JNI_TRUE, row_values, head_at, dh, rows, qs, out, from, counts, vectors, work);
        (*env)->ReleasePrimitiveArrayCritical(env, context, out, 0);
    }
    if (qs != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, q, qs, JNI_ABORT);
    }
    if (counts != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, keys_of, counts, JNI_ABORT);
    }
    if (from != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, at, from, JNI_ABORT);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, cache_rows, rows, JNI_ABORT);
    fs_missing(env, out, "an array could not be pinned");
}

/* dst[i] = f16 of src[i], rounded to nearest even, for i < n (as a cast to f16 rounds). */
KERNEL static void fs_store_halves(const float *src, uint16_t *dst, int n) {
    int i = 0;
    for (; i + FLOATS <= n; i += FLOATS) {
        _mm256_storeu_si256((__m256i *) (dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    if (i < n) {
        __mmask16 tail = (__mmask16) ((1u << (n - i)) - 1);
        _mm256_mask_storeu_epi16(dst + i, tail, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(tail, src + i),
                                                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
}

JNIEXPORT void JNICALL Java_io_flexiserve_model_cpu_NativeKernels_storeHalves0(JNIEnv *env, jclass cls,
        jfloatArray src, jint from, jint n, jobject dst, jlong index) {
    (void) cls;
    uint16_t *to = (*env)->GetDirectBufferAddress(env, dst);
    if (fs_missing(env, to, "the destination is not a direct buffer")) {
        return;
    }
    float *values = (*env)->GetPrimitiveArrayCritical(env, src, NULL);
    if (fs_missing(env, values, "the source could not be pinned")) {
        return;
    }
    fs_store_halves(values + from, to + index, n);
    (*env)->ReleasePrimitiveArrayCritical(env, src, values, JNI_ABORT);
}

JNIEXPORT void JNICALL Java_io_flexiserve_model_cpu_NativeKernels_siluTimes0(JNIEnv *env, jclass cls, jfloatArray g,
        jfloatArray v, jint n) {
    (void) cls;
    float *gs = (*env)->GetPrimitiveArrayCritical(env, g, NULL);
    if (fs_missing(env, gs, "the gates could not be pinned")) {
        return;
    }
    float *vs = (*env)->GetPrimitiveArrayCritical(env, v, NULL);
    if (vs != NULL) {
        fs_silu_times(gs, vs, n);
        (*env)->ReleasePrimitiveArrayCritical(env, v, vs, JNI_ABORT);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, g, gs, 0);
    fs_missing(env, vs, "the values could not be pinned");
}
#endif
