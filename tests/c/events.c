/* Event files and readiness: epoll, eventfd, timerfd, signalfd, pidfds, POSIX timers.
 * Every wait that the tests make is for something that will happen (or a short timeout
 * that is only checked to have expired); output never depends on timing. */
#include "t.h"
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <semaphore.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#include <linux/sched.h>
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

/* Describe a set of epoll events by name. */
static const char *evs(uint32_t e) {
    static char b[8][128];
    static int k;
    char *s = b[k++ % 8];
    s[0] = 0;
    static const struct { uint32_t bit; const char *n; } names[] = {
        {EPOLLIN, "IN"},       {EPOLLOUT, "OUT"},       {EPOLLPRI, "PRI"},     {EPOLLERR, "ERR"},
        {EPOLLHUP, "HUP"},     {EPOLLRDHUP, "RDHUP"},   {EPOLLRDNORM, "RDNORM"}, {EPOLLWRNORM, "WRNORM"},
        {EPOLLRDBAND, "RDBAND"}, {EPOLLWRBAND, "WRBAND"}, {EPOLLMSG, "MSG"},
    };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (e & names[i].bit) {
            if (s[0]) strcat(s, "|");
            strcat(s, names[i].n);
            e &= ~names[i].bit;
        }
    if (e) sprintf(s + strlen(s), "%s%#x", s[0] ? "|" : "", e);
    if (!s[0]) strcpy(s, "0");
    return s;
}

/* epoll_wait with a 0 timeout, printing what came back. */
static int show_wait(int ep, int max, const char *what) {
    struct epoll_event ev[16];
    int n = epoll_wait(ep, ev, max, 0);
    if (n < 0) {
        say("%s: epoll_wait %s", what, ename(errno));
        return n;
    }
    char line[512];
    int o = snprintf(line, sizeof line, "%s: %d", what, n);
    for (int i = 0; i < n; i++) o += snprintf(line + o, sizeof line - o, " [%lu %s]", (unsigned long)ev[i].data.u64, evs(ev[i].events));
    say("%s", line);
    return n;
}

static void ep_add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event e = {.events = events, .data.u64 = data};
    MUST(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
}

static void ep_mod(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event e = {.events = events, .data.u64 = data};
    MUST(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e));
}

/* /proc/self/fdinfo/FD lines starting with one of the given prefixes. */
static void show_fdinfo(int fd, const char *const *prefixes) {
    char p[64], buf[4096];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    int f = MUST(open(p, O_RDONLY));
    ssize_t n = MUST(read(f, buf, sizeof buf - 1));
    close(f);
    buf[n] = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        for (const char *const *q = prefixes; *q; q++)
            if (!strncmp(line, *q, strlen(*q))) {
                /* (An epoll's "tfd" lines end with the target's inode and device.) */
                char *pos = strstr(line, "  pos:");
                if (pos) *pos = 0;
                say("  fdinfo %s", line);
            }
}

static void show_link(int fd) {
    char p[64], l[256];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, l, sizeof l - 1);
    l[n > 0 ? n : 0] = 0;
    struct stat st;
    MUST(fstat(fd, &st));
    say("  link %s mode %o nlink %lu size %ld", l, st.st_mode, (unsigned long)st.st_nlink, (long)st.st_size);
}

/* CLOCK's time NS nanoseconds from now. */
static struct timespec ts_after(clockid_t clock, long ns) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_nsec += ns;
    while (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* A child process that sends SIG to this process after US µs; returns its pid. */
static pid_t signal_me_later(int sig, useconds_t us) {
    pid_t me = getpid();
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(us);
        kill(me, sig);
        _exit(0);
    }
    return c;
}

/* A child process that sends SIG to this process every 20 ms until stop_child(); for
 * tests of a blocking call's interruption that must not depend on when it starts. */
static pid_t signal_me_repeatedly(int sig) {
    pid_t me = getpid();
    pid_t c = MUST(fork());
    if (c == 0) {
        for (;;) {
            usleep(20000);
            kill(me, sig);
        }
    }
    return c;
}

static void stop_child(pid_t c) {
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
}

static void put64(int fd, uint64_t v) { MUST(write(fd, &v, 8)); }
static uint64_t get64(int fd) {
    uint64_t v = 0;
    MUST(read(fd, &v, 8));
    return v;
}

/* ------------------------------------------------------------------ eventfd */

static void eventfd_basic(void) {
    int e = MUST(eventfd(5, 0));
    show_link(e);
    static const char *const keys[] = {"eventfd-count", "eventfd-semaphore", "flags", "pos", NULL};
    show_fdinfo(e, keys);
    say("read %lu", (unsigned long)get64(e));
    put64(e, 3);
    put64(e, 4);
    say("read after 3+4: %lu", (unsigned long)get64(e));
    CHECK_ERR(eventfd(0, 0x100), EINVAL, "eventfd2 unknown flag");
    CHECK(syscall(SYS_eventfd, 7) >= 0, "eventfd (the old call)");
    uint64_t v = 1;
    CHECK_ERR(read(e, &v, 7), EINVAL, "read of 7 bytes");
    CHECK_ERR(write(e, &v, 7), EINVAL, "write of 7 bytes");
    v = UINT64_MAX;
    CHECK_ERR(write(e, &v, 8), EINVAL, "write of UINT64_MAX");
    CHECK(lseek(e, 10, SEEK_SET) == 0, "lseek is a no-op returning 0");
    CHECK_ERR(pread(e, &v, 8, 0), ESPIPE, "pread");
    char big[16] = {0};
    v = 2;
    MUST(write(e, &v, 8));
    CHECK(read(e, big, sizeof big) == 8, "read into 16 bytes returns 8");
    memcpy(&v, big, 8);
    say("value %lu", (unsigned long)v);
    int nb = MUST(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    CHECK(fcntl(nb, F_GETFD) == FD_CLOEXEC, "EFD_CLOEXEC");
    CHECK((fcntl(nb, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR), "EFD_NONBLOCK, O_RDWR");
    CHECK_ERR(read(nb, &v, 8), EAGAIN, "read of 0 count");
    v = UINT64_MAX - 1;
    CHECK(write(nb, &v, 8) == 8, "write up to UINT64_MAX-1");
    v = 1;
    CHECK_ERR(write(nb, &v, 8), EAGAIN, "write that would overflow");
    v = 0;
    CHECK(write(nb, &v, 8) == 8, "write of 0 always fits");
    struct pollfd p = {.fd = nb, .events = POLLIN | POLLOUT};
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLIN, "full counter: POLLIN only (%#x)", p.revents);
    CHECK(get64(nb) == UINT64_MAX - 1, "read takes everything");
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, "empty counter: POLLOUT only");
}

static void eventfd_semaphore(void) {
    int e = MUST(eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK));
    static const char *const keys[] = {"eventfd-count", "eventfd-semaphore", NULL};
    show_fdinfo(e, keys);
    for (int i = 0; i < 3; i++) say("read %lu", (unsigned long)get64(e));
    uint64_t v;
    CHECK_ERR(read(e, &v, 8), EAGAIN, "semaphore exhausted");
    put64(e, 2);
    say("read %lu", (unsigned long)get64(e));
    say("read %lu", (unsigned long)get64(e));
    CHECK_ERR(read(e, &v, 8), EAGAIN, "semaphore exhausted again");
}

static int ping, pong;
static void *ponger(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        uint64_t v = get64(ping);
        put64(pong, v + 1);
    }
    return NULL;
}

static void eventfd_blocking(void) {
    /* Threads: blocking reads woken by writes. */
    ping = MUST(eventfd(0, 0));
    pong = MUST(eventfd(0, 0));
    pthread_t th;
    pthread_create(&th, NULL, ponger, NULL);
    uint64_t sum = 0;
    for (int i = 0; i < 200; i++) {
        put64(ping, i + 1);
        sum += get64(pong);
    }
    pthread_join(th, NULL);
    say("200 thread round trips, sum %lu", (unsigned long)sum);
    /* Processes: the same across fork. */
    pid_t c = MUST(fork());
    if (c == 0) {
        for (int i = 0; i < 100; i++) put64(pong, get64(ping) * 2);
        _exit(0);
    }
    sum = 0;
    for (int i = 0; i < 100; i++) {
        put64(ping, i + 1);
        sum += get64(pong);
    }
    say("100 process round trips, sum %lu, child %s", (unsigned long)sum, wait_child(c));
    /* A blocked writer (counter full) is released by a read. */
    int e = MUST(eventfd(0, 0));
    uint64_t v = UINT64_MAX - 1;
    MUST(write(e, &v, 8));
    c = MUST(fork());
    if (c == 0) {
        put64(e, 5); /* blocks until the parent reads */
        _exit(0);
    }
    say("parent read %lu", (unsigned long)get64(e) == UINT64_MAX - 1 ? 1UL : 0UL);
    say("child %s, then count %lu", wait_child(c), (unsigned long)get64(e));
}

/* ------------------------------------------------------------------ epoll */

static void epoll_errors(void) {
    CHECK_ERR(epoll_create(0), EINVAL, "epoll_create(0)");
    CHECK_ERR(epoll_create(-1), EINVAL, "epoll_create(-1)");
    CHECK_ERR(epoll_create1(1), EINVAL, "epoll_create1 bad flag");
    int ep = MUST(epoll_create1(EPOLL_CLOEXEC));
    CHECK(fcntl(ep, F_GETFD) == FD_CLOEXEC, "EPOLL_CLOEXEC");
    int ep2 = MUST(epoll_create(1));
    CHECK(fcntl(ep2, F_GETFD) == 0, "epoll_create: no cloexec");
    show_link(ep);
    int e = MUST(eventfd(0, 0));
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF, "ADD bad fd");
    CHECK_ERR(epoll_ctl(999, EPOLL_CTL_ADD, e, &ev), EBADF, "bad epfd");
    CHECK_ERR(epoll_ctl(e, EPOLL_CTL_ADD, ep, &ev), EINVAL, "epfd not an epoll");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL, "epoll into itself");
    CHECK_ERR(epoll_ctl(ep, 0, e, &ev), EINVAL, "op 0");
    CHECK_ERR(epoll_ctl(ep, 4, e, &ev), EINVAL, "op 4");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, e, NULL), EFAULT, "ADD with NULL event");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, e, NULL), EFAULT, "MOD with NULL event");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL), ENOENT, "DEL of absent");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev), ENOENT, "MOD of absent");
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev), "ADD");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev), EEXIST, "ADD twice");
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, e, (void *)1), "DEL ignores the event pointer");
    int f = MUST(open(tpath("reg"), O_CREAT | O_RDWR, 0600));
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM, "regular file");
    int d = MUST(open("/", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev), EPERM, "directory");
    int pth = MUST(open("/", O_PATH));
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, pth, &ev), EBADF, "O_PATH fd");
    struct epoll_event out[4];
    CHECK_ERR(epoll_wait(ep, out, 0, 0), EINVAL, "maxevents 0");
    CHECK_ERR(syscall(SYS_epoll_wait, ep, out, -1, 0), EINVAL, "maxevents -1");
    CHECK_ERR(epoll_wait(e, out, 1, 0), EINVAL, "wait on a non-epoll");
    CHECK_ERR(epoll_wait(999, out, 1, 0), EBADF, "wait on a bad fd");
    CHECK_ERR(syscall(SYS_epoll_wait, ep, (void *)-4096L, 1, 0), EFAULT, "events beyond user space");
    CHECK(syscall(SYS_epoll_wait, ep, NULL, 1, 0) == 0, "NULL events and nothing ready");
    ep_add(ep, e, EPOLLIN, 1);
    put64(e, 1);
    CHECK_ERR(syscall(SYS_epoll_wait, ep, NULL, 1, 0), EFAULT, "NULL events with an event ready");
    CHECK(epoll_wait(ep, out, 4, 0) == 1, "the event is still there");
    /* EPOLLEXCLUSIVE rules. */
    int e2 = MUST(eventfd(0, 0));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev), EINVAL, "MOD with EPOLLEXCLUSIVE");
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, e2, &ev), EINVAL, "EXCLUSIVE with ONESHOT");
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP;
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, e2, &ev), EINVAL, "EXCLUSIVE with RDHUP");
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev), EINVAL, "EXCLUSIVE on an epoll");
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, e2, &ev), "EXCLUSIVE ADD");
    ev.events = EPOLLIN;
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, e2, &ev), EINVAL, "MOD of an EXCLUSIVE interest");
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, e2, NULL), "DEL of an EXCLUSIVE interest");
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, out, 1, &(struct timespec){0, 1000000000}, NULL, 8), EINVAL, "pwait2 bad timespec");
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, out, 1, &(struct timespec){-1, 0}, NULL, 8), EINVAL, "pwait2 negative timespec");
    sigset_t ss;
    sigemptyset(&ss);
    CHECK_ERR(syscall(SYS_epoll_pwait, ep, out, 1, 0, &ss, 4), EINVAL, "pwait sigsetsize 4");
}

