/*
 * FlexiServe's native kernels: y = W x for a weight packed by the Java side (QuantLayout for q8 and q4, PanelLayout
 * for f16), read where it lies (a direct or mapped ByteBuffer), for any number of rows. (flexiattention.c holds the
 * Java forward path's attention and SwiGLU gates.)
 *
 * Why native: on Intel hosts the Vector API kernels of JDK 17 are bound by their own instructions at about half the
 * memory's speed (docs/djl-traps.md, traps 20, 22 and 23), while a decode step of one sequence only has to stream
 * each weight once. These kernels read the same bytes with AVX-512: the quantized ones multiply 8- or 4-bit codes by
 * an input quantized to 16 bits a block at a time, with VNNI's VPDPBUSD (64 products of bytes per instruction, two
 * per code: the input's high and low bytes); the f16 ones widen codes exactly as the Java kernels do and add in
 * the same order, so that their results are the Java kernels' to the bit. A batch's row always gets its lone row's
 * bits (batches of quantized rows on AMX tiles from 8 rows, f16 batches 12 rows a pass).
 *
 * Compiled by `mvn package` (the `native-kernels` profile, when gcc is on the build machine) with the target
 * attributes below, not -march: the library loads on any x86-64 and says, through fs_supported(), whether this CPU
 * has what the kernels use; where it has not, the Java kernels run.
 *
 * Layouts (the Java classes hold the authoritative description; LANES is 16 here, AVX-512):
 *  - q8/q4: panels of 32 columns, a panel block after block of inputs (q8 64, q4 32: fs_block); a block is 16 words
 *    of bf16 scales (word j: column j low, column 16 + j high) then its groups of 4 inputs (q8 16, q4 8): q8 two
 *    vectors of 16 words a group (word j of the first: column j's 4 codes, input k + i in byte i; the second: column
 *    16 + j), q4 one vector (word j: column j's 4 codes in nibbles 0-3, column 16 + j's in nibbles 4-7). Codes are
 *    two's complement.
 *  - f16: panels of 32 columns, for each input 16 words (column j low half, 16 + j high half), codes re-biased by
 *    the packing (PanelLayout.Packing), widened by shifts to floats that rowScale^2 turns into weights.
 */
#include "flexikernels.h"
#include <cpuid.h>
#include <unistd.h>
#include <sys/syscall.h>

enum { LANES = 16, PANEL = 32, GROUP = 4, SCALE_BYTES = 64, MAX_BLOCK = 64 };

/*
 * Inputs per scale of a weight of `bits` (QuantLayout.block): q8 64, which fills an AMX product's 64 bytes of K with
 * one block (a product costs the same for 32 bytes: docs/djl-traps.md, trap 25); q4 32, llama.cpp's Q4_0 block, since
 * a 4-bit block's error grows with its largest weight. An input row is quantized per block of the same length.
 */
static inline int fs_block(int bits) {
    return bits == 8 ? 64 : 32;
}

/* Bytes of one block of one panel of a weight of `bits`: its scales, then its codes. */
static inline long fs_block_bytes(int bits) {
    return SCALE_BYTES + fs_block(bits) * PANEL * bits / 8;
}

/*
 * How far ahead of its loads a kernel asks for each line of its streams. The hardware's own prefetcher alone left
 * the q4 and f16 kernels at 24-26 GB/s from memory on two cores of an Intel host (Sapphire Rapids, KVM) where the
 * q8 one and a plain read reach 34; asking 4 KB ahead brought them to 32-33 (2-8 KB measured alike).
 */
#define PREFETCH_BYTES 4096
#define PREFETCH(p) _mm_prefetch((const char *) (p) + PREFETCH_BYTES, _MM_HINT_T0)

/* Whether this CPU runs the kernels (AVX-512 with BW, VL, VNNI and VBMI). */
static int fs_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")
        && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("fma");
}

/* Whether the batched quantized products run on AMX tiles: set once, by fs_amx_enable. */
static int fs_amx;

