/* Threads of a threaded child (see threads.h). */
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "httpd.h"
#include "http_main.h"
#include "http_log.h"
#include "mpm_common.h"

#include "loom/log.h"
#include "loom/signals.h"
#include "loom/threads.h"

#define RECHECK_MS 1000   /* generation and parent checks, when no signal */


void
loom_threads_block_signals(void)
{
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}


apr_status_t
loom_threads_start(apr_thread_t **t, apr_thread_start_t fn, void *arg,
                   apr_pool_t *pool)
{
    apr_threadattr_t *attr;
    apr_status_t rv;

    apr_threadattr_create(&attr, pool);
    apr_threadattr_detach_set(attr, 0);
    if (ap_thread_stacksize != 0) {
        rv = apr_threadattr_stacksize_set(attr, ap_thread_stacksize);
        if (rv != APR_SUCCESS && rv != APR_ENOTIMPL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                         LOOMNO(0501) "ThreadStackSize of %" APR_SIZE_T_FMT
                         " was refused; using the default",
                         ap_thread_stacksize);
        }
    }
    rv = ap_thread_create(t, attr, fn, arg, pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, rv, ap_server_conf,
                     LOOMNO(0502) "could not create a thread");
    }
    return rv;
}


loom_stop_e
loom_threads_wait_stop(loom_child_t *ch)
{
    struct pollfd pfd = { .events = POLLIN };
    sigset_t stops;
    loom_stop_e how;

    pfd.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loom_signals_child_install(pfd.fd);
    /* install() unblocked everything in this thread; keep it that way:
     * the main thread is the one that takes the signals. */
    sigemptyset(&stops);
    pthread_sigmask(SIG_SETMASK, &stops, NULL);
    while ((how = loom_child_exit_reason(ch)) == LOOM_STOP_NONE) {
        uint64_t drained;

        if (poll(&pfd, 1, RECHECK_MS) > 0) {
            (void) !read(pfd.fd, &drained, sizeof(drained));
        }
    }
    return how;
}


void
loom_threads_run(loom_child_t *ch, loom_thread_t *set, int n)
{
    int i;

    loom_threads_block_signals();
    for (i = 0; i < n; i++) {
        atomic_init(&set[i].busy_fd, -1);
    }
    loom_signals_child_busy_fds(&set[0].busy_fd, sizeof(*set), n);
    for (i = 0; i < n; i++) {
        if (loom_threads_start(&set[i].thread, set[i].fn, set[i].arg,
                               ch->pchild) != APR_SUCCESS) {
            loom_child_exit(ch, APEXIT_CHILDSICK);
        }
    }
}


void
loom_threads_abort_io(loom_thread_t *set, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        int fd = atomic_load_explicit(&set[i].busy_fd, memory_order_relaxed);

        if (fd >= 0) {
            shutdown(fd, SHUT_RDWR);
        }
    }
}


void
loom_threads_join(loom_thread_t *set, int n)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < n; i++) {
        if (set[i].thread != NULL) {
            apr_thread_join(&rv, set[i].thread);
        }
    }
}