static void epoll_level(void) {
    int p[2];
    MUST(pipe(p));
    int ep = MUST(epoll_create1(0));
    ep_add(ep, p[0], EPOLLIN, 10);
    ep_add(ep, p[1], EPOLLOUT, 11);
    show_wait(ep, 8, "empty pipe");
    MUST(write(p[1], "abc", 3));
    show_wait(ep, 8, "after write");
    show_wait(ep, 8, "again (level)");
    char b[8];
    MUST(read(p[0], b, 3));
    show_wait(ep, 8, "after read");
    /* maxevents 1 takes turns among ready interests. */
    int e1 = MUST(eventfd(1, 0)), e2 = MUST(eventfd(1, 0)), e3 = MUST(eventfd(1, 0));
    int ep2 = MUST(epoll_create1(0));
    ep_add(ep2, e1, EPOLLIN, 1);
    ep_add(ep2, e2, EPOLLIN, 2);
    ep_add(ep2, e3, EPOLLIN, 3);
    for (int i = 0; i < 6; i++) show_wait(ep2, 1, "max 1");
    show_wait(ep2, 2, "max 2");
    /* Events are the intersection with what was asked, plus ERR and HUP always. */
    ep_mod(ep, p[0], EPOLLPRI, 12);
    MUST(write(p[1], "x", 1));
    show_wait(ep, 8, "only PRI asked");
    ep_mod(ep, p[0], EPOLLIN | EPOLLRDNORM | EPOLLRDHUP, 13);
    show_wait(ep, 8, "IN|RDNORM|RDHUP asked");
    MUST(close(p[1]));
    show_wait(ep, 8, "writer closed");
    MUST(read(p[0], b, 1));
    show_wait(ep, 8, "drained, writer closed");
    int q[2];
    MUST(pipe(q));
    ep_add(ep, q[1], EPOLLOUT, 20);
    MUST(close(q[0]));
    show_wait(ep, 8, "reader closed");
    /* A FIFO, opened by name at both ends. */
    MUST(mkfifo(tpath("fifo"), 0600));
    int fr = MUST(open(tpath("fifo"), O_RDONLY | O_NONBLOCK));
    int fw = MUST(open(tpath("fifo"), O_WRONLY | O_NONBLOCK));
    int ep3 = MUST(epoll_create1(0));
    ep_add(ep3, fr, EPOLLIN | EPOLLET, 30);
    ep_add(ep3, fw, EPOLLOUT, 31);
    show_wait(ep3, 8, "fifo");
    MUST(write(fw, "fifo", 4));
    show_wait(ep3, 8, "fifo written");
    show_wait(ep3, 8, "fifo again");
    MUST(close(fw));
    show_wait(ep3, 8, "fifo writer closed");
}

static void epoll_edge(void) {
    int p[2];
    MUST(pipe(p));
    int ep = MUST(epoll_create1(0));
    ep_add(ep, p[0], EPOLLIN | EPOLLET, 1);
    ep_add(ep, p[1], EPOLLOUT | EPOLLET, 2);
    show_wait(ep, 8, "initial");
    show_wait(ep, 8, "nothing new");
    MUST(write(p[1], "a", 1));
    show_wait(ep, 8, "write 1");
    show_wait(ep, 8, "no new edge");
    MUST(write(p[1], "b", 1));
    show_wait(ep, 8, "write 2 (new edge while readable)");
    char b[4];
    MUST(read(p[0], b, 1));
    show_wait(ep, 8, "partial read");
    MUST(read(p[0], b, 1));
    show_wait(ep, 8, "drained");
    /* A writer hears of reads only after the pipe was full. */
    MUST(fcntl(p[1], F_SETFL, O_NONBLOCK));
    char blk[4096];
    memset(blk, 'x', sizeof blk);
    int total = 0;
    for (;;) {
        ssize_t n = write(p[1], blk, sizeof blk);
        if (n < 0) break;
        total += n;
    }
    say("filled the pipe with %d bytes", total);
    show_wait(ep, 8, "full");
    MUST(read(p[0], blk, sizeof blk));
    show_wait(ep, 8, "read from a full pipe");
    MUST(read(p[0], blk, sizeof blk));
    show_wait(ep, 8, "read again");
    /* eventfd: every write is an edge. */
    int e = MUST(eventfd(0, EFD_NONBLOCK));
    int ep2 = MUST(epoll_create1(0));
    ep_add(ep2, e, EPOLLIN | EPOLLET, 7);
    show_wait(ep2, 8, "eventfd empty");
    put64(e, 1);
    show_wait(ep2, 8, "eventfd write");
    show_wait(ep2, 8, "eventfd no edge");
    put64(e, 1);
    show_wait(ep2, 8, "eventfd second write");
    get64(e);
    show_wait(ep2, 8, "eventfd read");
    /* MOD re-arms an edge interest that is ready. */
    put64(e, 1);
    show_wait(ep2, 8, "ready");
    ep_mod(ep2, e, EPOLLIN | EPOLLET, 8);
    show_wait(ep2, 8, "after MOD");
}

static void epoll_oneshot(void) {
    int e = MUST(eventfd(1, 0));
    int ep = MUST(epoll_create1(0));
    ep_add(ep, e, EPOLLIN | EPOLLONESHOT, 5);
    show_wait(ep, 8, "first");
    show_wait(ep, 8, "disarmed");
    put64(e, 1);
    show_wait(ep, 8, "disarmed, new write");
    static const char *const keys[] = {"tfd", NULL};
    show_fdinfo(ep, keys);
    ep_mod(ep, e, EPOLLIN | EPOLLONESHOT, 6);
    show_wait(ep, 8, "re-armed");
    show_wait(ep, 8, "disarmed again");
    ep_mod(ep, e, EPOLLIN | EPOLLET | EPOLLONESHOT, 7);
    show_wait(ep, 8, "re-armed edge");
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev), EEXIST, "a disarmed interest still exists");
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL), "DEL of a disarmed interest");
}

static void epoll_close(void) {
    int ep = MUST(epoll_create1(0));
    int e = MUST(eventfd(1, 0));
    ep_add(ep, e, EPOLLIN, 1);
    int d = MUST(dup(e));
    MUST(close(e));
    show_wait(ep, 8, "fd closed, file open through a dup");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL), EBADF, "DEL of the closed fd");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL), ENOENT, "DEL through the dup: not its key");
    MUST(close(d));
    show_wait(ep, 8, "last reference closed");
    int e2 = MUST(eventfd(1, 0));
    say("new eventfd reuses the number: %s", e2 == e ? "yes" : "no");
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, e2, &(struct epoll_event){.events = EPOLLIN, .data.u64 = 2}), "ADD of the new file at the same number");
    show_wait(ep, 8, "new file");
    /* dup2 over a watched fd replaces the file: the old interest goes with the old file. */
    int e3 = MUST(eventfd(0, 0));
    MUST(dup2(e3, e2));
    show_wait(ep, 8, "after dup2 over it");
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, e2, NULL), ENOENT, "DEL: the fd now names another file");
    /* An interest survives a fork'd copy of the fd table closing it. */
    int e4 = MUST(eventfd(1, 0));
    ep_add(ep, e4, EPOLLIN, 4);
    pid_t c = MUST(fork());
    if (c == 0) {
        close(e4);
        _exit(0);
    }
    say("child %s", wait_child(c));
    show_wait(ep, 8, "child closed its copy");
    /* Closing the epoll while a watched file lives on. */
    MUST(close(ep));
    put64(e4, 1);
    say("write after closing the epoll: ok");
}

static void epoll_nested(void) {
    int inner = MUST(epoll_create1(0));
    int outer = MUST(epoll_create1(0));
    int e = MUST(eventfd(0, 0));
    ep_add(inner, e, EPOLLIN, 1);
    ep_add(outer, inner, EPOLLIN, 2);
    show_wait(outer, 8, "nothing ready");
    struct pollfd p = {.fd = inner, .events = POLLIN | POLLOUT};
    CHECK(poll(&p, 1, 0) == 0, "poll on an idle epoll");
    put64(e, 1);
    show_wait(outer, 8, "inner ready");
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLIN, "poll on a ready epoll: %#x", p.revents);
    show_wait(inner, 8, "inner itself");
    get64(e);
    show_wait(outer, 8, "inner drained");
    /* Cycles and depth. */
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev), ELOOP, "cycle of two");
    int chain[7];
    for (int i = 0; i < 7; i++) chain[i] = MUST(epoll_create1(0));
    for (int i = 0; i < 6; i++) {
        errno = 0;
        int r = epoll_ctl(chain[i + 1], EPOLL_CTL_ADD, chain[i], &ev);
        say("chain: add %d into %d: %s", i, i + 1, r ? ename(errno) : "ok");
    }
    CHECK_ERR(epoll_ctl(chain[0], EPOLL_CTL_ADD, chain[3], &ev), ELOOP, "longer cycle");
    int up[7];
    for (int i = 0; i < 7; i++) up[i] = MUST(epoll_create1(0));
    for (int i = 5; i >= 0; i--) {
        errno = 0;
        int r = epoll_ctl(up[i + 1], EPOLL_CTL_ADD, up[i], &ev);
        say("upward: add %d into %d: %s", i, i + 1, r ? ename(errno) : "ok");
    }
    /* Edge-triggered outer over a level inner. */
    int o2 = MUST(epoll_create1(0));
    int i2 = MUST(epoll_create1(0));
    int e2 = MUST(eventfd(1, 0));
    ep_add(i2, e2, EPOLLIN, 1);
    ep_add(o2, i2, EPOLLIN | EPOLLET, 9);
    show_wait(o2, 8, "edge outer");
    show_wait(o2, 8, "edge outer again");
    put64(e2, 1);
    show_wait(o2, 8, "edge outer after a new event");
}

static int tfd_w;
static void *late_writer(void *arg) {
    (void)arg;
    usleep(20000);
    put64(tfd_w, 1);
    return NULL;
}

