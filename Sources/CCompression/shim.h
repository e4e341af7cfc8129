#ifndef TAPEDECK_CCOMPRESSION_SHIM_H
#define TAPEDECK_CCOMPRESSION_SHIM_H
#include <stdio.h>
#include <sys/types.h>
#include <zlib.h>
#include <zstd.h>

#ifdef __linux__
/* glibc's fopencookie, declared here under a name of our own: <stdio.h>
   declares it only with _GNU_SOURCE, which Swift's Glibc module lacks. */
typedef struct {
    ssize_t (*read)(void *cookie, char *buffer, size_t size);
    ssize_t (*write)(void *cookie, const char *buffer, size_t size);
    int (*seek)(void *cookie, long long *offset, int whence);
    int (*close)(void *cookie);
} tapedeck_cookie_functions;

FILE *tapedeck_fopencookie(void *cookie, const char *mode, tapedeck_cookie_functions functions) __asm__("fopencookie");
#endif
#endif
