#ifndef TAPEDECK_CXXHASH_SHIM_H
#define TAPEDECK_CXXHASH_SHIM_H
#include <xxhash.h>
#endif