/*
 * AMX-INT8 (Sapphire Rapids on): asks Linux for the tile data state (ARCH_REQ_XCOMP_PERM, once per process, before
 * any thread uses a tile), and keeps the kernels on VNNI where the CPU lacks it or the kernel refuses.
 */
static int fs_amx_enable(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25))) {
        return fs_amx = 0; /* AMX-TILE and AMX-INT8 */
    }
    return fs_amx = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}

/* Bytes of one row's quantized input: high and low bytes of its codes, then a float scale and an int sum per block. */
static long fs_row_bytes(int in, int block) {
    return 2L * in + (long) (in / block) * 8;
}

/* The parts of one row's quantized input (fs_quantize writes them, the kernels read them). */
typedef struct {
    int8_t *high;   /* the codes' high bytes, signed: code >> 8 */
    uint8_t *low;   /* their low bytes, unsigned: code & 255 */
    float *scale;   /* per block: d, the input being code * d */
    int32_t *sum;   /* per block: the sum of the high bytes */
} fs_input;

static fs_input fs_input_at(const uint8_t *row, int in, int block) {
    uint8_t *at = (uint8_t *) row;
    fs_input x = {(int8_t *) at, at + in, (float *) (at + 2L * in), (int32_t *) (at + 2L * in + (in / block) * 4)};
    return x;
}

/*
 * Each row's input quantized per block (`block` inputs, the weight's) to 16-bit codes: d = max|x| / 32767, code =
 * round(x / d), kept as its signed high byte and unsigned low byte (code = 256 high + low), so that VPDPBUSD, which
 * multiplies unsigned bytes by signed ones, takes both: the low bytes as they are against the signed weight codes,
 * the high bytes against weight codes made unsigned by a bias, less the bias times the block's sum of high bytes. An
 * input then moves by at most half of 1/32767 of its block's largest magnitude, far below the weights' own rounding
 * (8-bit inputs, as llama.cpp's Q8_0 products use, doubled q8's departure from f16 on the bench's checkpoint). The
 * input is `rows` rows, row-major, and row r goes to scratch + r * fs_row_bytes(in, block).
 */
KERNEL static void fs_quantize(const float *x, int rows, int in, int block, uint8_t *scratch) {
    const long row_bytes = fs_row_bytes(in, block);
    const __m512i lim = _mm512_set1_epi32(32767), nlim = _mm512_set1_epi32(-32767), byte = _mm512_set1_epi32(255);
    for (int r = 0; r < rows; r++) {
        fs_input parts = fs_input_at(scratch + r * row_bytes, in, block);
        for (int b = 0; b < in / block; b++) {
            const float *from = x + (long) r * in + b * block;
            __m512 magnitude = _mm512_setzero_ps();
            for (int v = 0; v < block; v += LANES) {
                magnitude = _mm512_max_ps(magnitude, _mm512_abs_ps(_mm512_loadu_ps(from + v)));
            }
            const float amax = _mm512_reduce_max_ps(magnitude);
            const __m512 inverse = _mm512_set1_ps(amax > 0 ? 32767.0f / amax : 0.0f);
            __m512i highs = _mm512_setzero_si512();
            for (int v = 0; v < block; v += LANES) {
                __m512i q = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(from + v), inverse),
                                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q = _mm512_max_epi32(_mm512_min_epi32(q, lim), nlim);
                const __m512i high = _mm512_srai_epi32(q, 8);
                _mm_storeu_si128((__m128i *) (parts.high + b * block + v), _mm512_cvtepi32_epi8(high));
                _mm_storeu_si128((__m128i *) (parts.low + b * block + v),
                                 _mm512_cvtepi32_epi8(_mm512_and_si512(q, byte)));
                highs = _mm512_add_epi32(highs, high);
            }
            parts.scale[b] = amax / 32767.0f;
            parts.sum[b] = _mm512_reduce_add_epi32(highs);
        }
    }
}

/* Fully unrolls a loop over a pair's four vectors (so that its arrays of vectors live in registers). */
#define UNROLL _Pragma("GCC unroll 4")