static void epoll_threads(void) {
    int ep = MUST(epoll_create1(0));
    tfd_w = MUST(eventfd(0, 0));
    ep_add(ep, tfd_w, EPOLLIN, 42);
    pthread_t th;
    pthread_create(&th, NULL, late_writer, NULL);
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, -1);
    say("blocking wait: %d [%lu %s]", n, (unsigned long)ev[0].data.u64, evs(ev[0].events));
    pthread_join(th, NULL);
    /* A child process's write wakes a parent blocked in epoll_wait. */
    int p[2];
    MUST(pipe(p));
    int ep2 = MUST(epoll_create1(0));
    ep_add(ep2, p[0], EPOLLIN, 7);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(20000);
        MUST(write(p[1], "z", 1));
        _exit(0);
    }
    n = epoll_wait(ep2, ev, 4, 5000);
    say("woken by a child: %d [%lu %s], child %s", n, (unsigned long)ev[0].data.u64, evs(ev[0].events), wait_child(c));
    /* Several threads wait on one epoll; enough events wake them all. */
    int e = MUST(eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK));
    int ep3 = MUST(epoll_create1(0));
    ep_add(ep3, e, EPOLLIN, 3);
    /* (Each waiter consumes one event; one that finds none waits again.) */
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = MUST(fork());
        if (kids[i] == 0) {
            struct epoll_event x;
            for (;;) {
                int k = epoll_wait(ep3, &x, 1, 5000);
                if (k <= 0) _exit(2);
                uint64_t v;
                if (read(e, &v, 8) == 8) _exit(0);
            }
        }
    }
    usleep(20000);
    for (int i = 0; i < 3; i++) {
        put64(e, 1);
        usleep(5000);
    }
    for (int i = 0; i < 3; i++) say("waiter %d: %s", i, wait_child(kids[i]));
}

static volatile sig_atomic_t got;
static void on_sig(int s) { got = s; }

static void epoll_signals(void) {
    struct sigaction sa = {.sa_handler = on_sig, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    int ep = MUST(epoll_create1(0));
    int e = MUST(eventfd(0, 0));
    ep_add(ep, e, EPOLLIN, 1);
    struct epoll_event ev[2];
    /* A handler with SA_RESTART still ends epoll_wait with EINTR. */
    pid_t me = getpid();
    pid_t c = signal_me_repeatedly(SIGUSR1);
    errno = 0;
    int n = epoll_wait(ep, ev, 2, 10000);
    say("epoll_wait: %d %s, handler ran %d", n, ename(n < 0 ? errno : 0), got == SIGUSR1);
    stop_child(c);
    got = 0;
    /* epoll_pwait with SIGUSR1 blocked: the signal waits, the timeout ends the call. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    c = MUST(fork());
    if (c == 0) {
        kill(me, SIGUSR1);
        _exit(0);
    }
    wait_child(c);
    n = epoll_pwait(ep, ev, 2, 50, &block);
    say("epoll_pwait, signal blocked by its mask: %d, handler ran %d", n, got == SIGUSR1);
    /* The mask is restored on return: the pending signal is delivered now. */
    say("after return: handler ran %d", got == SIGUSR1);
    got = 0;
    /* A pending blocked signal that the call's mask unblocks interrupts at once. */
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);
    sigset_t none;
    sigemptyset(&none);
    errno = 0;
    n = epoll_pwait(ep, ev, 2, 10000, &none);
    say("epoll_pwait unblocking a pending signal: %d %s, handler ran %d", n, ename(errno), got == SIGUSR1);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    say("mask restored: SIGUSR1 blocked %d", sigismember(&cur, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    got = 0;
    errno = 0;
    n = syscall(SYS_epoll_pwait2, ep, ev, 2, &(struct timespec){0, 30000000}, NULL, 8);
    say("epoll_pwait2 30 ms timeout: %d", n);
}

static void *writer_later(void *arg) {
    usleep(20000);
    put64((int)(long)arg, 1);
    return NULL;
}

static void epoll_timeouts(void) {
    int ep = MUST(epoll_create1(0));
    int e = MUST(eventfd(0, 0));
    ep_add(ep, e, EPOLLIN, 1);
    struct epoll_event ev[2];
    say("timeout 0: %d", epoll_wait(ep, ev, 2, 0));
    say("timeout 30 ms: %d", epoll_wait(ep, ev, 2, 30));
    struct timespec ts = {0, 20000000};
    say("pwait2 20 ms: %ld", syscall(SYS_epoll_pwait2, ep, ev, 2, &ts, NULL, 8));
    pthread_t th;
    pthread_create(&th, NULL, writer_later, (void *)(long)e);
    say("pwait2 no timeout, woken: %ld", syscall(SYS_epoll_pwait2, ep, ev, 2, NULL, NULL, 8));
    pthread_join(th, NULL);
}

static void epoll_hostio(void) {
    /* stdin is a pipe holding "hello\n" (see events.rs); stdout is a pipe. */
    int ep = MUST(epoll_create1(0));
    ep_add(ep, 0, EPOLLIN, 0);
    ep_add(ep, 1, EPOLLOUT | EPOLLET, 1);
    struct epoll_event ev[2];
    int n = epoll_wait(ep, ev, 2, 10000);
    int in = 0, out = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == 0) in = ev[i].events & EPOLLIN;
        if (ev[i].data.u64 == 1) out = ev[i].events & EPOLLOUT;
    }
    /* (stdout may be reported in a second call.) */
    if (!out || !in) {
        n = epoll_wait(ep, ev, 2, 10000);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == 0) in |= ev[i].events & EPOLLIN;
            if (ev[i].data.u64 == 1) out |= ev[i].events & EPOLLOUT;
        }
    }
    say("stdin readable %d, stdout writable %d", !!in, !!out);
    char b[64];
    ssize_t k, total = 0;
    while ((k = read(0, b, sizeof b)) > 0) total += k;
    say("read %zd", total);
    show_wait(ep, 8, "stdin at EOF");
    struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = 1, .events = POLLOUT}};
    int r = poll(p, 2, 1000);
    say("poll: %d %#x %#x", r, p[0].revents, p[1].revents);
}

static void epoll_mqueue(void) {
    /* A file kind of its own (POSIX message queues) joins epoll through poll + wait queue. */
    char name[64];
    snprintf(name, sizeof name, "/moat-events-%d", getpid() % 1000);
    mq_unlink(name);
    struct mq_attr at = {.mq_maxmsg = 2, .mq_msgsize = 16};
    mqd_t q = mq_open(name, O_CREAT | O_RDWR | O_NONBLOCK, 0600, &at);
    MUST(q);
    mq_unlink(name);
    int ep = MUST(epoll_create1(0));
    ep_add(ep, q, EPOLLIN | EPOLLOUT, 1);
    show_wait(ep, 4, "empty queue");
    MUST(mq_send(q, "a", 1, 0));
    MUST(mq_send(q, "b", 1, 0));
    show_wait(ep, 4, "full queue");
    char b[16];
    MUST(mq_receive(q, b, sizeof b, NULL));
    show_wait(ep, 4, "one taken");
    int go[2];
    MUST(pipe(go));
    pid_t c = MUST(fork());
    if (c == 0) {
        MUST(read(go[0], b, 1));
        usleep(20000);
        MUST(mq_receive(q, b, sizeof b, NULL));
        _exit(0);
    }
    int ep2 = MUST(epoll_create1(0));
    ep_add(ep2, q, EPOLLOUT | EPOLLET, 2);
    MUST(mq_send(q, "c", 1, 0));
    show_wait(ep2, 4, "full again");
    MUST(write(go[1], "x", 1));
    struct epoll_event ev;
    int n = epoll_wait(ep2, &ev, 1, 5000);
    say("space made by another process: %d [%lu %s], child %s", n, (unsigned long)ev.data.u64, evs(ev.events), wait_child(c));
}

static void epoll_exclusive(void) {
    /* Two epolls with exclusive interests in one eventfd: one write wakes at least one. */
    int e = MUST(eventfd(0, EFD_NONBLOCK));
    int a = MUST(epoll_create1(0)), b = MUST(epoll_create1(0));
    ep_add(a, e, EPOLLIN | EPOLLEXCLUSIVE, 1);
    ep_add(b, e, EPOLLIN | EPOLLEXCLUSIVE, 2);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(20000);
        put64(e, 1);
        _exit(0);
    }
    struct epoll_event ev;
    int n = epoll_wait(a, &ev, 1, 5000);
    say("exclusive waiter woken: %d [%lu %s]", n, (unsigned long)ev.data.u64, evs(ev.events));
    wait_child(c);
}


/* ------------------------------------------------------------------ timerfd */

static void show_tfd_info(int fd) {
    static const char *const keys[] = {"clockid", "ticks", "settime flags", "it_interval", NULL};
    show_fdinfo(fd, keys);
}

static void timerfd_basic(void) {
    CHECK_ERR(timerfd_create(CLOCK_TAI, 0), EINVAL, "CLOCK_TAI");
    CHECK_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL, "CPU clock");
    CHECK_ERR(timerfd_create(99, 0), EINVAL, "clock 99");
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 1), EINVAL, "bad flag");
    CHECK_OK(timerfd_create(CLOCK_BOOTTIME_ALARM, 0), "CLOCK_BOOTTIME_ALARM (root)");
    int tf = MUST(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    CHECK(fcntl(tf, F_GETFD) == FD_CLOEXEC, "TFD_CLOEXEC");
    show_link(tf);
    show_tfd_info(tf);
    struct itimerspec its = {0}, old;
    CHECK_OK(timerfd_gettime(tf, &old), "gettime");
    say("disarmed: value %ld.%09ld interval %ld.%09ld", old.it_value.tv_sec, old.it_value.tv_nsec, old.it_interval.tv_sec, old.it_interval.tv_nsec);
    uint64_t v;
    CHECK_ERR(read(tf, &v, 8), EAGAIN, "read of a disarmed timer");
    CHECK_ERR(read(tf, &v, 4), EINVAL, "read of 4 bytes");
    CHECK_ERR(write(tf, &v, 8), EINVAL, "write");
    CHECK(lseek(tf, 5, SEEK_SET) == 0, "lseek is a no-op");
    its.it_value.tv_nsec = 1000000000;
    CHECK_ERR(timerfd_settime(tf, 0, &its, NULL), EINVAL, "tv_nsec 1e9");
    its.it_value.tv_nsec = 0;
    its.it_interval.tv_sec = -1;
    CHECK_ERR(timerfd_settime(tf, 0, &its, NULL), EINVAL, "negative interval");
    its.it_interval.tv_sec = 0;
    CHECK_ERR(timerfd_settime(tf, 4, &its, NULL), EINVAL, "settime flag 4");
    CHECK_ERR(timerfd_settime(999, 0, &its, NULL), EBADF, "bad fd");
    int e = MUST(eventfd(0, 0));
    CHECK_ERR(timerfd_settime(e, 0, &its, NULL), EINVAL, "not a timerfd");
    CHECK_ERR(timerfd_gettime(e, &its), EINVAL, "gettime of not a timerfd");
    CHECK_ERR(syscall(SYS_timerfd_settime, tf, 0, NULL, NULL), EFAULT, "NULL new value");
    CHECK_ERR(syscall(SYS_timerfd_gettime, tf, NULL), EFAULT, "NULL current value");
    /* One shot, waited for with poll. */
    its.it_value.tv_nsec = 20000000;
    MUST(timerfd_settime(tf, 0, &its, &old));
    struct pollfd p = {.fd = tf, .events = POLLIN};
    int pr = poll(&p, 1, 5000);
    say("poll: %d %#x", pr, p.revents);
    say("read: %lu", (unsigned long)get64(tf));
    CHECK_ERR(read(tf, &v, 8), EAGAIN, "nothing more");
    MUST(timerfd_gettime(tf, &old));
    say("expired one-shot: value %ld.%09ld", old.it_value.tv_sec, old.it_value.tv_nsec);
    /* Periodic: the expirations missed while nobody read are counted. */
    int b = MUST(timerfd_create(CLOCK_MONOTONIC, 0));
    its = (struct itimerspec){{0, 5000000}, {0, 5000000}};
    MUST(timerfd_settime(b, 0, &its, NULL));
    usleep(60000);
    v = get64(b);
    say("periodic after 60 ms: at least 5 ticks: %d", v >= 5);
    its = (struct itimerspec){{0, 100000000}, {0, 100000000}};
    MUST(timerfd_settime(b, 0, &its, NULL));
    v = get64(b); /* blocks for the next one */
    say("next read: %lu", (unsigned long)v);
    MUST(timerfd_gettime(b, &old));
    say("interval %ld.%09ld, value within it %d", old.it_interval.tv_sec, old.it_interval.tv_nsec, old.it_value.tv_sec == 0 && old.it_value.tv_nsec <= 100000000);
    show_tfd_info(b);
    /* Setting again resets the count; the old value comes back. */
    usleep(20000);
    its = (struct itimerspec){{0, 0}, {100, 0}};
    MUST(timerfd_settime(b, 0, &its, &old));
    say("old interval %ld.%09ld", old.it_interval.tv_sec, old.it_interval.tv_nsec);
    struct pollfd pb = {.fd = b, .events = POLLIN};
    say("after re-set, readable: %d", poll(&pb, 1, 0));
    MUST(timerfd_gettime(b, &old));
    say("value about 100 s: %d, interval %ld", old.it_value.tv_sec >= 99 && old.it_value.tv_sec <= 100, old.it_interval.tv_sec);
    its = (struct itimerspec){{0, 0}, {0, 0}};
    MUST(timerfd_settime(b, 0, &its, NULL));
    MUST(timerfd_gettime(b, &old));
    say("disarmed again: %ld.%09ld", old.it_value.tv_sec, old.it_value.tv_nsec);
    /* TFD_IOC_SET_TICKS. */
    uint64_t ticks = 7;
    CHECK_OK(ioctl(tf, TFD_IOC_SET_TICKS, &ticks), "TFD_IOC_SET_TICKS");
    say("read after SET_TICKS: %lu", (unsigned long)get64(tf));
    ticks = 0;
    CHECK_ERR(ioctl(tf, TFD_IOC_SET_TICKS, &ticks), EINVAL, "SET_TICKS 0");
    CHECK_ERR(ioctl(tf, 0x5401, &ticks), ENOTTY, "other ioctl");
}

