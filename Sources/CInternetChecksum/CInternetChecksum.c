#include "CInternetChecksum.h"

#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
/* One build for every x86-64 machine; the loader picks the AVX2 clone where it runs. */
#define SUM16_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SUM16_CLONES
#endif

SUM16_CLONES
uint64_t internet_checksum_sum16(const void *bytes, size_t words) {
    const unsigned char *next = bytes;
    uint64_t total = 0;
    while (words > 0) {
        /* A 32-bit lane takes 65,536 words of at most 0xFFFF without
         * overflowing, so the compiler may sum a block in 32-bit lanes. */
        size_t block = words < 65536 ? words : 65536;
        uint32_t sum = 0;
        for (size_t i = 0; i < block; i++) {
            uint16_t word;
            memcpy(&word, next + 2 * i, sizeof word);
            sum += word;
        }
        total += sum;
        next += 2 * block;
        words -= block;
    }
    return total;
}
