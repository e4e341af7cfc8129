#ifndef C_SPLICE_H
#define C_SPLICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The Linux calls the splice path makes that Glibc's Swift overlay leaves
 * out (they are _GNU_SOURCE or Linux-only): pipes sized for splicing,
 * splice(2) itself, and an edge-triggered epoll woken by an eventfd. Each
 * returns -1 with errno set on failure, as the call it wraps does. On other
 * systems every call fails with ENOSYS. */

/* What an event on a registered descriptor said: an error or hang-up
 * (CSPLICE_EVENT_ERROR), whether it may be read (input, the peer's end,
 * or an error to read: CSPLICE_EVENT_READ), and whether the peer's end of
 * input has come (CSPLICE_EVENT_END: read until a read says so). */
#define CSPLICE_EVENT_ERROR 1u
#define CSPLICE_EVENT_READ 2u
#define CSPLICE_EVENT_END 4u

/* A non-blocking, close-on-exec pipe, asked to hold `capacity` bytes (the
 * system may refuse; the pipe keeps its default size then); returns the
 * bytes it holds. */
int csplice_pipe(int fds[2], int capacity);

/* splice(from -> to) of at most `length` bytes, SPLICE_F_MOVE | SPLICE_F_NONBLOCK. */
ssize_t csplice_move(int from, int to, size_t length);

int csplice_epoll_create(void);

/* Registers `fd` edge-triggered for input, output and the peer's end, with `token`. */
int csplice_epoll_add(int epoll, int fd, uint64_t token);

int csplice_epoll_remove(int epoll, int fd);

/* Waits (timeout in milliseconds, -1 for ever) and fills up to `capacity`
 * tokens, and for each its CSPLICE_EVENT_* bits in `flags`. */
int csplice_epoll_wait(int epoll, uint64_t *tokens, uint32_t *flags, int capacity, int timeout);

/* A non-blocking, close-on-exec eventfd. */
int csplice_eventfd(void);

/* Names the calling thread (as `top -H` shows it). */
void csplice_name_thread(const char *name);

#endif