/*
 * A q4 group vector's codes of one half of its panel, as bytes biased to q + 8 in [0, 15]: VPMULTISHIFTQB gathers
 * column j's four nibbles into the four bytes of lane j (the low halves of the words hold columns 0-15, the high
 * halves 16-31), and one ternary logic op keeps the nibble and flips its top bit, which maps a two's complement q
 * to q + 8.
 */
HELPER __m512i fs_q4_biased(__m512i words, int high) {
    const __m512i ctl = high ? _mm512_set1_epi64(0x3C3834301C181410LL)  /* bits 16 .. 28 and 48 .. 60 */
                             : _mm512_set1_epi64(0x2C2824200C080400LL); /* bits 0, 4, 8, 12 and 32, 36, 40, 44 */
    /* 0x6A: (A & B) ^ C, A the gathered bytes, B = 0x0F, C = 0x08 */
    return _mm512_ternarylogic_epi32(_mm512_multishift_epi64_epi8(ctl, words), _mm512_set1_epi8(0x0F),
                                     _mm512_set1_epi8(0x08), 0x6A);
}

/* A panel's block scales as floats: word j holds column j's bf16 (low half) and column 16 + j's (high half). */
HELPER void fs_block_scales(const uint8_t *block, __m512 *low, __m512 *high) {
    __m512i words = _mm512_loadu_si512(block);
    *low = _mm512_castsi512_ps(_mm512_slli_epi32(words, 16));
    *high = _mm512_castsi512_ps(_mm512_and_si512(words, _mm512_set1_epi32((int) 0xFFFF0000)));
}

/*
 * A column vector's sum after one more block: its exact integer sum of code products (256 times the high bytes'
 * part plus the low bytes', under 2^28 in magnitude: 64 products of at most 127 times 32767), rounded once to
 * floats, times the column's and the input's scales. Both the VNNI and the AMX paths add a block through here,
 * which is what keeps their bits equal.
 */
HELPER __m512 fs_add_block(__m512 sum, __m512i high, __m512i low, __m512 scale, __m512 dx) {
    __m512i exact = _mm512_add_epi32(_mm512_slli_epi32(high, 8), low);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), _mm512_mul_ps(scale, dx), sum);
}

/* The group's four high bytes and four low bytes of the input, each broadcast to every lane. */
#define GROUP_INPUT(x, at) \
    int32_t four_high, four_low; \
    memcpy(&four_high, (x).high + (at), sizeof four_high); \
    memcpy(&four_low, (x).low + (at), sizeof four_low); \
    __m512i xh = _mm512_set1_epi32(four_high), xl = _mm512_set1_epi32(four_low)

/*
 * One row over the pair of panels at u (64 columns into y), q8 or q4: a block's products of codes are summed exactly
 * in 32-bit lanes, four inputs a lane per VPDPBUSD (unsigned bytes times signed ones), twice per vector of codes: the
 * input's low bytes (unsigned) times the signed codes, and its high bytes (signed) times the codes biased to
 * unsigned, less the bias times the block's sum of high bytes: 256 (h - bias) + l. That is scaled by the column's
 * and the input's scales and added in block order. The four vectors of a group (two per panel, both panels side by
 * side) give eight independent sums in flight.
 *
 * Codes. Q8 (bias 128): a group is two vectors of words per panel, a byte per code; flipping a byte's top bit makes
 * q + 128. Q4 (bias 8): a group is one vector of words per panel, both halves' nibbles (fs_q4_biased). Always
 * inlined with a constant `bits`, so each format compiles to its own loop (and its own block length).
 */
