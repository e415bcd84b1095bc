/* Time: clocks, sleeps, interval timers. Only relations are printed, never
 * times themselves. */
#include "t.h"
#include <sys/time.h>
#include <time.h>
#include <sched.h>

static long ns_between(struct timespec a, struct timespec b) {
    return (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
}

static struct timespec now(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t;
}

static void clocks(void) {
    struct timespec prev = now(CLOCK_MONOTONIC), t;
    int mono = 1;
    for (int i = 0; i < 10000; i++) {
        t = now(CLOCK_MONOTONIC);
        if (ns_between(prev, t) < 0) mono = 0;
        prev = t;
    }
    CHECK(mono, "CLOCK_MONOTONIC never goes back over 10000 reads");
    struct timespec rt = now(CLOCK_REALTIME);
    CHECK(rt.tv_sec > 1577836800, "CLOCK_REALTIME after 2020");
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0 && labs(tv.tv_sec - rt.tv_sec) <= 2, "gettimeofday agrees with REALTIME");
    time_t tt = time(NULL);
    CHECK(labs(tt - rt.tv_sec) <= 2, "time() agrees");
    time_t t2;
    CHECK(syscall(SYS_time, &t2) >= 0 && labs(t2 - rt.tv_sec) <= 2, "time syscall writes its argument");
    struct timespec boot = now(CLOCK_BOOTTIME), mon = now(CLOCK_MONOTONIC);
    CHECK(ns_between(mon, boot) >= -1000000, "BOOTTIME >= MONOTONIC");
    static const struct {
        clockid_t id;
        const char *name;
    } ids[] = {{CLOCK_REALTIME, "REALTIME"},
               {CLOCK_MONOTONIC, "MONOTONIC"},
               {CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"},
               {CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"},
               {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
               {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
               {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
               {CLOCK_BOOTTIME, "BOOTTIME"}};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec r = {-1, -1}, v = {-1, -1};
        int g = clock_gettime(ids[i].id, &v);
        int s = clock_getres(ids[i].id, &r);
        CHECK(g == 0 && s == 0 && v.tv_nsec >= 0 && v.tv_nsec < 1000000000 && r.tv_sec == 0 && r.tv_nsec > 0,
              "CLOCK_%s readable with a resolution", ids[i].name);
    }
    struct timespec r;
    clock_getres(CLOCK_MONOTONIC, &r);
    say("CLOCK_MONOTONIC resolution %ld ns", r.tv_nsec);
    clock_getres(CLOCK_REALTIME, &r);
    say("CLOCK_REALTIME resolution %ld ns", r.tv_nsec);
    CHECK_ERR(clock_gettime(1234, &r), EINVAL, "unknown clock");
    CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, 8), EFAULT, "bad pointer");
    CHECK(clock_getres(CLOCK_MONOTONIC, NULL) == 0, "clock_getres with NULL");
    /* CPU clocks advance with work. */
    struct timespec c0 = now(CLOCK_PROCESS_CPUTIME_ID), th0 = now(CLOCK_THREAD_CPUTIME_ID);
    volatile unsigned long x = 0;
    /* Spin until 20 ms of CPU time were used (at most 20 s of wall time, in
     * case the CPU clock does not move). */
    struct timespec w0 = now(CLOCK_MONOTONIC);
    while (ns_between(c0, now(CLOCK_PROCESS_CPUTIME_ID)) < 20000000L &&
           ns_between(w0, now(CLOCK_MONOTONIC)) < 20000000000L)
        x++;
    struct timespec c1 = now(CLOCK_PROCESS_CPUTIME_ID), th1 = now(CLOCK_THREAD_CPUTIME_ID);
    CHECK(ns_between(c0, c1) >= 20000000L, "PROCESS_CPUTIME advances while spinning");
    CHECK(ns_between(th0, th1) >= 15000000L, "THREAD_CPUTIME advanced too");
    CHECK(ns_between(c0, c1) <= ns_between(w0, now(CLOCK_MONOTONIC)) + 5000000L,
          "one thread's CPU time does not exceed the wall time");
    /* Another process's CPU clock. */
    clockid_t cid;
    CHECK(clock_getcpuclockid(getpid(), &cid) == 0 && clock_gettime(cid, &r) == 0, "clock_getcpuclockid(self)");
}

static void sleeps(void) {
    struct timespec a = now(CLOCK_MONOTONIC);
    struct timespec req = {0, 20 * 1000 * 1000};
    CHECK(nanosleep(&req, NULL) == 0, "nanosleep 20 ms");
    long el = ns_between(a, now(CLOCK_MONOTONIC));
    CHECK(el >= 20000000L && el < 5000000000L, "slept at least 20 ms (and not for ages)");
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(nanosleep(&bad, NULL), EINVAL, "nsec out of range");
    struct timespec neg = {-1, 0};
    CHECK_ERR(nanosleep(&neg, NULL), EINVAL, "negative seconds");
    CHECK_ERR(syscall(SYS_nanosleep, 8, NULL), EFAULT, "bad pointer");
    struct timespec zero = {0, 0};
    CHECK(nanosleep(&zero, NULL) == 0, "zero sleep");
    /* Absolute sleep on the monotonic clock. */
    struct timespec target = now(CLOCK_MONOTONIC);
    target.tv_nsec += 30 * 1000 * 1000;
    if (target.tv_nsec >= 1000000000) {
        target.tv_sec++;
        target.tv_nsec -= 1000000000;
    }
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL) == 0, "clock_nanosleep TIMER_ABSTIME");
    CHECK(ns_between(target, now(CLOCK_MONOTONIC)) >= 0, "woke at or after the deadline");
    struct timespec past = {1, 0};
    a = now(CLOCK_MONOTONIC);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) == 0, "deadline in the past returns at once");
    CHECK(ns_between(a, now(CLOCK_MONOTONIC)) < 1000000000L, "...quickly");
    struct timespec rel = {0, 10 * 1000 * 1000};
    a = now(CLOCK_MONOTONIC);
    CHECK(clock_nanosleep(CLOCK_REALTIME, 0, &rel, NULL) == 0, "relative clock_nanosleep on REALTIME");
    CHECK(ns_between(a, now(CLOCK_MONOTONIC)) >= 10000000L, "slept >= 10 ms");
    struct timespec rt = now(CLOCK_REALTIME);
    rt.tv_nsec += 10 * 1000 * 1000;
    if (rt.tv_nsec >= 1000000000) {
        rt.tv_sec++;
        rt.tv_nsec -= 1000000000;
    }
    CHECK(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &rt, NULL) == 0, "absolute sleep on REALTIME");
    /* clock_nanosleep returns the error instead of setting errno. */
    CHECK(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &rel, NULL) == EINVAL, "sleep on the thread CPU clock: EINVAL");
    CHECK(clock_nanosleep(1234, 0, &rel, NULL) == EINVAL, "sleep on an unknown clock: EINVAL");
}

