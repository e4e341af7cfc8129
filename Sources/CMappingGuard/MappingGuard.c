#define _GNU_SOURCE
#include "CMappingGuard.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Mappings read at once in one process: one per capture being read. */
#define MAPPING_GUARD_SLOTS 64

struct guarded {
    atomic_int taken;
    /* Published last (release), cleared first: the handler only matches a
       slot whose start and end are both set. */
    _Atomic uintptr_t start;
    _Atomic uintptr_t end;
    atomic_int cut;
};

static struct guarded slots[MAPPING_GUARD_SLOTS];
static struct sigaction previous;
static uintptr_t page_size = 4096;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void pass_on(int signal, siginfo_t *info, void *context) {
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction != NULL) {
            previous.sa_sigaction(signal, info, context);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(signal);
        return;
    }
    /* The default action: restored, and the signal raised again (it stays
       pending until this handler returns; a faulting read would fault again). */
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(SIGBUS, &fallback, NULL);
    raise(signal);
}

static void on_sigbus(int signal, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    if (info->si_code == BUS_ADRERR) {
        for (int index = 0; index < MAPPING_GUARD_SLOTS; index++) {
            uintptr_t start = atomic_load_explicit(&slots[index].start, memory_order_acquire);
            uintptr_t end = atomic_load_explicit(&slots[index].end, memory_order_acquire);
            if (start == 0 || address < start || address >= end) continue;
            uintptr_t from = address & ~(page_size - 1);
            /* mmap is a bare system call here (async-signal-safe in practice). */
            void *zeros = mmap((void *)from, end - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            if (zeros == MAP_FAILED) break;
            atomic_store_explicit(&slots[index].cut, 1, memory_order_release);
            return;
        }
    }
    pass_on(signal, info, context);
}

static void install(void) {
    long size = sysconf(_SC_PAGESIZE);
    if (size > 0) page_size = (uintptr_t)size;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous);
}

int mapping_guard_add(const void *start, size_t length) {
    if (start == NULL || length == 0) return -1;
    pthread_once(&installed, install);
    for (int index = 0; index < MAPPING_GUARD_SLOTS; index++) {
        int free = 0;
        if (!atomic_compare_exchange_strong(&slots[index].taken, &free, 1)) continue;
        atomic_store_explicit(&slots[index].cut, 0, memory_order_relaxed);
        atomic_store_explicit(&slots[index].end, (uintptr_t)start + length, memory_order_release);
        atomic_store_explicit(&slots[index].start, (uintptr_t)start, memory_order_release);
        return index;
    }
    return -1;
}

int mapping_guard_was_cut(int slot) {
    if (slot < 0 || slot >= MAPPING_GUARD_SLOTS) return 0;
    return atomic_load_explicit(&slots[slot].cut, memory_order_acquire);
}

void mapping_guard_remove(int slot) {
    if (slot < 0 || slot >= MAPPING_GUARD_SLOTS) return;
    atomic_store_explicit(&slots[slot].start, 0, memory_order_release);
    atomic_store_explicit(&slots[slot].end, 0, memory_order_release);
    atomic_store_explicit(&slots[slot].taken, 0, memory_order_release);
}