static void timerfd_alarm_perm(void) {
    /* Alarm clocks need CAP_WAKE_ALARM (35): drop it from the effective set. */
    struct {
        uint32_t version;
        int pid;
    } hdr = {0x20080522, 0};
    struct {
        uint32_t eff, perm, inh;
    } data[2];
    MUST(syscall(SYS_capget, &hdr, data));
    data[1].eff &= ~(1u << (35 - 32));
    MUST(syscall(SYS_capset, &hdr, data));
    CHECK_ERR(timerfd_create(CLOCK_REALTIME_ALARM, 0), EPERM, "CLOCK_REALTIME_ALARM without CAP_WAKE_ALARM");
    CHECK_ERR(timerfd_create(CLOCK_BOOTTIME_ALARM, 0), EPERM, "CLOCK_BOOTTIME_ALARM without CAP_WAKE_ALARM");
    CHECK_ERR(timerfd_create(CLOCK_TAI, 0), EINVAL, "a bad clock is EINVAL first");
    CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0), "CLOCK_MONOTONIC");
}

static void timerfd_clocks(void) {
    static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM};
    for (unsigned i = 0; i < 4; i++) {
        int tf = MUST(timerfd_create(clocks[i], 0));
        struct itimerspec its = {{0, 0}, ts_after(clocks[i] == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : clocks[i], 20000000)};
        int fl = TFD_TIMER_ABSTIME | (clocks[i] == CLOCK_REALTIME ? TFD_TIMER_CANCEL_ON_SET : 0);
        MUST(timerfd_settime(tf, fl, &its, NULL));
        static const char *const keys[] = {"clockid", "settime flags", NULL};
        show_fdinfo(tf, keys);
        say("clock %d absolute +20 ms: %lu", clocks[i], (unsigned long)get64(tf));
        /* A time that has passed expires at once. */
        its.it_value.tv_sec -= 10;
        MUST(timerfd_settime(tf, TFD_TIMER_ABSTIME, &its, NULL));
        say("clock %d absolute in the past: %lu", clocks[i], (unsigned long)get64(tf));
        close(tf);
    }
    /* epoll over a timerfd, edge-triggered. */
    int tf = MUST(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    int ep = MUST(epoll_create1(0));
    ep_add(ep, tf, EPOLLIN | EPOLLET, 9);
    struct itimerspec its = {{0, 0}, {0, 10000000}};
    MUST(timerfd_settime(tf, 0, &its, NULL));
    struct epoll_event ev;
    int en = epoll_wait(ep, &ev, 1, 5000);
    say("epoll: %d [%lu %s]", en, (unsigned long)ev.data.u64, evs(ev.events));
    show_wait(ep, 1, "no new edge");
    say("read %lu", (unsigned long)get64(tf));
}

static void *tfd_reader(void *arg) {
    uint64_t v = 0;
    read((int)(long)arg, &v, 8);
    return (void *)(long)v;
}

static void timerfd_threads(void) {
    /* A blocking read in another thread, and one interrupted by a signal. */
    int tf = MUST(timerfd_create(CLOCK_MONOTONIC, 0));
    pthread_t th;
    pthread_create(&th, NULL, tfd_reader, (void *)(long)tf);
    usleep(10000);
    struct itimerspec its = {{0, 0}, {0, 10000000}};
    MUST(timerfd_settime(tf, 0, &its, NULL));
    void *r;
    pthread_join(th, &r);
    say("thread read %ld", (long)r);
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGUSR1, &sa, NULL);
    pid_t c = signal_me_repeatedly(SIGUSR1);
    uint64_t v;
    errno = 0;
    ssize_t n = read(tf, &v, 8);
    say("read interrupted without SA_RESTART: %zd %s", n, ename(errno));
    stop_child(c);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    c = signal_me_later(SIGUSR1, 20000);
    its.it_value.tv_nsec = 60000000;
    MUST(timerfd_settime(tf, 0, &its, NULL));
    n = read(tf, &v, 8);
    say("read with SA_RESTART: %zd, value %lu", n, (unsigned long)v);
    wait_child(c);
}

/* ------------------------------------------------------------------ signalfd */

static void show_ssi(const struct signalfd_siginfo *s) {
    say("  ssi signo %s code %d pid-is-me %d uid %u int %d ptr %#lx status %d tid %u overrun %u",
        sigabbrev_np(s->ssi_signo) ? sigabbrev_np(s->ssi_signo) : "RT", s->ssi_code, s->ssi_pid == (uint32_t)getpid(), s->ssi_uid, s->ssi_int,
        (unsigned long)s->ssi_ptr, s->ssi_status, s->ssi_tid, s->ssi_overrun);
}

static void signalfd_basic(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGUSR2);
    sigaddset(&m, SIGRTMIN);
    sigaddset(&m, SIGCHLD);
    sigaddset(&m, SIGKILL);
    sigprocmask(SIG_BLOCK, &m, NULL);
    CHECK_ERR(syscall(SYS_signalfd4, -1, &m, 4, 0), EINVAL, "sizemask 4");
    CHECK_ERR(syscall(SYS_signalfd4, -1, NULL, 8, 0), EFAULT, "NULL mask");
    CHECK_ERR(signalfd(-1, &m, 1), EINVAL, "bad flag");
    CHECK_ERR(signalfd(999, &m, 0), EBADF, "bad fd");
    int e = MUST(eventfd(0, 0));
    CHECK_ERR(signalfd(e, &m, 0), EINVAL, "not a signalfd");
    int sf = MUST(signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC));
    CHECK(fcntl(sf, F_GETFD) == FD_CLOEXEC, "SFD_CLOEXEC");
    show_link(sf);
    static const char *const keys[] = {"sigmask", NULL};
    show_fdinfo(sf, keys);
    struct signalfd_siginfo si[4];
    CHECK_ERR(read(sf, si, sizeof si), EAGAIN, "nothing pending");
    CHECK_ERR(read(sf, si, 100), EINVAL, "buffer of 100 bytes");
    struct pollfd p = {.fd = sf, .events = POLLIN};
    say("poll idle: %d", poll(&p, 1, 0));
    kill(getpid(), SIGUSR2);
    raise(SIGUSR1);
    int pr = poll(&p, 1, 0);
    say("poll with two pending: %d %#x", pr, p.revents);
    ssize_t n = read(sf, si, sizeof si);
    say("read %zd bytes", n);
    for (int i = 0; i < n / (int)sizeof si[0]; i++) show_ssi(&si[i]);
    union sigval sv = {.sival_int = 77};
    sigqueue(getpid(), SIGRTMIN, sv);
    sv.sival_int = 78;
    sigqueue(getpid(), SIGRTMIN, sv);
    sv.sival_int = 79;
    sigqueue(getpid(), SIGRTMIN, sv);
    n = read(sf, si, 2 * sizeof si[0]);
    say("read of 2 of 3 queued: %zd bytes", n);
    for (int i = 0; i < n / (int)sizeof si[0]; i++) show_ssi(&si[i]);
    n = read(sf, si, sizeof si);
    say("then %zd bytes", n);
    show_ssi(&si[0]);
    pid_t c = MUST(fork());
    if (c == 0) _exit(9);
    p.revents = 0;
    say("poll for SIGCHLD: %d", poll(&p, 1, 5000));
    n = read(sf, si, sizeof si);
    say("SIGCHLD: %zd bytes, pid is child %d", n, si[0].ssi_pid == (uint32_t)c);
    si[0].ssi_pid = 0;
    show_ssi(&si[0]);
    waitpid(c, NULL, 0);
    /* A new mask through the same fd. */
    sigset_t m2;
    sigemptyset(&m2);
    sigaddset(&m2, SIGUSR1);
    sigaddset(&m2, SIGSTOP);
    say("signalfd on the fd returns it: %d", signalfd(sf, &m2, 0) == sf);
    show_fdinfo(sf, keys);
    kill(getpid(), SIGUSR2);
    CHECK_ERR(read(sf, si, sizeof si), EAGAIN, "SIGUSR2 no longer in the set");
    sigset_t pend;
    sigpending(&pend);
    say("SIGUSR2 still pending %d", sigismember(&pend, SIGUSR2));
}

static void signalfd_wait(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sf = MUST(signalfd(-1, &m, 0));
    /* A blocking read, woken by another process's kill. */
    pid_t c = signal_me_later(SIGUSR1, 20000);
    struct signalfd_siginfo si;
    ssize_t n = read(sf, &si, sizeof si);
    say("blocking read: %zd, from child %d", n, si.ssi_pid == (uint32_t)c);
    wait_child(c);
    /* epoll on a signalfd. */
    int ep = MUST(epoll_create1(0));
    ep_add(ep, sf, EPOLLIN, 5);
    show_wait(ep, 4, "nothing pending");
    c = signal_me_later(SIGUSR1, 20000);
    struct epoll_event ev;
    int en = epoll_wait(ep, &ev, 1, 5000);
    say("epoll: %d [%lu %s]", en, (unsigned long)ev.data.u64, evs(ev.events));
    wait_child(c);
    show_wait(ep, 4, "still pending (level)");
    MUST(read(sf, &si, sizeof si));
    show_wait(ep, 4, "read");
    /* The signal goes to the signalfd reader, not to a handler, while blocked. */
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGUSR1, &sa, NULL);
    got = 0;
    raise(SIGUSR1);
    MUST(read(sf, &si, sizeof si));
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    say("handler ran %d", got);
}

