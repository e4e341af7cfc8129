#ifndef TAPEDECK_CXXHASH_SHIM_H
#define TAPEDECK_CXXHASH_SHIM_H
#include <xxhash.h>

#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
/* libxxhash's own build targets plain x86-64 (SSE2); its dispatching entry
 * point picks AVX2 or AVX-512 where the machine has them, twice as fast. */
static inline XXH_errorcode tapedeck_xxh3_update(XXH3_state_t *state, const void *input, size_t length) {
    return XXH3_64bits_update_dispatch(state, input, length);
}
#else
static inline XXH_errorcode tapedeck_xxh3_update(XXH3_state_t *state, const void *input, size_t length) {
    return XXH3_64bits_update(state, input, length);
}
#endif

#endif