static volatile sig_atomic_t alarms;
static void on_alrm(int s) {
    (void)s;
    alarms++;
}

static volatile sig_atomic_t vt, pr;
static void on_vt(int s) {
    (void)s;
    vt++;
}
static void on_pr(int s) {
    (void)s;
    pr++;
}

static void itimers(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct itimerval it = {{0, 20000}, {0, 20000}}, cur;
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer ITIMER_REAL 20 ms periodic");
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_interval.tv_usec == 20000 && cur.it_value.tv_sec == 0 &&
              cur.it_value.tv_usec <= 20000,
          "getitimer shows the interval and a value <= 20 ms");
    struct timespec a = now(CLOCK_MONOTONIC);
    while (alarms < 5) sigsuspend(&old);
    long el = ns_between(a, now(CLOCK_MONOTONIC));
    CHECK(alarms == 5, "5 periodic SIGALRMs");
    CHECK(el >= 80000000L, "took at least 80 ms");
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &off, &cur) == 0 && cur.it_interval.tv_usec == 20000, "disarm returns the old timer");
    getitimer(ITIMER_REAL, &cur);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0, "disarmed");
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* alarm() */
    CHECK(alarm(5) == 0, "alarm(5) with none pending returns 0");
    unsigned left = alarm(0);
    CHECK(left == 5 || left == 4, "alarm(0) returns the remaining seconds");
    say("alarm left rounded: %u", left);
    alarms = 0;
    alarm(1);
    a = now(CLOCK_MONOTONIC);
    while (!alarms) pause();
    el = ns_between(a, now(CLOCK_MONOTONIC));
    CHECK(el >= 900000000L && el < 10000000000L, "alarm(1) fired after about a second");
    /* ITIMER_VIRTUAL and ITIMER_PROF count CPU time. */
    signal(SIGVTALRM, on_vt);
    signal(SIGPROF, on_pr);
    struct itimerval v = {{0, 0}, {0, 10000}};
    CHECK(setitimer(ITIMER_VIRTUAL, &v, NULL) == 0, "ITIMER_VIRTUAL 10 ms");
    CHECK(setitimer(ITIMER_PROF, &v, NULL) == 0, "ITIMER_PROF 10 ms");
    a = now(CLOCK_MONOTONIC);
    volatile unsigned long x = 0;
    while ((!vt || !pr) && ns_between(a, now(CLOCK_MONOTONIC)) < 20000000000L) x++;
    CHECK(vt == 1 && pr == 1, "both CPU-time timers fired once while spinning");
    CHECK_ERR(setitimer(7, &v, NULL), EINVAL, "bad timer");
    struct itimerval badv = {{0, 0}, {0, 2000000}};
    CHECK_ERR(setitimer(ITIMER_REAL, &badv, NULL), EINVAL, "usec out of range");
    /* Timers are not inherited by fork; they survive exec (not tested). */
    it.it_value.tv_sec = 10;
    setitimer(ITIMER_REAL, &it, NULL);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        struct itimerval ci;
        getitimer(ITIMER_REAL, &ci);
        _exit(ci.it_value.tv_sec == 0 && ci.it_value.tv_usec == 0 ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0"), "child starts with no timer");
    setitimer(ITIMER_REAL, &off, NULL);
}

static void times_and_cpu(void) {
    struct timespec a = now(CLOCK_MONOTONIC);
    for (int i = 0; i < 1000; i++) sched_yield();
    CHECK(ns_between(a, now(CLOCK_MONOTONIC)) >= 0, "1000 sched_yield calls");
    /* A sleeping process uses little CPU. */
    struct timespec c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec req = {0, 100 * 1000 * 1000};
    nanosleep(&req, NULL);
    CHECK(ns_between(c0, now(CLOCK_PROCESS_CPUTIME_ID)) < 80000000L, "sleeping 100 ms costs < 80 ms of CPU");
}

int main(int argc, char **argv) {
    static const struct tcase cases[] = {CASE(clocks), CASE(sleeps), CASE(itimers), CASE(times_and_cpu), {0, 0}};
    return run_cases(cases, argc, argv);
}