/* ------------------------------------------------------------------ pidfd */

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send(int fd, int sig, siginfo_t *info, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, info, flags); }

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static int e_of_nothing(void);
static void pidfd_basic(void) {
    CHECK_ERR(pidfd_open(0, 0), EINVAL, "pid 0");
    CHECK_ERR(pidfd_open(-1, 0), EINVAL, "pid -1");
    CHECK_ERR(pidfd_open(getpid(), 1), EINVAL, "bad flag");
    CHECK_ERR(pidfd_open(4000000, 0), ESRCH, "no such process");
    int self = MUST(pidfd_open(getpid(), 0));
    CHECK(fcntl(self, F_GETFD) == FD_CLOEXEC, "always close-on-exec");
    CHECK((fcntl(self, F_GETFL) & O_ACCMODE) == O_RDWR, "O_RDWR");
    show_link(self);
    int self2 = MUST(pidfd_open(getpid(), PIDFD_NONBLOCK));
    CHECK(fcntl(self2, F_GETFL) & O_NONBLOCK, "PIDFD_NONBLOCK");
    struct stat a, b;
    fstat(self, &a);
    fstat(self2, &b);
    CHECK(a.st_ino == b.st_ino, "pidfds of one process share an inode");
    uint64_t v;
    CHECK_ERR(read(self, &v, 8), EINVAL, "read");
    CHECK_ERR(write(self, &v, 8), EINVAL, "write");
    CHECK_ERR(lseek(self, 0, SEEK_CUR), ESPIPE, "lseek");
    /* Threads need PIDFD_THREAD. */
    pthread_t th;
    pthread_create(&th, NULL, sleeper, NULL);
    pid_t tid = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task");
    DIR *d = opendir(path);
    struct dirent *de;
    while ((de = readdir(d)))
        if (atoi(de->d_name) > 0 && atoi(de->d_name) != getpid()) tid = atoi(de->d_name);
    closedir(d);
    CHECK_ERR(pidfd_open(tid, 0), ENOENT, "a thread without PIDFD_THREAD");
    int tfd = pidfd_open(tid, O_EXCL);
    CHECK(tfd >= 0, "a thread with PIDFD_THREAD");
    CHECK(fcntl(tfd, F_GETFL) & O_EXCL, "PIDFD_THREAD shows in the flags");
    struct pollfd p = {.fd = tfd, .events = POLLIN};
    CHECK(poll(&p, 1, 0) == 0, "live thread: not readable");
    /* The process's own pidfd: signals, getfd. */
    CHECK_OK(pidfd_send(self, 0, NULL, 0), "signal 0 to self");
    CHECK_ERR(pidfd_send(self, 65, NULL, 0), EINVAL, "signal 65");
    CHECK_ERR(pidfd_send(self, 0, NULL, 8), EINVAL, "bad flag");
    CHECK_ERR(pidfd_send(self, 0, NULL, 3), EINVAL, "two scope flags");
    CHECK_ERR(pidfd_send(0, 0, NULL, 0), EBADF, "fd 0 is not a pidfd");
    CHECK_ERR(pidfd_send(999, 0, NULL, 0), EBADF, "bad fd");
    int pp[2];
    MUST(pipe(pp));
    int got_fd = syscall(SYS_pidfd_getfd, self, pp[1], 0);
    CHECK(got_fd >= 0 && fcntl(got_fd, F_GETFD) == FD_CLOEXEC, "pidfd_getfd: a new close-on-exec fd");
    MUST(write(got_fd, "x", 1));
    char c;
    CHECK(read(pp[0], &c, 1) == 1 && c == 'x', "it is the same pipe");
    CHECK_ERR(syscall(SYS_pidfd_getfd, self, 999, 0), EBADF, "getfd of a closed fd");
    CHECK_ERR(syscall(SYS_pidfd_getfd, self, pp[1], 1), EINVAL, "getfd flags");
    CHECK_ERR(syscall(SYS_pidfd_getfd, e_of_nothing(), pp[1], 0), EBADF, "getfd of not a pidfd");
    siginfo_t si;
    CHECK_ERR(waitid(P_PIDFD, self, &si, WEXITED | WNOHANG), ECHILD, "waitid on oneself");
    CHECK_ERR(waitid(P_PIDFD, 0, &si, WEXITED | WNOHANG), EBADF, "waitid on fd 0");
    CHECK_ERR(waitid(P_PIDFD, -1, &si, WEXITED | WNOHANG), EINVAL, "waitid on fd -1");
    /* Signals with siginfo. */
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGUSR1, &sa, NULL);
    got = 0;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 5;
    CHECK_OK(pidfd_send(self, SIGUSR1, &si, 0), "SI_QUEUE to oneself");
    say("handler ran %d", got);
    si.si_signo = SIGUSR2;
    CHECK_ERR(pidfd_send(self, SIGUSR1, &si, 0), EINVAL, "si_signo differs");
}

static int nothing_fd = -1;
static int e_of_nothing(void) {
    if (nothing_fd < 0) nothing_fd = eventfd(0, 0);
    return nothing_fd;
}

static void pidfd_child(void) {
    int go[2];
    MUST(pipe(go));
    pid_t c = MUST(fork());
    if (c == 0) {
        char x;
        MUST(read(go[0], &x, 1));
        _exit(7);
    }
    int pf = MUST(pidfd_open(c, 0));
    char line[64];
    snprintf(line, sizeof line, "Pid:\t%d", c);
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", pf);
    int f = MUST(open(p, O_RDONLY));
    ssize_t n = MUST(read(f, buf, sizeof buf - 1));
    buf[n] = 0;
    close(f);
    say("fdinfo names the child: %d", strstr(buf, line) != NULL);
    struct pollfd pl = {.fd = pf, .events = POLLIN};
    CHECK(poll(&pl, 1, 0) == 0, "running child: not readable");
    MUST(write(go[1], "x", 1));
    int pr = poll(&pl, 1, 5000);
    say("poll until it exits: %d %#x", pr, pl.revents);
    CHECK_OK(pidfd_send(pf, 0, NULL, 0), "signal 0 to a zombie");
    CHECK_ERR(syscall(SYS_pidfd_getfd, pf, 0, 0), ESRCH, "getfd from a zombie");
    int pf2 = pidfd_open(c, 0);
    CHECK(pf2 >= 0, "pidfd_open of a zombie");
    siginfo_t si = {0};
    CHECK_OK(waitid(P_PIDFD, pf, &si, WEXITED), "waitid(P_PIDFD)");
    say("reaped: code %d status %d pid is child %d", si.si_code, si.si_status, si.si_pid == c);
    pl.revents = 0;
    pr = poll(&pl, 1, 0);
    say("after reaping: %d %#x", pr, pl.revents);
    f = MUST(open(p, O_RDONLY));
    n = MUST(read(f, buf, sizeof buf - 1));
    buf[n] = 0;
    close(f);
    char *pid = strstr(buf, "Pid:");
    say("fdinfo %s", pid ? pid : "?");
    CHECK_ERR(pidfd_send(pf, 0, NULL, 0), ESRCH, "signal to a reaped process");
    CHECK_ERR(pidfd_open(c, 0), ESRCH, "pidfd_open of a reaped process");
    CHECK_ERR(waitid(P_PIDFD, pf, &si, WEXITED | WNOHANG), ECHILD, "waitid again");
    /* Kill through a pidfd; a non-blocking pidfd makes waitid EAGAIN. */
    c = MUST(fork());
    if (c == 0) {
        for (;;) pause();
    }
    pf = MUST(pidfd_open(c, PIDFD_NONBLOCK));
    CHECK_ERR(waitid(P_PIDFD, pf, &si, WEXITED), EAGAIN, "waitid, non-blocking pidfd, running child");
    CHECK_OK(waitid(P_PIDFD, pf, &si, WEXITED | WNOHANG), "the same with WNOHANG");
    CHECK_OK(pidfd_send(pf, SIGTERM, NULL, 0), "SIGTERM");
    pl = (struct pollfd){.fd = pf, .events = POLLIN};
    poll(&pl, 1, 5000);
    memset(&si, 0, sizeof si);
    CHECK_OK(waitid(P_PIDFD, pf, &si, WEXITED), "waitid");
    say("killed: code %d status %s", si.si_code, sigabbrev_np(si.si_status));
    /* Only the kernel's codes may go to another process. */
    c = MUST(fork());
    if (c == 0) {
        for (;;) pause();
    }
    pf = MUST(pidfd_open(c, 0));
    memset(&si, 0, sizeof si);
    si.si_signo = SIGTERM;
    si.si_code = SI_USER;
    CHECK_ERR(pidfd_send(pf, SIGTERM, &si, 0), EPERM, "SI_USER info to another process");
    si.si_code = SI_QUEUE;
    CHECK_OK(pidfd_send(pf, SIGTERM, &si, 0), "SI_QUEUE info to another process");
    say("child %s", wait_child(c));
    /* epoll on a pidfd. */
    c = MUST(fork());
    if (c == 0) {
        usleep(20000);
        _exit(0);
    }
    pf = MUST(pidfd_open(c, 0));
    int ep = MUST(epoll_create1(0));
    ep_add(ep, pf, EPOLLIN, 3);
    struct epoll_event ev;
    int en = epoll_wait(ep, &ev, 1, 5000);
    say("epoll: %d [%lu %s]", en, (unsigned long)ev.data.u64, evs(ev.events));
    say("child %s", wait_child(c));
    show_wait(ep, 1, "reaped");
}

static int clone_child(void *arg) {
    (void)arg;
    _exit(4);
}

static void pidfd_clone(void) {
    int pf = -1;
    long r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pf, 0, 0);
    if (r == 0) _exit(3);
    say("clone CLONE_PIDFD: pidfd %d, cloexec %d", pf >= 0, fcntl(pf, F_GETFD));
    siginfo_t si = {0};
    CHECK_OK(waitid(P_PIDFD, pf, &si, WEXITED), "waitid");
    say("status %d pid matches %d", si.si_status, si.si_pid == r);
    CHECK_ERR(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pf, 0, 0), EINVAL, "with CLONE_PARENT_SETTID");
    CHECK_ERR(syscall(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, &pf, 0, 0), EINVAL, "with CLONE_DETACHED");
    CHECK_ERR(syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, (void *)8, 0, 0), EFAULT, "bad pidfd pointer");
    struct clone_args ca = {.flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pf, .exit_signal = SIGCHLD};
    r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0) _exit(6);
    memset(&si, 0, sizeof si);
    CHECK_OK(waitid(P_PIDFD, pf, &si, WEXITED), "clone3 CLONE_PIDFD, waitid");
    say("status %d", si.si_status);
    /* glibc's clone with a stack, and pidfd in parent_tid. */
    static char stack[65536];
    pf = -1;
    r = clone(clone_child, stack + sizeof stack, CLONE_PIDFD | SIGCHLD, NULL, &pf);
    struct pollfd p = {.fd = pf, .events = POLLIN};
    int pr = poll(&p, 1, 5000);
    say("clone(): poll %d %#x, child %s", pr, p.revents, wait_child(r));
}

/* ------------------------------------------------------------------ POSIX timers */

static volatile sig_atomic_t tsig_count, tsig_code, tsig_int, tsig_timerid;
static void on_timer(int s, siginfo_t *si, void *uc) {
    (void)s;
    (void)uc;
    tsig_count++;
    tsig_code = si->si_code;
    tsig_int = si->si_value.sival_int;
    tsig_timerid = si->si_timerid;
}