KERNEL static inline __attribute__((always_inline)) void fs_quant_pair(int bits, const uint8_t *u, int in,
                                                                       fs_input x, float *y) {
    const int block = fs_block(bits), blocks = in / block;
    const long block_bytes = fs_block_bytes(bits);
    const uint8_t *v = u + blocks * block_bytes;
    const int bias = bits == 8 ? 128 : 8;
    const __m512i flip = _mm512_set1_epi8((char) 0x80), eight = _mm512_set1_epi8(0x08);
    __m512 sum[4];
    UNROLL for (int i = 0; i < 4; i++) {
        sum[i] = _mm512_setzero_ps();
    }
    for (int k = 0; k < blocks; k++, u += block_bytes, v += block_bytes) {
        __m512i h[4], l[4];
        UNROLL for (int i = 0; i < 4; i++) {
            h[i] = l[i] = _mm512_setzero_si512();
        }
        const uint8_t *cu = u + SCALE_BYTES, *cv = v + SCALE_BYTES;
        /* unrolled whole: gcc left q8's 16 groups as a loop that copied its accumulators every iteration */
        _Pragma("GCC unroll 16")
        for (int g = 0; g < block / GROUP; g++) {
            GROUP_INPUT(x, k * block + g * GROUP);
            __m512i q[4], biased[4]; /* the group's codes: columns 0-15 and 16-31 of panel u, then of panel v */
            if (bits == 8) {
                const uint8_t *at[4] = {cu + g * 128, cu + g * 128 + 64, cv + g * 128, cv + g * 128 + 64};
                UNROLL for (int i = 0; i < 4; i++) {
                    PREFETCH(at[i]);
                    q[i] = _mm512_loadu_si512(at[i]);
                    biased[i] = _mm512_xor_si512(q[i], flip);
                }
            } else {
                __m512i wu = _mm512_loadu_si512(cu + g * 64), wv = _mm512_loadu_si512(cv + g * 64);
                PREFETCH(cu + g * 64);
                PREFETCH(cv + g * 64);
                const __m512i words[4] = {wu, wu, wv, wv};
                UNROLL for (int i = 0; i < 4; i++) {
                    biased[i] = fs_q4_biased(words[i], i % 2);
                    q[i] = _mm512_sub_epi8(biased[i], eight);
                }
            }
            UNROLL for (int i = 0; i < 4; i++) {
                h[i] = _mm512_dpbusd_epi32(h[i], biased[i], xh);
                l[i] = _mm512_dpbusd_epi32(l[i], xl, q[i]);
            }
        }
        __m512 scale[4];
        fs_block_scales(u, &scale[0], &scale[1]);
        fs_block_scales(v, &scale[2], &scale[3]);
        __m512i taken = _mm512_set1_epi32(bias * x.sum[k]);
        __m512 dx = _mm512_set1_ps(x.scale[k]);
        UNROLL for (int i = 0; i < 4; i++) {
            sum[i] = fs_add_block(sum[i], _mm512_sub_epi32(h[i], taken), l[i], scale[i], dx);
        }
    }
    UNROLL for (int i = 0; i < 4; i++) {
        _mm512_storeu_ps(y + i * LANES, sum[i]);
    }
}

#define AMX_KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,fma,amx-tile,amx-int8")))

/* Rows a batched product takes on AMX tiles from (below it, VNNI row by row is as fast). */
enum { AMX_MIN_ROWS = 8, AMX_ROWS = 16 };

/* The tile configuration: palette 1, then bytes per row and rows of each of the 8 tiles. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes[16];
    uint8_t rows[16];
} __attribute__((packed, aligned(64))) fs_tiles;

/*
 * Rows times the panels [p0, p1) on AMX tiles, 16 rows a pass, a panel at a time (from the core's L2 after the first
 * pass): per block (q8 64 inputs, the 64 bytes a product takes; q4 32), tile A holds 16 rows' high bytes (signed)
 * and another their low bytes (unsigned); tile B a half panel's codes, which QuantLayout already stores as AMX wants
 * them (word j of a group's vector: column j's four codes of four successive inputs; a block's group vectors are B's
 * rows, 16 of them 128 bytes apart for q8; q4's 8 are first gathered into bytes as fs_quant_pair gathers them).
 * TDPBSSD and TDPBUSD sum the products exactly, so each row's block sums are the very integers fs_quant_pair
 * computes, and the same float operations follow: a batch's row has a lone row's bits. Rows past `rows` up to the
 * next 16 are read (the scratch holds them) and dropped.
 */
