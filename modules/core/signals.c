/* Signal handlers that record, and the waits that notice (signals.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_main.h"
#include "loom/signals.h"

/* Written by handlers, read by loops: the only mutable file-scope state of
 * the core besides its context. A handler may run on any thread of a
 * child, so these are lock-free atomics (safe in a handler, unlike a
 * lock) rather than volatile. Relaxed, except the busy table below: each
 * is a flag or a descriptor read on its own, and a wake-up write follows
 * every change the loops must act on. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "signal handlers need lock-free atomic ints");
static _Atomic int child_stop = LOOM_STOP_NONE;
static _Atomic int child_wake_fd = -1;
static _Atomic int child_busy_fd = -1;
/* A threaded child's busy descriptors: `busy_n` ints, one every
 * `busy_stride` bytes from `busy_first`. busy_n is published last with
 * release and read first with acquire, so a handler never sees a half-set
 * table. */
static _Atomic int *busy_first;
static size_t busy_stride;
static _Atomic int busy_n;
static int chld_pipe[2] = { -1, -1 };


static void
on_sigchld(int signo)
{
    int saved = errno;

    (void) !write(chld_pipe[1], "c", 1);
    errno = saved;
}


int
loom_signals_parent_begin(void)
{
    struct sigaction sa;

    if (pipe2(chld_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        return -errno;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGCHLD, &sa, NULL) == 0 ? 0 : -errno;
}


void
loom_signals_parent_end(void)
{
    signal(SIGCHLD, SIG_DFL);
    if (chld_pipe[0] >= 0) {
        close(chld_pipe[0]);
        close(chld_pipe[1]);
        chld_pipe[0] = chld_pipe[1] = -1;
    }
}


int
loom_signals_parent_wait(int timeout_ms)
{
    struct pollfd pfd = { .fd = chld_pipe[0], .events = POLLIN };
    char buf[64];
    int n;

    n = poll(&pfd, 1, timeout_ms);
    if (n <= 0) {
        return 0;    /* timeout, or EINTR from a stop/restart signal */
    }
    while (read(chld_pipe[0], buf, sizeof(buf)) > 0) {
        /* drain: one look at the children serves every byte */
    }
    return 1;
}


static void
wake(void)
{
    uint64_t one = 1;

    int fd = atomic_load_explicit(&child_wake_fd, memory_order_relaxed);

    if (fd >= 0) {
        (void) !write(fd, &one, sizeof(one));
    }
}


static void
shut_busy(void)
{
    int i, fd, n = atomic_load_explicit(&busy_n, memory_order_acquire);

    fd = atomic_load_explicit(&child_busy_fd, memory_order_relaxed);
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
    }
    for (i = 0; i < n; i++) {
        fd = atomic_load_explicit((_Atomic int *) ((char *) busy_first
                                                   + (size_t) i * busy_stride),
                                  memory_order_relaxed);
        if (fd >= 0) {
            shutdown(fd, SHUT_RDWR);
        }
    }
}


/* Moves child_stop up to `how`, never down (a stop-now stays one). */
static void
raise_stop(loom_stop_e how)
{
    int seen = atomic_load_explicit(&child_stop, memory_order_relaxed);

    while ((int) how > seen
           && !atomic_compare_exchange_weak_explicit(&child_stop, &seen,
                                                     (int) how,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed)) {
    }
}


static void
on_stop_now(int signo)
{
    int saved = errno;

    atomic_store_explicit(&child_stop, LOOM_STOP_NOW, memory_order_relaxed);
    shut_busy();
    /* A thread blocked on something we cannot break from here (a CGI's
     * pipe) must not keep the process: SIGALRM's default action ends it if
     * the clean exit has not happened within the grace time. */
    alarm(LOOM_STOP_NOW_GRACE_S);
    wake();
    errno = saved;
}


static void
on_graceful(int signo)
{
    int saved = errno;

    raise_stop(LOOM_STOP_GRACEFUL);
    wake();
    errno = saved;
}


static void
handle(int signo, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);
}


void
loom_signals_child_install(int wake_fd)
{
    sigset_t all;

    if (chld_pipe[0] >= 0) {
        close(chld_pipe[0]);
        close(chld_pipe[1]);
        chld_pipe[0] = chld_pipe[1] = -1;
    }
    signal(SIGCHLD, SIG_DFL);
    atomic_store_explicit(&child_wake_fd, wake_fd, memory_order_relaxed);
    handle(SIGTERM, on_stop_now);
    handle(SIGHUP, on_stop_now);
    handle(SIGUSR1, on_graceful);
    /* The stop-now grace time relies on SIGALRM's default action; an
     * ignored disposition survives exec, so whoever started apache2 (a CI
     * runner, a supervisor) may have left it ignored. */
    signal(SIGALRM, SIG_DFL);
    /* Ctrl-C in a foreground run reaches the whole process group; the
     * parent decides, then tells each child. */
    signal(SIGINT, SIG_IGN);
    signal(SIGWINCH, SIG_IGN);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}


loom_stop_e
loom_signals_child_pending(void)
{
    return (loom_stop_e) atomic_load_explicit(&child_stop,
                                              memory_order_relaxed);
}


void
loom_signals_child_request(loom_stop_e how)
{
    raise_stop(how);
    wake();
}


void
loom_signals_child_busy_fd(int fd)
{
    atomic_store_explicit(&child_busy_fd, fd, memory_order_relaxed);
}


void
loom_signals_child_busy_fds(_Atomic int *first, size_t stride, int n)
{
    atomic_store_explicit(&busy_n, 0, memory_order_release);
    busy_first = first;
    busy_stride = stride;
    atomic_store_explicit(&busy_n, first != NULL ? n : 0,
                          memory_order_release);
}