static void posix_timers(void) {
    timer_t t;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    CHECK_ERR(syscall(SYS_timer_create, 99, &sev, &t), EINVAL, "clock 99");
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC_RAW, &sev, &t), EOPNOTSUPP, "CLOCK_MONOTONIC_RAW");
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC_COARSE, &sev, &t), EOPNOTSUPP, "CLOCK_MONOTONIC_COARSE");
    sev.sigev_notify = 7;
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &t), EINVAL, "sigev_notify 7");
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 0;
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &t), EINVAL, "signal 0");
    sev.sigev_signo = 65;
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &t), EINVAL, "signal 65");
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR1;
    pid_t other = MUST(fork());
    if (other == 0) {
        for (;;) pause();
    }
    sev._sigev_un._tid = other;
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &t), EINVAL, "SIGEV_THREAD_ID to another process");
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, (void *)8), EFAULT, "bad timer id pointer");
    CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, (void *)8, &t), EFAULT, "bad sigevent pointer");
    int ids[4];
    for (int i = 0; i < 4; i++) {
        int id;
        MUST(syscall(SYS_timer_create, i == 3 ? CLOCK_TAI : CLOCK_MONOTONIC, NULL, &id));
        ids[i] = id;
    }
    say("timer ids %d %d %d %d", ids[0], ids[1], ids[2], ids[3]);
    CHECK_OK(syscall(SYS_timer_delete, ids[1]), "delete");
    CHECK_ERR(syscall(SYS_timer_delete, ids[1]), EINVAL, "delete twice");
    int id;
    MUST(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &id));
    say("next id %d", id);
    struct itimerspec its = {0}, cur;
    CHECK_ERR(syscall(SYS_timer_settime, 77, 0, &its, NULL), EINVAL, "settime of no timer");
    CHECK_ERR(syscall(SYS_timer_settime, id, 0, NULL, NULL), EINVAL, "settime NULL");
    CHECK_ERR(syscall(SYS_timer_gettime, 77, &cur), EINVAL, "gettime of no timer");
    CHECK_ERR(syscall(SYS_timer_getoverrun, 77), EINVAL, "getoverrun of no timer");
    its.it_value.tv_nsec = 1000000000;
    CHECK_ERR(syscall(SYS_timer_settime, id, 0, &its, NULL), EINVAL, "tv_nsec 1e9");
    its.it_value.tv_nsec = 0;
    its.it_interval.tv_nsec = 5;
    CHECK_OK(syscall(SYS_timer_settime, id, 0, &its, NULL), "value 0 with an interval");
    MUST(syscall(SYS_timer_gettime, id, &cur));
    say("disarmed: interval %ld value %ld", cur.it_interval.tv_nsec, cur.it_value.tv_nsec);
    /* A one-shot timer with a handler: si_code, si_value, si_timerid. */
    struct sigaction sa = {.sa_sigaction = on_timer, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    sev = (struct sigevent){.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 1234};
    MUST(timer_create(CLOCK_MONOTONIC, &sev, &t));
    its = (struct itimerspec){{0, 0}, {0, 20000000}};
    MUST(timer_settime(t, 0, &its, NULL));
    while (!tsig_count) pause();
    say("handler: count %d code %d value %d timerid is the timer %d", tsig_count, tsig_code, tsig_int, tsig_timerid == (long)t);
    MUST(timer_gettime(t, &cur));
    say("after expiry: %ld.%09ld", cur.it_value.tv_sec, cur.it_value.tv_nsec);
    say("getoverrun %d", timer_getoverrun(t));
    /* Default sigevent: SIGALRM with the id as value. */
    sigset_t al;
    sigemptyset(&al);
    sigaddset(&al, SIGALRM);
    sigprocmask(SIG_BLOCK, &al, NULL);
    timer_t t2;
    MUST(timer_create(CLOCK_REALTIME, NULL, &t2));
    MUST(timer_settime(t2, 0, &its, NULL));
    siginfo_t si;
    MUST(sigwaitinfo(&al, &si));
    say("default: %s code %d value is the id %d", sigabbrev_np(si.si_signo), si.si_code, si.si_value.sival_int == (long)t2);
    /* Absolute times. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    its = (struct itimerspec){{0, 0}, {now.tv_sec + 3600, 0}};
    MUST(timer_settime(t2, TIMER_ABSTIME, &its, NULL));
    MUST(timer_gettime(t2, &cur));
    say("absolute +1 h: about %d", cur.it_value.tv_sec >= 3598 && cur.it_value.tv_sec <= 3600);
    its.it_value.tv_sec = now.tv_sec - 10;
    MUST(timer_settime(t2, TIMER_ABSTIME, &its, &cur));
    say("old value about 1 h: %d", cur.it_value.tv_sec >= 3598 && cur.it_value.tv_sec <= 3600);
    MUST(sigwaitinfo(&al, &si));
    say("absolute in the past: fired");
}

static void posix_overrun(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &m, NULL);
    timer_t t;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN, .sigev_value.sival_int = 9};
    MUST(timer_create(CLOCK_MONOTONIC, &sev, &t));
    struct itimerspec its = {{0, 2000000}, {0, 2000000}}, cur;
    MUST(timer_settime(t, 0, &its, NULL));
    usleep(50000);
    /* One signal is queued however many expirations there were. */
    sigset_t pend;
    sigpending(&pend);
    say("pending %d", sigismember(&pend, SIGRTMIN));
    MUST(timer_gettime(t, &cur));
    say("while the signal waits: value within the interval %d", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 2000000);
    siginfo_t si;
    struct timespec z = {0, 0};
    MUST(sigtimedwait(&m, &si, &z));
    int ov = timer_getoverrun(t);
    say("one signal: code %d value %d, overrun > 10: %d, getoverrun the same: %d", si.si_code, si.si_value.sival_int, si.si_overrun > 10, ov == si.si_overrun);
    /* Setting the timer again drops a queued signal. */
    usleep(10000);
    sigpending(&pend);
    say("pending again %d", sigismember(&pend, SIGRTMIN));
    its = (struct itimerspec){0};
    MUST(timer_settime(t, 0, &its, NULL));
    errno = 0;
    int r = sigtimedwait(&m, &si, &z);
    say("after disarming: %d %s", r, ename(errno));
    /* So does deleting it. */
    its = (struct itimerspec){{0, 0}, {0, 1000000}};
    MUST(timer_settime(t, 0, &its, NULL));
    usleep(10000);
    MUST(timer_delete(t));
    sigpending(&pend);
    say("deleted with a signal queued: still pending %d", sigismember(&pend, SIGRTMIN));
    errno = 0;
    r = sigtimedwait(&m, &si, &z);
    say("taken: %d %s", r, ename(errno));
}

static pid_t target_tid;
static volatile int thread_got;
static void *tid_waiter(void *arg) {
    (void)arg;
    target_tid = gettid();
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    siginfo_t si;
    sigwaitinfo(&m, &si);
    thread_got = si.si_code == SI_TIMER ? 1 : 2;
    return NULL;
}

static sem_t cb_sem;
static void timer_cb(union sigval v) {
    (void)v;
    sem_post(&cb_sem);
}

static void posix_thread_timers(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    pthread_t th;
    pthread_create(&th, NULL, tid_waiter, NULL);
    while (!target_tid) usleep(1000);
    struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR2};
    sev._sigev_un._tid = target_tid;
    timer_t t;
    MUST(timer_create(CLOCK_MONOTONIC, &sev, &t));
    struct itimerspec its = {{0, 0}, {0, 20000000}};
    MUST(timer_settime(t, 0, &its, NULL));
    pthread_join(th, NULL);
    say("SIGEV_THREAD_ID: thread took it: %d", thread_got);
    /* glibc's SIGEV_THREAD (a helper thread on SIGEV_THREAD_ID underneath). */
    sem_init(&cb_sem, 0, 0);
    struct sigevent sv = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = timer_cb};
    timer_t t2;
    MUST(timer_create(CLOCK_MONOTONIC, &sv, &t2));
    its = (struct itimerspec){{0, 10000000}, {0, 10000000}};
    MUST(timer_settime(t2, 0, &its, NULL));
    for (int i = 0; i < 3; i++) sem_wait(&cb_sem);
    its = (struct itimerspec){0};
    MUST(timer_settime(t2, 0, &its, NULL));
    say("SIGEV_THREAD callback ran 3 times");
    /* SIGEV_NONE: nothing is sent; the time left runs down. */
    timer_t t3;
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    MUST(timer_create(CLOCK_MONOTONIC, &none, &t3));
    its = (struct itimerspec){{0, 0}, {10, 0}};
    MUST(timer_settime(t3, 0, &its, NULL));
    struct itimerspec cur;
    MUST(timer_gettime(t3, &cur));
    say("SIGEV_NONE armed: %d", cur.it_value.tv_sec > 0 || cur.it_value.tv_nsec > 0);
    its = (struct itimerspec){{0, 0}, {0, 20000000}};
    MUST(timer_settime(t3, 0, &its, NULL));
    usleep(40000);
    MUST(timer_gettime(t3, &cur));
    say("SIGEV_NONE expired: %ld.%09ld", cur.it_value.tv_sec, cur.it_value.tv_nsec);
    its = (struct itimerspec){{0, 10000000}, {0, 10000000}};
    MUST(timer_settime(t3, 0, &its, NULL));
    usleep(35000);
    MUST(timer_gettime(t3, &cur));
    say("SIGEV_NONE periodic: within the interval %d", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 10000000);
}

static volatile sig_atomic_t vt_count;
static void on_vt(int s) {
    (void)s;
    vt_count++;
}

static void burn_until(volatile sig_atomic_t *flag, int want) {
    volatile unsigned long x = 0;
    while (*flag < want) x++;
}

static void cpu_timers(void) {
    struct sigaction sa = {.sa_handler = on_vt};
    sigaction(SIGVTALRM, &sa, NULL);
    sigaction(SIGPROF, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* ITIMER_VIRTUAL counts CPU time: a sleeping process does not see it expire. */
    struct itimerval iv = {{0, 0}, {0, 30000}}, cur;
    MUST(setitimer(ITIMER_VIRTUAL, &iv, NULL));
    usleep(200000);
    say("ITIMER_VIRTUAL after sleeping 200 ms: fired %d", vt_count);
    MUST(getitimer(ITIMER_VIRTUAL, &cur));
    say("still armed: %d", cur.it_value.tv_usec > 0 || cur.it_value.tv_sec > 0);
    burn_until(&vt_count, 1);
    say("after burning CPU: fired %d", vt_count);
    MUST(getitimer(ITIMER_VIRTUAL, &cur));
    say("disarmed: %ld.%06ld", cur.it_value.tv_sec, cur.it_value.tv_usec);
    /* Periodic ITIMER_PROF. */
    vt_count = 0;
    iv = (struct itimerval){{0, 10000}, {0, 10000}};
    MUST(setitimer(ITIMER_PROF, &iv, NULL));
    burn_until(&vt_count, 3);
    iv = (struct itimerval){0};
    MUST(setitimer(ITIMER_PROF, &iv, &cur));
    say("ITIMER_PROF fired 3 times; interval was %ld.%06ld", cur.it_interval.tv_sec, cur.it_interval.tv_usec);
    /* POSIX timers on CPU clocks. */
    vt_count = 0;
    timer_t t;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    MUST(timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t));
    struct itimerspec its = {{0, 0}, {0, 30000000}};
    MUST(timer_settime(t, 0, &its, NULL));
    usleep(150000);
    say("process CPU timer after sleeping: fired %d", vt_count);
    burn_until(&vt_count, 1);
    say("after burning: fired %d", vt_count);
    timer_t t2;
    MUST(timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t2));
    MUST(timer_settime(t2, 0, &its, NULL));
    burn_until(&vt_count, 2);
    say("thread CPU timer fired");
    its.it_value = ts_after(CLOCK_PROCESS_CPUTIME_ID, 20000000);
    MUST(timer_settime(t, TIMER_ABSTIME, &its, NULL));
    burn_until(&vt_count, 3);
    say("absolute CPU time timer fired");
}

static void exec_timers_check(void) {
    struct itimerspec cur;
    errno = 0;
    long r = syscall(SYS_timer_gettime, 0, &cur);
    say("after exec: timer 0 gettime %ld %s", r, ename(errno));
    struct itimerval iv;
    getitimer(ITIMER_REAL, &iv);
    say("after exec: ITIMER_REAL still armed %d", iv.it_value.tv_sec > 0);
}

static void exec_timers(void) {
    int id;
    MUST(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &id));
    struct itimerspec its = {{0, 0}, {100, 0}};
    MUST(syscall(SYS_timer_settime, id, 0, &its, NULL));
    struct itimerval iv = {{0, 0}, {100, 0}};
    MUST(setitimer(ITIMER_REAL, &iv, NULL));
    say("before exec: timer %d armed", id);
    fflush(stdout);
    execl("/proc/self/exe", t_prog, "exec_timers_check", (char *)NULL);
    say("exec failed");
}