AMX_KERNEL static void fs_quant_rows_amx(int bits, const uint8_t *w, int in, int rows, const uint8_t *scratch,
                                         float *y, int stride, int p0, int p1) {
    const int block = fs_block(bits), blocks = in / block;
    const long block_bytes = fs_block_bytes(bits);
    const long panel_bytes = blocks * block_bytes;
    const long row_bytes = fs_row_bytes(in, block);
    fs_tiles config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { /* 0, 1: inputs (high, low); 2, 3: codes (columns 0-15, 16-31); 4-7: sums */
        config.rows[t] = t == 2 || t == 3 ? block / GROUP : AMX_ROWS;
        config.bytes[t] = t < 2 ? block : 64;
    }
    _tile_loadconfig(&config);
    int32_t sums[4][AMX_ROWS][LANES] __attribute__((aligned(64))); /* high a, low a, high b, low b */
    int8_t gathered[2][MAX_BLOCK / GROUP][64] __attribute__((aligned(64)));
    float acc[AMX_ROWS][PANEL] __attribute__((aligned(64)));
    const __m512i eight = _mm512_set1_epi8(0x08);
    for (int p = p0; p < p1; p++) {
        for (int r0 = 0; r0 < rows; r0 += AMX_ROWS) {
            const int m = rows - r0 < AMX_ROWS ? rows - r0 : AMX_ROWS;
            const uint8_t *x = scratch + r0 * row_bytes;
            const fs_input first = fs_input_at(x, in, block); /* the pass's first row: tiles read 16 rows from it */
            memset(acc, 0, sizeof acc);
            const uint8_t *u = w + p * panel_bytes;
            for (int k = 0; k < blocks; k++, u += block_bytes) {
                const uint8_t *codes = u + SCALE_BYTES;
                _tile_loadd(0, first.high + k * block, row_bytes);
                _tile_loadd(1, first.low + k * block, row_bytes);
                if (bits == 8) {
                    _tile_loadd(2, codes, 128);
                    _tile_loadd(3, codes + 64, 128);
                } else {
                    for (int g = 0; g < block / GROUP; g++) {
                        __m512i words = _mm512_loadu_si512(codes + g * 64); /* q: q + 8 less 8 */
                        _mm512_store_si512(gathered[0][g], _mm512_sub_epi8(fs_q4_biased(words, 0), eight));
                        _mm512_store_si512(gathered[1][g], _mm512_sub_epi8(fs_q4_biased(words, 1), eight));
                    }
                    _tile_loadd(2, gathered[0], 64);
                    _tile_loadd(3, gathered[1], 64);
                }
                _tile_zero(4);
                _tile_zero(5);
                _tile_zero(6);
                _tile_zero(7);
                _tile_dpbssd(4, 0, 2);
                _tile_dpbusd(5, 1, 2);
                _tile_dpbssd(6, 0, 3);
                _tile_dpbusd(7, 1, 3);
                _tile_stored(4, sums[0], 64);
                _tile_stored(5, sums[1], 64);
                _tile_stored(6, sums[2], 64);
                _tile_stored(7, sums[3], 64);
                __m512 sa, sb;
                fs_block_scales(u, &sa, &sb);
                for (int r = 0; r < m; r++) { /* the high bytes' sums need no bias back: TDPBSSD is signed */
                    __m512 dx = _mm512_set1_ps(fs_input_at(x + r * row_bytes, in, block).scale[k]);
                    _mm512_store_ps(acc[r], fs_add_block(_mm512_load_ps(acc[r]), _mm512_load_si512(sums[0][r]),
                                                         _mm512_load_si512(sums[1][r]), sa, dx));
                    _mm512_store_ps(acc[r] + LANES, fs_add_block(_mm512_load_ps(acc[r] + LANES),
                                                                 _mm512_load_si512(sums[2][r]),
                                                                 _mm512_load_si512(sums[3][r]), sb, dx));
                }
            }
            for (int r = 0; r < m; r++) {
                memcpy(y + (long) (r0 + r) * stride + p * PANEL, acc[r], sizeof acc[r]);
            }
        }
    }
    _tile_release();
}

