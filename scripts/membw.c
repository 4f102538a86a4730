/*
 * The host's memory read bandwidth as a C program sees it, to set FlexiServe's Java figures against
 * (BENCHMARKS.md, "Weight formats"): two threads sum 1 GiB with AVX-512 loads, each its half as one sequential
 * stream, then as two (the two halves of its half side by side, as the Java kernels walk two panels), four
 * rounds. Needs gcc and a CPU with AVX-512; nothing here is part of the service:
 *
 *   gcc -O2 -mavx512f -pthread scripts/membw.c -o /tmp/membw && /tmp/membw
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (1L << 30)
#define THREADS 2

static char *buffer;
static int streams;
static volatile float sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *sum(void *arg) {
    long part = BYTES / THREADS;
    const char *p = buffer + (long) arg * part;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    if (streams == 1) {
        for (long i = 0; i < part; i += 128) {
            s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
            s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 64));
        }
    } else {
        const char *q = p + part / 2;
        for (long i = 0; i < part / 2; i += 64) {
            s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
            s1 = _mm512_add_ps(s1, _mm512_load_ps(q + i));
        }
    }
    sink += _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    return NULL;
}

int main(void) {
    buffer = aligned_alloc(4096, BYTES);
    memset(buffer, 0, BYTES);
    for (int round = 0; round < 4; round++) {
        for (streams = 1; streams <= 2; streams++) {
            double start = now();
            for (int rep = 0; rep < 3; rep++) {
                pthread_t threads[THREADS];
                for (long t = 0; t < THREADS; t++) {
                    pthread_create(&threads[t], NULL, sum, (void *) t);
                }
                for (int t = 0; t < THREADS; t++) {
                    pthread_join(threads[t], NULL);
                }
            }
            printf("round %d, %d stream%s per thread: %.1f GB/s\n", round, streams, streams == 1 ? "" : "s",
                   3.0 * BYTES / (now() - start) / 1e9);
        }
    }
    free(buffer);
    return 0;
}
