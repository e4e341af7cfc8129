#define _GNU_SOURCE
#include "CSplice.h"

#include <errno.h>

#ifdef __linux__
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int csplice_pipe(int fds[2], int capacity) {
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
    (void)fcntl(fds[1], F_SETPIPE_SZ, capacity);
    int size = fcntl(fds[1], F_GETPIPE_SZ);
    return size > 0 ? size : 65536;
}

ssize_t csplice_move(int from, int to, size_t length) {
    return splice(from, NULL, to, NULL, length, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

int csplice_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int csplice_epoll_add(int epoll, int fd, uint64_t token) {
    struct epoll_event event = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = token };
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int csplice_epoll_remove(int epoll, int fd) {
    struct epoll_event event = { 0 };
    return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event);
}

int csplice_epoll_wait(int epoll, uint64_t *tokens, uint32_t *flags, int capacity, int timeout) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epoll, events, capacity, timeout);
    for (int i = 0; i < count; i++) {
        tokens[i] = events[i].data.u64;
        uint32_t happened = events[i].events;
        flags[i] = ((happened & (EPOLLERR | EPOLLHUP)) ? CSPLICE_EVENT_ERROR : 0)
            | ((happened & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) ? CSPLICE_EVENT_READ : 0)
            | ((happened & (EPOLLRDHUP | EPOLLHUP)) ? CSPLICE_EVENT_END : 0);
    }
    return count;
}

int csplice_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void csplice_name_thread(const char *name) {
    (void)pthread_setname_np(pthread_self(), name);
}

#else

int csplice_pipe(int fds[2], int capacity) { (void)fds; (void)capacity; errno = ENOSYS; return -1; }
ssize_t csplice_move(int from, int to, size_t length) { (void)from; (void)to; (void)length; errno = ENOSYS; return -1; }
int csplice_epoll_create(void) { errno = ENOSYS; return -1; }
int csplice_epoll_add(int epoll, int fd, uint64_t token) { (void)epoll; (void)fd; (void)token; errno = ENOSYS; return -1; }
int csplice_epoll_remove(int epoll, int fd) { (void)epoll; (void)fd; errno = ENOSYS; return -1; }
int csplice_epoll_wait(int epoll, uint64_t *tokens, uint32_t *flags, int capacity, int timeout) {
    (void)epoll; (void)tokens; (void)flags; (void)capacity; (void)timeout; errno = ENOSYS; return -1;
}
int csplice_eventfd(void) { errno = ENOSYS; return -1; }
void csplice_name_thread(const char *name) { (void)name; }

#endif