/*
 * Rows (one for a decode step) times the panels [p0, p1) (even), each row's input quantized by fs_quantize into
 * `row_bytes` of scratch: y[r * stride + c]. A pair of panels is read from memory for the first row and from cache
 * (a core's L2) for the others, and every row is multiplied exactly as a lone row would be. From AMX_MIN_ROWS rows,
 * on AMX tiles where the CPU has them (the same bits).
 */
KERNEL static void fs_quant_rows(int bits, const uint8_t *w, int in, int rows, const uint8_t *scratch, float *y,
                                 int stride, int p0, int p1) {
    if (fs_amx && rows >= AMX_MIN_ROWS) {
        fs_quant_rows_amx(bits, w, in, rows, scratch, y, stride, p0, p1);
        return;
    }
    const int block = fs_block(bits);
    const long panel_bytes = (long) (in / block) * fs_block_bytes(bits);
    const long row_bytes = fs_row_bytes(in, block);
    for (int p = p0; p < p1; p += 2) {
        for (int r = 0; r < rows; r++) {
            fs_input x = fs_input_at(scratch + r * row_bytes, in, block);
            if (bits == 8) {
                fs_quant_pair(8, w + p * panel_bytes, in, x, y + (long) r * stride + p * PANEL);
            } else {
                fs_quant_pair(4, w + p * panel_bytes, in, x, y + (long) r * stride + p * PANEL);
            }
        }
    }
}

/*
 * F16, panels [p0, p1), both even: RowKernel's arithmetic to the bit (the same widening, x[k] * rowScale broadcast,
 * one FMA per vector in input order, the sums times rowScale at the end), two panels side by side.
 */
KERNEL static void fs_f16_row(const uint8_t *w, float row_scale, int in, const float *x, float *y, int p0, int p1) {
    const __m512i keep_low = _mm512_set1_epi32((int) 0x8FFFFFFF), keep_high = _mm512_set1_epi32((int) 0x8FFFE000);
    const long panel_bytes = (long) PANEL * in * 2;
    for (int p = p0; p < p1; p += 2) {
        const uint8_t *u = w + p * panel_bytes, *v = u + panel_bytes;
        __m512 a = _mm512_setzero_ps(), b = a, c = a, e = a;
        for (int k = 0; k < in; k++, u += 64, v += 64) {
            __m512i first = _mm512_loadu_si512(u), second = _mm512_loadu_si512(v);
            PREFETCH(u);
            PREFETCH(v);
            __m512 xk = _mm512_set1_ps(x[k] * row_scale);
            a = _mm512_fmadd_ps(_mm512_castsi512_ps(
                    _mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(first, 16), 3), keep_low)), xk, a);
            b = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(first, 3), keep_high)), xk, b);
            c = _mm512_fmadd_ps(_mm512_castsi512_ps(
                    _mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(second, 16), 3), keep_low)), xk, c);
            e = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(second, 3), keep_high)), xk, e);
        }
        __m512 s = _mm512_set1_ps(row_scale);
        _mm512_storeu_ps(y + p * PANEL, _mm512_mul_ps(a, s));
        _mm512_storeu_ps(y + p * PANEL + LANES, _mm512_mul_ps(b, s));
        _mm512_storeu_ps(y + p * PANEL + PANEL, _mm512_mul_ps(c, s));
        _mm512_storeu_ps(y + p * PANEL + PANEL + LANES, _mm512_mul_ps(e, s));
    }
}

/*
 * Rows of f16 inputs for fs_f16_rows: x's rows (row-major, `in` floats each) times row_scale, in blocks of F16_ROWS
 * rows with a block's inputs side by side for each k (a short last block repeats its last row), so that the kernel
 * broadcasts each from a fixed offset.
 */
enum { F16_ROWS = 12 };

static long fs_f16_inputs_floats(int rows, int in) {
    return (long) (rows + F16_ROWS - 1) / F16_ROWS * F16_ROWS * in;
}

