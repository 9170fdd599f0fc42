/* Signal handlers that record, and the waits that notice (signals.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_main.h"
#include "loom/signals.h"

/* Written by handlers, read by loops: the only mutable file-scope state of
 * the core besides its context. */
static volatile sig_atomic_t child_stop = LOOM_STOP_NONE;
static volatile sig_atomic_t child_wake_fd = -1;
static volatile sig_atomic_t child_busy_fd = -1;
static volatile int *volatile busy_first; /* a threaded child's busy fds */
static volatile size_t busy_stride;
static volatile sig_atomic_t busy_n;
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

    if (child_wake_fd >= 0) {
        (void) !write(child_wake_fd, &one, sizeof(one));
    }
}


static void
shut_busy(void)
{
    int i, fd;

    if (child_busy_fd >= 0) {
        shutdown(child_busy_fd, SHUT_RDWR);
    }
    for (i = 0; i < busy_n; i++) {
        fd = *(volatile int *) ((volatile char *) busy_first
                                + (size_t) i * busy_stride);
        if (fd >= 0) {
            shutdown(fd, SHUT_RDWR);
        }
    }
}


static void
on_stop_now(int signo)
{
    int saved = errno;

    child_stop = LOOM_STOP_NOW;
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

    if (child_stop < LOOM_STOP_GRACEFUL) {
        child_stop = LOOM_STOP_GRACEFUL;
    }
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
    child_wake_fd = wake_fd;
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
    return (loom_stop_e) child_stop;
}


void
loom_signals_child_request(loom_stop_e how)
{
    if ((sig_atomic_t) how > child_stop) {
        child_stop = how;
    }
    wake();
}


void
loom_signals_child_busy_fd(int fd)
{
    child_busy_fd = fd;
}


void
loom_signals_child_busy_fds(volatile int *first, size_t stride, int n)
{
    busy_n = 0;             /* the handler never sees a half-set table */
    busy_first = first;
    busy_stride = stride;
    busy_n = first != NULL ? n : 0;
}
