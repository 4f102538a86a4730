/* What FlexiServe's native kernels share: flexikernels.c (products of packed weights), flexiattention.c (attention). */
#ifndef FLEXIKERNELS_H
#define FLEXIKERNELS_H

#include <jni.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The instructions every kernel may use; fs_supported() says whether this CPU has them. */
#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,fma")))
#define HELPER KERNEL static inline __attribute__((always_inline))

/*
 * Whether JNI failed to give a pointer: a buffer that is not direct (IllegalArgumentException thrown here) or an
 * array it could not pin (its OutOfMemoryError already pending). The caller then returns at once.
 */
int fs_missing(JNIEnv *env, const void *pointer, const char *what);

#endif