static void fs_f16_inputs(const float *x, int rows, int in, float row_scale, float *scratch) {
    for (int r0 = 0; r0 < rows; r0 += F16_ROWS) {
        float *block = scratch + (long) r0 * in;
        for (int i = 0; i < F16_ROWS; i++) {
            const float *row = x + (long) (r0 + i < rows ? r0 + i : rows - 1) * in;
            for (int k = 0; k < in; k++) {
                block[(long) k * F16_ROWS + i] = row[k] * row_scale;
            }
        }
    }
}

/*
 * The rows fs_f16_inputs prepared times the f16 panels [p0, p1), into y (a row every stride floats). Each column's
 * sum is fs_f16_row's step for step (the same widened codes, FMAs in input order, the sum times row_scale), so a
 * row's result is the one-row kernel's to the bit, however many rows come with it. A panel is widened once for
 * F16_ROWS rows (24 accumulators), read from memory for the first block and from the core's L2 for the others.
 */
KERNEL static void fs_f16_rows(const uint8_t *w, float row_scale, int in, int rows, const float *inputs, float *y,
                               long stride, int p0, int p1) {
    const __m512i keep_low = _mm512_set1_epi32((int) 0x8FFFFFFF), keep_high = _mm512_set1_epi32((int) 0x8FFFE000);
    const __m512 s = _mm512_set1_ps(row_scale);
    const long panel_bytes = (long) PANEL * in * 2;
    for (int p = p0; p < p1; p++) {
        for (int r0 = 0; r0 < rows; r0 += F16_ROWS) {
            const uint8_t *u = w + p * panel_bytes;
            const float *xk = inputs + (long) r0 * in;
            __m512 low[F16_ROWS], high[F16_ROWS];
            _Pragma("GCC unroll 12")
            for (int i = 0; i < F16_ROWS; i++) {
                low[i] = _mm512_setzero_ps();
                high[i] = low[i];
            }
            for (int k = 0; k < in; k++, u += 64, xk += F16_ROWS) {
                __m512i words = _mm512_loadu_si512(u);
                PREFETCH(u);
                __m512 a = _mm512_castsi512_ps(
                        _mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(words, 16), 3), keep_low));
                __m512 b = _mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(words, 3), keep_high));
                _Pragma("GCC unroll 12")
                for (int i = 0; i < F16_ROWS; i++) {
                    __m512 x = _mm512_set1_ps(xk[i]);
                    low[i] = _mm512_fmadd_ps(a, x, low[i]);
                    high[i] = _mm512_fmadd_ps(b, x, high[i]);
                }
            }
            int n = rows - r0 < F16_ROWS ? rows - r0 : F16_ROWS;
            for (int i = 0; i < n; i++) {
                float *out = y + (r0 + i) * stride + p * PANEL;
                _mm512_storeu_ps(out, _mm512_mul_ps(low[i], s));
                _mm512_storeu_ps(out + LANES, _mm512_mul_ps(high[i], s));
            }
        }
    }
}

#ifndef FS_NO_JNI
/* ---- JNI: io.flexiserve.model.cpu.NativeKernels ------------------------------------------------------------- */

JNIEXPORT jboolean JNICALL Java_io_flexiserve_model_cpu_NativeKernels_supported(JNIEnv *env, jclass cls) {
    (void) env; (void) cls;
    if (!fs_supported()) {
        return JNI_FALSE;
    }
    fs_amx_enable();
    return JNI_TRUE;
}

JNIEXPORT jboolean JNICALL Java_io_flexiserve_model_cpu_NativeKernels_amx(JNIEnv *env, jclass cls) {
    (void) env; (void) cls;
    return fs_amx ? JNI_TRUE : JNI_FALSE;
}

/* See flexikernels.h. */
int fs_missing(JNIEnv *env, const void *pointer, const char *what) {
    if (pointer != NULL) {
        return 0;
    }
    if (!(*env)->ExceptionCheck(env)) {
        jclass type = (*env)->FindClass(env, "java/lang/IllegalArgumentException");
        if (type != NULL) {
            (*env)->ThrowNew(env, type, what);
        }
    }
    return 1;
}

/*
 * Bytes of scratch that `rows` rows of `in` inputs take once prepared for a weight of `bits`: 8 and 4, quantized
 * (whole AMX passes of 16 rows: a pass reads them all); 16, f16 weights' inputs in blocks of F16_ROWS rows.
 */