/* ------------------------------------------------------------------ futexes */

static long fx(uint32_t *u, int op, uint32_t val, const void *ts, uint32_t *u2, uint32_t v3) {
    return syscall(SYS_futex, u, op, val, ts, u2, v3);
}

/* A futex word described without its owner's TID: flags, and whose TID it holds. */
static const char *fword(uint32_t v, pid_t who) {
    static char b[4][64];
    static int k;
    char *s = b[k++ % 4];
    snprintf(s, 64, "%s%s%s", v & FUTEX_WAITERS ? "WAITERS|" : "", v & FUTEX_OWNER_DIED ? "OWNER_DIED|" : "",
             (v & FUTEX_TID_MASK) == 0 ? "0" : (v & FUTEX_TID_MASK) == (uint32_t)who ? "tid" : "other");
    return s;
}

static void futex_pi_basic(void) {
    static uint32_t f;
    pid_t me = gettid();
    CHECK_OK(fx(&f, FUTEX_LOCK_PI, 0, NULL, NULL, 0), "LOCK_PI of a free futex");
    say("word %s", fword(f, me));
    CHECK_ERR(fx(&f, FUTEX_LOCK_PI, 0, NULL, NULL, 0), EDEADLK, "LOCK_PI again");
    CHECK_ERR(fx(&f, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), EDEADLK, "TRYLOCK_PI again");
    CHECK_OK(fx(&f, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), "UNLOCK_PI");
    say("word %s", fword(f, me));
    CHECK_ERR(fx(&f, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), EPERM, "UNLOCK_PI of a free futex");
    CHECK_OK(fx(&f, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), "TRYLOCK_PI of a free futex");
    CHECK_OK(fx(&f, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0), "UNLOCK_PI (private)");
    f = 0x3ffffff0; /* an owner that does not exist */
    CHECK_ERR(fx(&f, FUTEX_LOCK_PI, 0, NULL, NULL, 0), ESRCH, "owner does not exist");
    say("word %#x", f);
    CHECK_ERR(fx(&f, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), ESRCH, "TRYLOCK_PI: owner does not exist");
    CHECK_ERR(fx(&f, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), EPERM, "UNLOCK_PI of someone else's");
    f = FUTEX_OWNER_DIED;
    CHECK_OK(fx(&f, FUTEX_LOCK_PI, 0, NULL, NULL, 0), "LOCK_PI of a free futex whose owner died");
    say("word %s", fword(f, me));
    CHECK_OK(fx(&f, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), "UNLOCK_PI");
    say("word %s", fword(f, me));
    CHECK_ERR(fx((uint32_t *)((char *)&f + 1), FUTEX_LOCK_PI, 0, NULL, NULL, 0), EINVAL, "unaligned");
    CHECK_ERR(fx(NULL, FUTEX_LOCK_PI, 0, NULL, NULL, 0), EFAULT, "NULL");
    CHECK_ERR(fx(&f, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0), ENOSYS, "LOCK_PI with FUTEX_CLOCK_REALTIME");
    CHECK_ERR(fx(&f, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS, "WAKE with FUTEX_CLOCK_REALTIME");
    CHECK_ERR(fx(&f, 2, 0, NULL, NULL, 0), ENOSYS, "FUTEX_FD");
    CHECK_ERR(fx(&f, 14, 0, NULL, NULL, 0), ENOSYS, "operation 14");
    /* Read-only memory. */
    uint32_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK_ERR(fx(ro, FUTEX_LOCK_PI, 0, NULL, NULL, 0), EFAULT, "LOCK_PI on read-only memory");
}

static uint32_t pif;
static volatile int waiter_in;
static char pi_result[128];
static void *pi_locker(void *arg) {
    (void)arg;
    waiter_in = 1;
    long r = fx(&pif, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
    snprintf(pi_result, sizeof pi_result, "waiter: LOCK_PI %ld, word %s", r, fword(pif, gettid()));
    fx(&pif, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
    return NULL;
}

static pthread_mutex_t pim;
static long pi_counter;
static void *pi_incr(void *arg) {
    for (long i = 0; i < (long)arg; i++) {
        pthread_mutex_lock(&pim);
        pi_counter++;
        pthread_mutex_unlock(&pim);
    }
    return NULL;
}

static void futex_pi_threads(void) {
    pid_t me = gettid();
    MUST(fx(&pif, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
    pthread_t th;
    pthread_create(&th, NULL, pi_locker, NULL);
    while (!waiter_in) usleep(1000);
    while (!(pif & FUTEX_WAITERS)) usleep(1000);
    say("with a waiter: %s", fword(pif, me));
    CHECK_OK(fx(&pif, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), "UNLOCK_PI hands it over");
    pthread_join(th, NULL);
    say("%s", pi_result);
    say("at the end: %s", fword(pif, me));
    /* glibc's priority-inheritance mutexes run on these. */
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_setprotocol(&at, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&pim, &at);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, pi_incr, (void *)20000L);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    say("4 threads x 20000 increments under a PI mutex: %ld", pi_counter);
    CHECK(pthread_mutex_trylock(&pim) == 0, "trylock");
    CHECK(pthread_mutex_trylock(&pim) == EBUSY, "trylock again: EBUSY");
    pthread_mutex_unlock(&pim);
}

static volatile uint32_t *pi_flag;
static void pi_sig(int s) {
    (void)s;
    got++;
    if (pi_flag) *pi_flag = 1;
}

/* A child process that takes PI futex SH, holds it for HOLD µs (after *UNTIL has a bit
 * of MASK, if given), then unlocks it (or dies holding it); returns once the child holds
 * it. */
static pid_t held_by_child(uint32_t *sh, useconds_t hold, int unlock, volatile uint32_t *until, uint32_t mask) {
    int go[2];
    MUST(pipe(go));
    pid_t c = MUST(fork());
    if (c == 0) {
        fx(sh, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
        MUST(write(go[1], "x", 1));
        while (until && !(*until & mask)) usleep(1000);
        usleep(hold);
        if (unlock) fx(sh, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
        _exit(0);
    }
    char b;
    MUST(read(go[0], &b, 1));
    close(go[0]);
    close(go[1]);
    return c;
}

static void futex_pi_timeout(void) {
    uint32_t *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    /* (The child lets go once the parent's signal handler below has run.) */
    pi_flag = &sh[1];
    pid_t c = held_by_child(sh, 20000, 1, &sh[1], ~0u);
    say("held by the child: %s", fword(*sh, c));
    CHECK_ERR(fx(sh, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), EAGAIN, "TRYLOCK_PI of a held futex");
    say("after TRYLOCK_PI: %s", fword(*sh, c));
    struct timespec ts = ts_after(CLOCK_REALTIME, 10000000);
    CHECK_ERR(fx(sh, FUTEX_LOCK_PI, 0, &ts, NULL, 0), ETIMEDOUT, "LOCK_PI with a CLOCK_REALTIME deadline");
    ts = ts_after(CLOCK_MONOTONIC, 10000000);
    CHECK_ERR(fx(sh, FUTEX_LOCK_PI2, 0, &ts, NULL, 0), ETIMEDOUT, "LOCK_PI2 with a CLOCK_MONOTONIC deadline");
    ts.tv_nsec = 1000000000;
    CHECK_ERR(fx(sh, FUTEX_LOCK_PI2, 0, &ts, NULL, 0), EINVAL, "bad timespec");
    /* A signal on the way restarts the wait. */
    struct sigaction sa = {.sa_handler = pi_sig};
    sigaction(SIGUSR1, &sa, NULL);
    got = 0;
    pid_t k = signal_me_later(SIGUSR1, 20000);
    CHECK_OK(fx(sh, FUTEX_LOCK_PI, 0, NULL, NULL, 0), "LOCK_PI waits for the child's unlock");
    say("got it: %s; the handler ran %d", fword(*sh, gettid()), got);
    wait_child(k);
    CHECK_OK(fx(sh, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), "UNLOCK_PI");
    say("free: %s; child %s", fword(*sh, 0), wait_child(c));
}

static void futex_pi_death(void) {
    uint32_t *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int go[2];
    MUST(pipe(go));
    char b;
    /* The owner dies holding it: the waiter gets it, with OWNER_DIED. */
    /* (It dies once the parent waits: FUTEX_WAITERS.) */
    pid_t c = held_by_child(sh, 20000, 0, sh, FUTEX_WAITERS);
    CHECK_OK(fx(sh, FUTEX_LOCK_PI, 0, NULL, NULL, 0), "LOCK_PI");
    say("after the owner died: %s", fword(*sh, gettid()));
    fx(sh, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
    say("unlocked: %s", fword(*sh, 0));
    wait_child(c);
    /* A dead owner without waiters leaves its TID: LOCK_PI says ESRCH. */
    c = MUST(fork());
    if (c == 0) {
        fx(sh, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
        _exit(0);
    }
    wait_child(c);
    CHECK_ERR(fx(sh, FUTEX_LOCK_PI, 0, NULL, NULL, 0), ESRCH, "owner gone, no waiters");
    /* glibc robust PI mutexes: EOWNERDEAD through the robust list. */
    pthread_mutex_t *m = (pthread_mutex_t *)(sh + 16);
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setprotocol(&at, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(m, &at);
    c = MUST(fork());
    if (c == 0) {
        pthread_mutex_lock(m);
        MUST(write(go[1], "x", 1));
        usleep(30000);
        _exit(0);
    }
    MUST(read(go[0], &b, 1));
    int r = pthread_mutex_lock(m);
    say("robust PI mutex after its owner died: %s", ename(r));
    CHECK(pthread_mutex_consistent(m) == 0, "made consistent");
    pthread_mutex_unlock(m);
    CHECK(pthread_mutex_lock(m) == 0, "locks normally again");
    pthread_mutex_unlock(m);
    wait_child(c);
    c = MUST(fork());
    if (c == 0) {
        pthread_mutex_lock(m);
        _exit(0);
    }
    wait_child(c);
    r = pthread_mutex_lock(m);
    say("owner died with no waiter: %s", ename(r));
}

static uint32_t cv1, lk2;
static char rq_result[2][128];
static atomic_int rq_started;
static void *rq_waiter(void *arg) {
    long i = (long)arg;
    atomic_fetch_add(&rq_started, 1);
    long r = fx(&cv1, FUTEX_WAIT_REQUEUE_PI, 0, NULL, &lk2, 0);
    int e = errno;
    snprintf(rq_result[i], sizeof rq_result[i], "%ld %s, holds it %d, word %s", r, r ? ename(e) : "",
             (lk2 & FUTEX_TID_MASK) == (uint32_t)gettid(), fword(lk2 & ~FUTEX_TID_MASK, 0));
    if (r == 0) fx(&lk2, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
    return NULL;
}

static void rq_join(pthread_t *w, int n) {
    for (int i = 0; i < n; i++) pthread_join(w[i], NULL);
    /* (In either order: which waiter got which outcome is up to the scheduler.) */
    if (n == 2 && strcmp(rq_result[0], rq_result[1]) > 0) {
        char tmp[128];
        strcpy(tmp, rq_result[0]);
        strcpy(rq_result[0], rq_result[1]);
        strcpy(rq_result[1], tmp);
    }
    for (int i = 0; i < n; i++) say("  requeue-PI waiter: %s", rq_result[i]);
}

/* Waits until N requeue-PI waiters are about to wait on F, and one of them is queued (a
 * FUTEX_WAKE of a requeue-PI waiter is EINVAL); then gives the others time to queue. */
static void wait_for_waiters(uint32_t *f, int n) {
    while (atomic_load(&rq_started) < n) usleep(1000);
    while (fx(f, FUTEX_WAKE, 1, NULL, NULL, 0) == 0) usleep(1000);
    usleep(50000);
    atomic_store(&rq_started, 0);
}

static void futex_requeue_pi(void) {
    CHECK_ERR(fx(&cv1, FUTEX_WAIT_REQUEUE_PI, 1, NULL, &lk2, 0), EAGAIN, "value differs");
    CHECK_ERR(fx(&cv1, FUTEX_WAIT_REQUEUE_PI, 0, NULL, &cv1, 0), EINVAL, "same futex twice");
    CHECK_ERR(fx(&cv1, FUTEX_CMP_REQUEUE_PI, 2, (void *)1, &lk2, 0), EINVAL, "nr_wake 2");
    CHECK_ERR(fx(&cv1, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, &lk2, 5), EAGAIN, "cmpval differs");
    CHECK_ERR(fx(&cv1, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, &cv1, 0), EINVAL, "same futex twice");
    CHECK(fx(&cv1, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, &lk2, 0) == 0, "no waiters: 0");
    struct timespec ts = ts_after(CLOCK_MONOTONIC, 10000000);
    CHECK_ERR(fx(&cv1, FUTEX_WAIT_REQUEUE_PI, 0, &ts, &lk2, 0), ETIMEDOUT, "timeout before requeue");
    /* Two waiters, the PI futex free: one gets it at once, one is moved. */
    pthread_t w[2];
    pthread_create(&w[0], NULL, rq_waiter, (void *)0L);
    pthread_create(&w[1], NULL, rq_waiter, (void *)1L);
    wait_for_waiters(&cv1, 2);
    CHECK_ERR(fx(&cv1, FUTEX_WAKE, 1, NULL, NULL, 0), EINVAL, "FUTEX_WAKE of requeue-PI waiters");
    CHECK_ERR(fx(&cv1, FUTEX_REQUEUE, 0, (void *)1, &lk2, 0), EINVAL, "FUTEX_REQUEUE of requeue-PI waiters");
    CHECK_ERR(fx(&cv1, FUTEX_WAKE_OP, 1, 0, &lk2, 0), EINVAL, "FUTEX_WAKE_OP of requeue-PI waiters");
    long n = fx(&cv1, FUTEX_CMP_REQUEUE_PI, 1, (void *)1, &lk2, 0);
    rq_join(w, 2);
    say("CMP_REQUEUE_PI, lock free: %ld; lock %s", n, fword(lk2, 0));
    /* The PI futex held: both are moved, and get it in turn. */
    MUST(fx(&lk2, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
    pthread_create(&w[0], NULL, rq_waiter, (void *)0L);
    pthread_create(&w[1], NULL, rq_waiter, (void *)1L);
    wait_for_waiters(&cv1, 2);
    n = fx(&cv1, FUTEX_CMP_REQUEUE_PI, 1, (void *)10, &lk2, 0);
    say("CMP_REQUEUE_PI, lock held: %ld; lock %s", n, fword(lk2, gettid()));
    CHECK_OK(fx(&lk2, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), "UNLOCK_PI");
    rq_join(w, 2);
    say("lock %s", fword(lk2, 0));
    /* nr_requeue 0: only the first, without FUTEX_WAITERS. */
    pthread_create(&w[0], NULL, rq_waiter, (void *)0L);
    wait_for_waiters(&cv1, 1);
    n = fx(&cv1, FUTEX_CMP_REQUEUE_PI, 1, (void *)0, &lk2, 0);
    rq_join(w, 1);
    say("CMP_REQUEUE_PI nr_requeue 0: %ld", n);
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define F2_U32 2
#define F2_U8 0
#define F2_U64 3
#define F2_PRIVATE 128
struct fwv {
    uint64_t val, uaddr;
    uint32_t flags, rsv;
};
static uint32_t wa, wb, wc;
/* Wakes futex wb until the waiter says it has been woken (it may not wait yet). */
static volatile int wb_done;
static void *wake_b(void *arg) {
    (void)arg;
    while (!wb_done) {
        usleep(5000);
        fx(&wb, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}

static void futex_waitv(void) {
    struct fwv w[3] = {{0, (uintptr_t)&wa, F2_U32 | F2_PRIVATE, 0}, {0, (uintptr_t)&wb, F2_U32 | F2_PRIVATE, 0}, {0, (uintptr_t)&wc, F2_U32, 0}};
    struct timespec ts = ts_after(CLOCK_MONOTONIC, 10000000);
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, &ts, CLOCK_MONOTONIC), ETIMEDOUT, "timeout");
    CHECK_ERR(syscall(SYS_futex_waitv, w, 0, 0, &ts, CLOCK_MONOTONIC), EINVAL, "no futexes");
    CHECK_ERR(syscall(SYS_futex_waitv, w, 129, 0, &ts, CLOCK_MONOTONIC), EINVAL, "129 futexes");
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 1, &ts, CLOCK_MONOTONIC), EINVAL, "flags");
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, &ts, CLOCK_BOOTTIME), EINVAL, "CLOCK_BOOTTIME");
    CHECK_ERR(syscall(SYS_futex_waitv, NULL, 3, 0, &ts, CLOCK_MONOTONIC), EINVAL, "NULL");
    CHECK_ERR(syscall(SYS_futex_waitv, (void *)8, 3, 0, NULL, 0), EFAULT, "bad pointer");
    w[1].val = 1;
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, NULL, 0), EAGAIN, "a value differs");
    w[1].val = 0;
    w[1].flags = F2_U8;
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, NULL, 0), EINVAL, "8-bit futex");
    w[1].flags = F2_U64;
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, NULL, 0), EINVAL, "64-bit futex");
    w[1].flags = F2_U32 | 0x40;
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, NULL, 0), EINVAL, "unknown flag");
    w[1].flags = F2_U32;
    w[1].rsv = 1;
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, NULL, 0), EINVAL, "reserved field");
    w[1].rsv = 0;
    w[1].uaddr++;
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, NULL, 0), EINVAL, "unaligned");
    w[1].uaddr--;
    w[1].val = 1ULL << 32;
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, NULL, 0), EINVAL, "value beyond 32 bits");
    w[1].val = 0;
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(syscall(SYS_futex_waitv, w, 3, 0, &bad, CLOCK_MONOTONIC), EINVAL, "bad timespec");
    w[1].flags = F2_U32 | F2_PRIVATE;
    pthread_t t;
    wb_done = 0;
    pthread_create(&t, NULL, wake_b, NULL);
    long idx = syscall(SYS_futex_waitv, w, 3, 0, NULL, 0);
    wb_done = 1;
    pthread_join(t, NULL);
    say("woken through futex %ld", idx);
    /* Shared, across processes. */
    uint32_t *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct fwv s2[2] = {{0, (uintptr_t)&sh[0], F2_U32, 0}, {0, (uintptr_t)&sh[1], F2_U32, 0}};
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(20000);
        sh[0] = 1;
        fx(&sh[0], FUTEX_WAKE, 1, NULL, NULL, 0);
        _exit(0);
    }
    long r = syscall(SYS_futex_waitv, s2, 2, 0, NULL, 0);
    /* (EAGAIN if the child was there first.) */
    say("woken by another process: %d, child %s", r == 0 || (r == -1 && errno == EAGAIN), wait_child(c));
}

