/* A minimal C unit-test runner that speaks TAP, for the pure parts of the
 * core. A test file #includes the .c file under test, then defines tests:
 *
 *     UNIT_TEST(spawn_rate_doubles) { UNIT_EQ(f(1), 2); }
 *
 * Each test runs in a forked child with a time limit, so that a crash or a
 * hang fails that test alone. t/00unit.t builds and runs every file. */
#ifndef LOOM_UNIT_H
#define LOOM_UNIT_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_MAX 256
#define UNIT_SECONDS 10

typedef void (*unit_fn)(void);

static struct {
    const char *label;
    unit_fn     fn;
} unit_tests[UNIT_MAX];
static int unit_count;
static int unit_failed;

#define UNIT_TEST(name)                                                    \
    static void name(void);                                                \
    __attribute__((constructor)) static void unit_register_##name(void)    \
    {                                                                      \
        if (unit_count < UNIT_MAX) {                                       \
            unit_tests[unit_count].label = #name;                          \
            unit_tests[unit_count++].fn = name;                            \
        }                                                                  \
    }                                                                      \
    static void name(void)

#define UNIT_EQ(got, want)                                                 \
    do {                                                                   \
        long long unit_g = (long long) (got), unit_w = (long long) (want); \
        if (unit_g != unit_w) {                                            \
            printf("# %s:%d: %s is %lld, expected %lld\n", __FILE__,        \
                   __LINE__, #got, unit_g, unit_w);                        \
            unit_failed = 1;                                               \
        }                                                                  \
    } while (0)

#define UNIT_TRUE(cond)                                                    \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("# %s:%d: expected %s\n", __FILE__, __LINE__, #cond);   \
            unit_failed = 1;                                               \
        }                                                                  \
    } while (0)

static int
unit_run_one(int i)
{
    int status = 0;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        alarm(UNIT_SECONDS);
        unit_tests[i].fn();
        fflush(stdout);
        _exit(unit_failed ? 1 : 0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return 0;
    }
    if (WIFSIGNALED(status)) {
        printf("# died on signal %d%s\n", WTERMSIG(status),
               WTERMSIG(status) == SIGALRM ? " (time limit)" : "");
        return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
main(void)
{
    int i, bad = 0;

    printf("1..%d\n", unit_count);
    for (i = 0; i < unit_count; i++) {
        int ok = unit_run_one(i);

        printf("%s %d - %s\n", ok ? "ok" : "not ok", i + 1,
               unit_tests[i].label);
        bad |= !ok;
    }
    return bad;
}

#endif