JNIEXPORT jlong JNICALL Java_io_flexiserve_model_cpu_NativeKernels_preparedBytes(JNIEnv *env, jclass cls, jint bits,
                                                                                 jint rows, jint in) {
    (void) env; (void) cls;
    return bits == 16 ? fs_f16_inputs_floats(rows, in) * (jlong) sizeof(float)
                      : (long) (rows + AMX_ROWS - 1) / AMX_ROWS * AMX_ROWS * fs_row_bytes(in, fs_block(bits));
}

/* Rows of x (row-major from offset) prepared into scratch for a weight of `bits` (f16: times row_scale). */
JNIEXPORT void JNICALL Java_io_flexiserve_model_cpu_NativeKernels_prepare(JNIEnv *env, jclass cls, jint bits,
        jfloatArray xt, jint offset, jint rows, jint in, jfloat row_scale, jobject scratch) {
    (void) cls;
    void *base = (*env)->GetDirectBufferAddress(env, scratch);
    if (fs_missing(env, base, "the scratch is not a direct buffer")) {
        return;
    }
    float *x = (*env)->GetPrimitiveArrayCritical(env, xt, NULL);
    if (fs_missing(env, x, "the input could not be pinned")) {
        return;
    }
    if (bits == 16) {
        fs_f16_inputs(x + offset, rows, in, row_scale, base);
    } else {
        fs_quantize(x + offset, rows, in, fs_block(bits), base);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, xt, x, JNI_ABORT);
}

/*
 * y[yOffset + r * stride + c] for the rows prepared in scratch and the columns of panels [p0, p1) of a weight of
 * `bits`. HotSpot hands out the array itself (no copy), so threads writing disjoint columns of one y at once is safe.
 */
JNIEXPORT void JNICALL Java_io_flexiserve_model_cpu_NativeKernels_multiplyPrepared(JNIEnv *env, jclass cls,
        jint bits, jobject packed, jfloat row_scale, jint in, jint rows, jobject scratch, jfloatArray y,
        jint y_offset, jint stride, jint p0, jint p1) {
    (void) cls;
    const uint8_t *w = (*env)->GetDirectBufferAddress(env, packed);
    const uint8_t *x = (*env)->GetDirectBufferAddress(env, scratch);
    if (fs_missing(env, w, "the weight is not a direct buffer") || fs_missing(env, x, "the scratch is not direct")) {
        return;
    }
    float *out = (*env)->GetPrimitiveArrayCritical(env, y, NULL);
    if (fs_missing(env, out, "the output could not be pinned")) {
        return;
    }
    if (bits == 16) {
        fs_f16_rows(w, row_scale, in, rows, (const float *) x, out + y_offset, stride, p0, p1);
    } else {
        fs_quant_rows(bits, w, in, rows, x, out + y_offset, stride, p0, p1);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, y, out, 0);
}

JNIEXPORT void JNICALL Java_io_flexiserve_model_cpu_NativeKernels_f16Row(JNIEnv *env, jclass cls, jobject packed,
        jfloat row_scale, jint in, jfloatArray x, jfloatArray y, jint p0, jint p1) {
    (void) cls;
    const uint8_t *w = (*env)->GetDirectBufferAddress(env, packed);
    if (fs_missing(env, w, "the weight is not a direct buffer")) {
        return;
    }
    float *xs = (*env)->GetPrimitiveArrayCritical(env, x, NULL);
    if (fs_missing(env, xs, "the input could not be pinned")) {
        return;
    }
    float *out = (*env)->GetPrimitiveArrayCritical(env, y, NULL);
    if (out == NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, x, xs, JNI_ABORT); /* no other JNI call inside a critical region */
        fs_missing(env, out, "the output could not be pinned");
        return;
    }
    fs_f16_row(w, row_scale, in, xs, out, p0, p1);
    (*env)->ReleasePrimitiveArrayCritical(env, y, out, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, x, xs, JNI_ABORT);
}
#endif
