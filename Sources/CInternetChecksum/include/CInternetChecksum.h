#ifndef C_INTERNET_CHECKSUM_H
#define C_INTERNET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* The sum of `words` 16-bit words read in host order from `bytes` (any
 * alignment), as a 64-bit integer: the heart of RFC 1071's checksum, which
 * the caller folds to 16 bits and swaps to network order. Vectorised, with
 * an AVX2 version chosen at load time on machines that have it: it runs at
 * several times the speed of the copy that brought the bytes in, on every
 * frame a recording writes. */
uint64_t internet_checksum_sum16(const void *bytes, size_t words);

#endif
