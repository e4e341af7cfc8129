#ifndef TAPEDECK_CSTANDARDIO_SHIM_H
#define TAPEDECK_CSTANDARDIO_SHIM_H
/* C's stdout as functions: Swift 6 refuses to read the global variable
   itself (shared mutable state), and print() writes through this stream. */
#include <stdio.h>
#ifdef __linux__
#include <stdio_ext.h>
#endif

static inline FILE *tapedeck_standard_output(void) { return stdout; }

/* Drops what stdout still holds and its error: once a failure has been
   said, flushing at exit must not say it again. */
static inline void tapedeck_discard_standard_output(void) {
#ifdef __linux__
    __fpurge(stdout);
#endif
    clearerr(stdout);
}
#endif
