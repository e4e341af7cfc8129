#ifndef TAPEDECK_CMALLOC_SHIM_H
#define TAPEDECK_CMALLOC_SHIM_H
/* glibc's mallopt and its parameters, which Swift's Glibc module leaves out. */
#ifdef __linux__
#include <malloc.h>
#endif
#endif
