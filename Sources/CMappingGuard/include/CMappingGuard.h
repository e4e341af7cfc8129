#ifndef C_MAPPING_GUARD_H
#define C_MAPPING_GUARD_H

#include <stddef.h>

/* Read-only file mappings that survive their file being cut short.
 *
 * Reading a mapped file past its end raises SIGBUS, and a file another
 * process truncates or rewrites while Tapedeck reads it (`tcpdump -w` or
 * `tapedeck record --overwrite` over a capture `replay serve` or `inspect`
 * is reading) moves its end under the reader. A guarded mapping takes that
 * fault instead: zeros are mapped over the mapping from the faulting page
 * on, the faulting read completes (it reads zeros), and the mapping is
 * marked cut, for the reader to notice and report before it trusts what it
 * read. A SIGBUS anywhere else goes to the handler that was there before
 * (Swift's crash report, or the default: the process ends as it would
 * have). */

/* Guards [start, start + length), a mapping the caller made with PROT_READ.
 * Returns a slot for the calls below, or -1 when every slot is taken (then
 * the caller should not rely on the mapping). */
int mapping_guard_add(const void *start, size_t length);

/* 1 once a read of the slot's mapping found the file cut short, else 0. */
int mapping_guard_was_cut(int slot);

/* Stops guarding the slot's mapping: call before unmapping it. */
void mapping_guard_remove(int slot);

#endif