static void futex2(void) {
    CHECK(syscall(454, &wa, 0xffffffff, 1, F2_U32 | F2_PRIVATE) == 0, "futex_wake with nobody waiting");
    CHECK_ERR(syscall(454, &wa, 0, 1, F2_U32 | F2_PRIVATE), EINVAL, "mask 0");
    CHECK_ERR(syscall(454, &wa, 1ULL << 32, 1, F2_U32 | F2_PRIVATE), EINVAL, "mask beyond 32 bits");
    CHECK_ERR(syscall(454, &wa, 0xffffffff, 1, F2_U8), EINVAL, "8-bit");
    CHECK_ERR(syscall(454, &wa, 0xffffffff, 1, F2_U64), EINVAL, "64-bit");
    CHECK_ERR(syscall(454, &wa, 0xffffffff, 1, 0x10 | F2_U32), EINVAL, "unknown flag");
    CHECK_ERR(syscall(455, &wa, 1, 0xffffffff, F2_U32 | F2_PRIVATE, NULL, 0), EAGAIN, "futex_wait: value differs");
    struct timespec ts = ts_after(CLOCK_MONOTONIC, 10000000);
    CHECK_ERR(syscall(455, &wa, 0, 0xffffffff, F2_U32 | F2_PRIVATE, &ts, CLOCK_MONOTONIC), ETIMEDOUT, "futex_wait timeout");
    CHECK_ERR(syscall(455, &wa, 0, 0xffffffff, F2_U32 | F2_PRIVATE, &ts, CLOCK_BOOTTIME), EINVAL, "CLOCK_BOOTTIME");
    CHECK_ERR(syscall(455, &wa, 0, 0, F2_U32 | F2_PRIVATE, &ts, CLOCK_MONOTONIC), EINVAL, "mask 0");
    CHECK_ERR(syscall(455, &wa, 1ULL << 32, 1, F2_U32 | F2_PRIVATE, &ts, CLOCK_MONOTONIC), EINVAL, "value beyond 32 bits");
    pthread_t t;
    wb_done = 0;
    pthread_create(&t, NULL, wake_b, NULL);
    long r = syscall(455, &wb, 0, 0xffffffff, F2_U32 | F2_PRIVATE, NULL, 0);
    wb_done = 1;
    pthread_join(t, NULL);
    CHECK(r == 0, "futex_wait woken by FUTEX_WAKE");
    struct fwv rq[2] = {{0, (uintptr_t)&wa, F2_U32 | F2_PRIVATE, 0}, {0, (uintptr_t)&wb, F2_U32 | F2_PRIVATE, 0}};
    CHECK(syscall(456, rq, 0, 1, 1) == 0, "futex_requeue with nobody waiting");
    CHECK_ERR(syscall(456, rq, 1, 1, 1), EINVAL, "futex_requeue flags");
    CHECK_ERR(syscall(456, rq, 0, -1, 1), EINVAL, "nr_wake -1");
    CHECK_ERR(syscall(456, rq, 0, 1, -1), EINVAL, "nr_requeue -1");
    rq[0].val = 5;
    CHECK_ERR(syscall(456, rq, 0, 1, 1), EAGAIN, "value differs");
    rq[0].val = 0;
    rq[1].flags = F2_U32;
    CHECK_ERR(syscall(456, rq, 0, 1, 1), EINVAL, "private and shared");
}

static const struct tcase cases[] = {
    CASE(eventfd_basic),
    CASE(eventfd_semaphore),
    CASE(eventfd_blocking),
    CASE(epoll_errors),
    CASE(epoll_level),
    CASE(epoll_edge),
    CASE(epoll_oneshot),
    CASE(epoll_close),
    CASE(epoll_nested),
    CASE(epoll_threads),
    CASE(epoll_signals),
    CASE(epoll_timeouts),
    CASE(epoll_hostio),
    CASE(epoll_exclusive),
    CASE(epoll_mqueue),
    CASE(timerfd_basic),
    CASE(timerfd_alarm_perm),
    CASE(timerfd_clocks),
    CASE(timerfd_threads),
    CASE(signalfd_basic),
    CASE(signalfd_wait),
    CASE(pidfd_basic),
    CASE(pidfd_child),
    CASE(pidfd_clone),
    CASE(posix_timers),
    CASE(posix_overrun),
    CASE(posix_thread_timers),
    CASE(cpu_timers),
    CASE(exec_timers),
    CASE(exec_timers_check),
    CASE(futex_pi_basic),
    CASE(futex_pi_threads),
    CASE(futex_pi_timeout),
    CASE(futex_pi_death),
    CASE(futex_requeue_pi),
    CASE(futex_waitv),
    CASE(futex2),
    {NULL, NULL},
};

int main(int argc, char **argv) { return run_cases(cases, argc, argv); }
