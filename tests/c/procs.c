/* Processes and threads: fork/vfork/clone/clone3, exec, exit, wait family,
 * sessions and groups, futexes, rlimits, identity and misc process calls. */
#include "t.h"
#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <asm/prctl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/random.h>

static long futex(atomic_int *uaddr, int op, int val, const struct timespec *ts, atomic_int *uaddr2, int val3) {
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static void fork_tree(void) {
    /* 10 children, each with 9 children of its own: 100 processes. Every
     * process exits with a distinct code; each level sums what it reaps. */
    fflush(stdout);
    pid_t kids[10];
    for (int i = 0; i < 10; i++) {
        kids[i] = MUST(fork());
        if (kids[i] == 0) {
            pid_t g[9];
            for (int j = 0; j < 9; j++) {
                g[j] = fork();
                if (g[j] == 0) _exit(i * 10 + j + 1);
                if (g[j] < 0) _exit(255);
            }
            int sum = 0;
            for (int j = 0; j < 9; j++) {
                int st;
                if (waitpid(g[j], &st, 0) != g[j] || !WIFEXITED(st)) _exit(254);
                sum += WEXITSTATUS(st);
            }
            _exit(sum % 200);
        }
    }
    int total = 0, ok = 1;
    for (int i = 0; i < 10; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st)) ok = 0;
        else total += WEXITSTATUS(st);
    }
    CHECK(ok, "all 10 children exited normally");
    say("sum of children's statuses %d", total);
    CHECK_ERR(wait(NULL), ECHILD, "no children left");
    /* 100 children alive at once, then reaped in any order. */
    int pfd[2];
    MUST(pipe(pfd));
    fflush(stdout);
    for (int i = 0; i < 100; i++) {
        pid_t c = MUST(fork());
        if (c == 0) {
            char x;
            close(pfd[1]);
            _exit(read(pfd[0], &x, 1) == 0 ? i : 255);
        }
    }
    close(pfd[1]);
    long sum = 0;
    int n = 0, st;
    while (wait(&st) > 0) {
        n++;
        sum += WEXITSTATUS(st);
    }
    say("reaped %d concurrent children, status sum %ld", n, sum);
}

static void vfork_exec(void) {
    static volatile int shared = 0;
    fflush(stdout);
    pid_t c = vfork();
    if (c == 0) {
        shared = 7; /* vfork shares memory until exec/exit */
        _exit(5);
    }
    say("vfork child %s, wrote %d into parent memory", wait_child(c), shared);
    c = vfork();
    if (c == 0) {
        char *argv[] = {"/bin/echo", "echo from vfork+exec", NULL};
        execv("/bin/echo", argv);
        _exit(127);
    }
    say("vfork+exec child %s", wait_child(c));
    c = vfork();
    if (c == 0) {
        char *argv[] = {"/nonexistent", NULL};
        execv("/nonexistent", argv);
        _exit(100 + errno);
    }
    say("vfork+failed exec %s", wait_child(c));
    /* posix_spawn uses CLONE_VM|CLONE_VFORK. */
    c = fork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", "echo spawned via sh; exit 4", (char *)NULL);
        _exit(127);
    }
    say("sh child %s", wait_child(c));
}

static atomic_int counter;
static int child_fn(void *arg) {
    atomic_fetch_add(&counter, (int)(long)arg);
    return 0;
}

static void clone_threads(void) {
    enum { N = 4 };
    char *stacks[N];
    static pid_t ptid[N];
    static atomic_int ctid[N];
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    for (int i = 0; i < N; i++) {
        stacks[i] = MUSTP(mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        ctid[i] = -1;
        int t = clone(child_fn, stacks[i] + (1 << 16), flags, (void *)(long)(i + 1), &ptid[i], NULL, &ctid[i]);
        CHECK(t > 0 && t != getpid(), "clone thread %d", i);
        CHECK(ptid[i] == t, "CLONE_PARENT_SETTID stored the tid");
    }
    for (int i = 0; i < N; i++) {
        /* CLONE_CHILD_CLEARTID: the kernel zeroes ctid and wakes it at exit. */
        int v;
        while ((v = atomic_load(&ctid[i])) != 0) futex(&ctid[i], FUTEX_WAIT, v, NULL, NULL, 0);
    }
    say("threads added %d", atomic_load(&counter));
    /* A thread's exit status is not waitable. */
    CHECK_ERR(waitpid(-1, NULL, WNOHANG | __WALL), ECHILD, "threads are not children");
    /* pthreads: gettid differs, getpid equal. */
    pid_t main_tid = gettid();
    CHECK(main_tid == getpid(), "main thread's tid is the pid");
}

static void *thr_ids(void *arg) {
    (void)arg;
    long r = (gettid() != getpid()) | ((long)(getpid() == syscall(SYS_getpid)) << 1);
    return (void *)r;
}

static void thread_ids(void) {
    pthread_t t;
    void *r;
    MUST(pthread_create(&t, NULL, thr_ids, NULL) == 0 ? 0 : -1);
    pthread_join(t, &r);
    CHECK((long)r == 3, "thread: gettid != getpid, getpid same");
    CHECK(syscall(SYS_set_tid_address, NULL) == gettid(), "set_tid_address returns the tid");
}

static void clone3_case(void) {
    struct clone_args ca = {0};
    ca.exit_signal = SIGCHLD;
    fflush(stdout);
    long c = syscall(SYS_clone3, &ca, sizeof ca);
    if (c == 0) _exit(33);
    CHECK(c > 0, "clone3 fork-like");
    if (c > 0) say("clone3 child %s", wait_child(c));
    CHECK_ERR(syscall(SYS_clone3, &ca, 8), EINVAL, "clone3 with a too-small size");
    struct clone_args bad = {0};
    bad.flags = CLONE_THREAD; /* without CLONE_SIGHAND|CLONE_VM */
    CHECK_ERR(syscall(SYS_clone3, &bad, sizeof bad), EINVAL, "clone3 CLONE_THREAD alone");
    CHECK_ERR(syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0), EINVAL, "clone CLONE_SIGHAND without CLONE_VM");
    /* CLONE_PARENT: the new process is our sibling, not our child. */
    int pfd[2];
    MUST(pipe(pfd));
    fflush(stdout);
    pid_t mid = MUST(fork());
    if (mid == 0) {
        struct clone_args cp = {0};
        cp.flags = CLONE_PARENT;
        cp.exit_signal = SIGCHLD;
        if (syscall(SYS_clone3, &cp, sizeof cp) != -1 || errno != EINVAL) _exit(3);
        cp.exit_signal = 0; /* the sibling inherits our own exit signal */
        long s = syscall(SYS_clone3, &cp, sizeof cp);
        if (s == 0) _exit(44);
        int st;
        int own = s > 0 && waitpid(s, &st, WNOHANG) == -1 && errno == ECHILD;
        char b = s < 0 ? 'e' : own ? 'y' : 'n';
        write(pfd[1], &b, 1);
        _exit(0);
    }
    close(pfd[1]);
    char b = 0;
    read(pfd[0], &b, 1);
    say("middle process %s", wait_child(mid));
    CHECK(b == 'y', "CLONE_PARENT sibling is not the caller's child (%c)", b);
    int st;
    pid_t w = wait(&st);
    CHECK(w > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 44, "CLONE_PARENT sibling is reaped by us");
}

static void wait_status(void) {
    static const int codes[] = {0, 1, 42, 255, 256 + 3};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        fflush(stdout);
        pid_t c = MUST(fork());
        if (c == 0) _exit(codes[i]);
        say("_exit(%d): %s", codes[i], wait_child(c));
    }
    int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGSEGV, SIGABRT, SIGPIPE, SIGALRM};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        int pfd[2];
        MUST(pipe(pfd));
        fflush(stdout);
        pid_t c = MUST(fork());
        if (c == 0) {
            char x;
            close(pfd[1]);
            read(pfd[0], &x, 1);
            _exit(0);
        }
        close(pfd[0]);
        kill(c, sigs[i]);
        say("killed by %s: %s", sigabbrev_np(sigs[i]), wait_child(c));
        close(pfd[1]);
    }
    /* Self-inflicted deaths. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        *(volatile int *)8 = 1;
        _exit(0);
    }
    say("null write: %s", wait_child(c));
    c = MUST(fork());
    if (c == 0) abort();
    say("abort(): %s", wait_child(c));
    c = MUST(fork());
    if (c == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    say("raise(SIGTERM): %s", wait_child(c));
    /* exit from a thread takes the whole group. */
    c = MUST(fork());
    if (c == 0) {
        syscall(SYS_exit_group, 9);
        _exit(0);
    }
    say("exit_group(9): %s", wait_child(c));
    /* wait4 with rusage, wait with NULL status. */
    c = MUST(fork());
    if (c == 0) _exit(2);
    struct rusage ru;
    int st;
    CHECK(wait4(c, &st, 0, &ru) == c && WEXITSTATUS(st) == 2, "wait4 with rusage");
    c = MUST(fork());
    if (c == 0) _exit(2);
    CHECK(waitpid(c, NULL, 0) == c, "waitpid with NULL status");
    CHECK_ERR(waitpid(-1, NULL, 0), ECHILD, "ECHILD with no children");
    CHECK_ERR(waitpid(getpid(), NULL, 0), ECHILD, "waiting for oneself");
    CHECK_ERR(waitpid(-1, NULL, 0x40000), EINVAL, "bad options");
    CHECK_ERR(wait4(-1, (int *)8, WNOHANG, NULL), ECHILD, "bad status pointer, no children");
    c = MUST(fork());
    if (c == 0) _exit(0);
    CHECK_ERR(wait4(c, (int *)8, 0, NULL), EFAULT, "bad status pointer");
    waitpid(c, NULL, 0);
}

static void wait_nohang(void) {
    int pfd[2];
    MUST(pipe(pfd));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        char x;
        close(pfd[1]);
        read(pfd[0], &x, 1);
        _exit(6);
    }
    int st = 12345;
    CHECK(waitpid(c, &st, WNOHANG) == 0, "WNOHANG while the child runs returns 0");
    CHECK(st == 12345, "status untouched");
    siginfo_t si;
    memset(&si, 0xff, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0, "waitid WNOHANG zeroes si_pid");
    close(pfd[1]);
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 6, "blocking wait returns the child");
    CHECK_ERR(waitpid(c, &st, WNOHANG), ECHILD, "reaped child is gone");
}

static void waitid_nowait(void) {
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) _exit(17);
    siginfo_t si = {0};
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOWAIT) == 0, "waitid WNOWAIT");
    CHECK(si.si_pid == c && si.si_code == CLD_EXITED && si.si_status == 17 && si.si_signo == SIGCHLD,
          "siginfo: pid, CLD_EXITED, status 17");
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == c, "still waitable via P_ALL");
    int st;
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 17, "then reaped by waitpid");
    /* killed child through waitid */
    c = MUST(fork());
    if (c == 0) {
        raise(SIGKILL);
        _exit(0);
    }
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED) == 0 && si.si_code == CLD_KILLED && si.si_status == SIGKILL,
          "CLD_KILLED with signal number");
    CHECK_ERR(waitid(P_PID, c, &si, 0), EINVAL, "waitid without WEXITED/WSTOPPED/WCONTINUED");
    CHECK_ERR(waitid(7, 0, &si, WEXITED), EINVAL, "bad idtype");
}

static void waitid_pgid(void) {
    int pfd[2];
    MUST(pipe(pfd));
    fflush(stdout);
    pid_t a = MUST(fork());
    if (a == 0) {
        char x;
        close(pfd[1]);
        setpgid(0, 0);
        read(pfd[0], &x, 1);
        _exit(1);
    }
    setpgid(a, a); /* both sides, to avoid the race */
    pid_t b = MUST(fork());
    if (b == 0) {
        char x;
        close(pfd[1]);
        setpgid(0, a);
        read(pfd[0], &x, 1);
        _exit(2);
    }
    setpgid(b, a);
    pid_t o = MUST(fork());
    if (o == 0) {
        char x;
        close(pfd[1]);
        read(pfd[0], &x, 1);
        _exit(3);
    }
    CHECK(getpgid(b) == a, "second child joined the first one's group");
    CHECK(getpgid(o) == getpgrp(), "third child stays in our group");
    close(pfd[1]);
    int got = 0;
    for (int i = 0; i < 2; i++) {
        siginfo_t si = {0};
        CHECK(waitid(P_PGID, a, &si, WEXITED) == 0, "waitid P_PGID");
        got |= 1 << si.si_status;
    }
    CHECK(got == 6, "P_PGID reaped exactly the group's two members");
    int st;
    CHECK(waitpid(-getpgrp(), &st, 0) == o && WEXITSTATUS(st) == 3, "waitpid(-pgrp) reaps the third");
    /* waitpid(0) waits for our own group */
    pid_t d = MUST(fork());
    if (d == 0) _exit(4);
    CHECK(waitpid(0, &st, 0) == d && WEXITSTATUS(st) == 4, "waitpid(0) for a same-group child");
}

static void wait_stop_cont(void) {
    int go[2];
    MUST(pipe(go));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        char x;
        close(go[1]);
        raise(SIGSTOP);
        read(go[0], &x, 1); /* stay alive until the parent saw the continue */
        _exit(8);
    }
    close(go[0]);
    int st;
    CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "WUNTRACED sees the stop");
    CHECK(waitpid(c, &st, WNOHANG | WUNTRACED) == 0, "stop is reported once");
    siginfo_t si = {0};
    MUST(kill(c, SIGCONT));
    CHECK(waitid(P_PID, c, &si, WCONTINUED) == 0 && si.si_code == CLD_CONTINUED, "WCONTINUED sees the continue");
    close(go[1]);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 8, "then it exits");
    /* SIGTSTP default action stops too; a stopped child killed by SIGKILL. */
    c = MUST(fork());
    if (c == 0) {
        raise(SIGTSTP);
        _exit(9);
    }
    CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTSTP, "SIGTSTP stops");
    memset(&si, 0, sizeof si);
    /* waitid WSTOPPED after it was already reported by waitpid: nothing */
    CHECK(waitid(P_PID, c, &si, WSTOPPED | WNOHANG) == 0 && si.si_pid == 0, "stop already consumed");
    kill(c, SIGKILL);
    say("stopped child killed: %s", wait_child(c));
}

static int clone_child(void *a) {
    (void)a;
    return 12;
}

static void wait_clone(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    char *stk = MUSTP(mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    /* A child whose exit signal is not SIGCHLD is a "clone" child. */
    pid_t c = clone(clone_child, stk + (1 << 16), 0, NULL);
    CHECK(c > 0, "clone with exit signal 0");
    int st;
    CHECK_ERR(waitpid(c, &st, 0), ECHILD, "plain waitpid ignores clone children");
    CHECK(waitpid(c, &st, __WALL) == c && WEXITSTATUS(st) == 12, "__WALL reaps it");
    c = clone(clone_child, stk + (1 << 16), SIGUSR2, NULL);
    CHECK(waitpid(c, &st, __WCLONE) == c && WEXITSTATUS(st) == 12, "__WCLONE reaps exit-signal SIGUSR2 child");
}

static volatile sig_atomic_t chld_code, chld_status, chld_pid_ok, chld_count;
static pid_t chld_expect;
static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    chld_count++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid_ok = si->si_pid == chld_expect;
}

static void sigchld_info(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    MUST(sigaction(SIGCHLD, &sa, NULL));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) _exit(21);
    chld_expect = c;
    int st;
    waitpid(c, &st, 0);
    sigsuspend(&old);
    CHECK(chld_count == 1 && chld_code == CLD_EXITED && chld_status == 21 && chld_pid_ok,
          "SIGCHLD with CLD_EXITED, status and pid");
    /* SIG_IGN on SIGCHLD: children are reaped automatically. */
    signal(SIGCHLD, SIG_IGN);
    sigprocmask(SIG_SETMASK, &old, NULL);
    c = MUST(fork());
    if (c == 0) _exit(0);
    CHECK_ERR(waitpid(c, &st, 0), ECHILD, "with SIGCHLD ignored, wait finds no zombie");
    /* SA_NOCLDSTOP: no SIGCHLD for stops. */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    chld_count = 0;
    c = MUST(fork());
    if (c == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    chld_expect = c;
    waitpid(c, &st, WUNTRACED);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    CHECK(chld_count <= 1 && chld_code == CLD_KILLED, "SA_NOCLDSTOP: only the death is signalled");
}

static void sessions(void) {
    int pfd[2];
    MUST(pipe(pfd));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        char r[8] = "nnnnnnn";
        pid_t me = getpid();
        r[0] = setsid() == me ? 'y' : 'n';
        r[1] = getsid(0) == me ? 'y' : 'n';
        r[2] = getpgrp() == me ? 'y' : 'n';
        r[3] = (setsid() == -1 && errno == EPERM) ? 'y' : 'n';
        r[4] = (setpgid(0, 0) == -1 && errno == EPERM) ? 'y' : 'n'; /* session leader */
        pid_t g = fork();
        if (g == 0) {
            /* grandchild: same session, can make its own group */
            int ok = getsid(0) == me && setpgid(0, 0) == 0 && getpgrp() == getpid();
            _exit(ok ? 0 : 1);
        }
        int st;
        waitpid(g, &st, 0);
        r[5] = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 'y' : 'n';
        r[6] = (open("/dev/tty", O_RDWR) == -1) ? 'y' : 'n'; /* no controlling terminal */
        write(pfd[1], r, 7);
        _exit(0);
    }
    char r[8] = {0};
    MUST(read(pfd[0], r, 7));
    wait_child(c);
    CHECK(r[0] == 'y', "setsid returns the new session id");
    CHECK(r[1] == 'y' && r[2] == 'y', "getsid/getpgrp in the new session");
    CHECK(r[3] == 'y', "setsid as group leader fails with EPERM");
    CHECK(r[4] == 'y', "setpgid as session leader fails with EPERM");
    CHECK(r[5] == 'y', "grandchild makes its own group");
    CHECK(r[6] == 'y', "new session has no controlling terminal");
    CHECK(getpgid(0) == getpgrp(), "getpgid(0) == getpgrp()");
    /* The session may be 0 when the runner was started outside any session. */
    CHECK(getsid(0) >= 0 && getsid(0) == getsid(getpid()), "getsid(0)");
    CHECK_ERR(getpgid(0x3ffffff0), ESRCH, "getpgid of a missing process");
    CHECK_ERR(getsid(0x3ffffff0), ESRCH, "getsid of a missing process");
    CHECK_ERR(setpgid(0x3ffffff0, 0), ESRCH, "setpgid of a non-child");
    CHECK_ERR(setpgid(0, -1), EINVAL, "negative pgid");
    /* After exec, the parent can no longer setpgid the child. A CLOEXEC
     * pipe tells us when the exec happened: its write end closes. */
    int ex[2];
    MUST(pipe2(ex, O_CLOEXEC));
    c = MUST(fork());
    if (c == 0) {
        close(pfd[1]);
        close(ex[0]);
        dup2(pfd[0], 0);
        execl("/bin/sh", "sh", "-c", "read x", (char *)NULL);
        _exit(1);
    }
    close(ex[1]);
    char exb;
    CHECK(read(ex[0], &exb, 1) == 0, "exec closed the CLOEXEC pipe");
    CHECK_ERR(setpgid(c, c), EACCES, "setpgid of a child after it exec'd");
    kill(c, SIGKILL);
    wait_child(c);
}

static atomic_int fw, fw_ready, fw_woken;
static void *futex_waiter(void *arg) {
    atomic_int *f = arg;
    atomic_fetch_add(&fw_ready, 1);
    while (atomic_load(f) == 0) futex(f, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_fetch_add(&fw_woken, 1);
    return NULL;
}

static void futex_basic(void) {
    atomic_int v = 5;
    CHECK_ERR(futex(&v, FUTEX_WAIT, 4, NULL, NULL, 0), EAGAIN, "WAIT with a stale value");
    struct timespec ts = {0, 20 * 1000 * 1000};
    CHECK_ERR(futex(&v, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0), ETIMEDOUT, "WAIT times out");
    CHECK(futex(&v, FUTEX_WAKE, 1, NULL, NULL, 0) == 0, "WAKE with no waiters returns 0");
    CHECK_ERR(futex((atomic_int *)8, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT, "WAIT on a bad address");
    CHECK_ERR(futex((atomic_int *)((char *)&v + 1), FUTEX_WAIT, 0, NULL, NULL, 0), EINVAL, "unaligned futex");
    CHECK_ERR(futex(&v, 99, 0, NULL, NULL, 0), ENOSYS, "unknown futex op");
    struct timespec bad = {0, 2000000000};
    CHECK_ERR(futex(&v, FUTEX_WAIT, 5, &bad, NULL, 0), EINVAL, "bad timeout");
    CHECK_ERR(futex(&v, FUTEX_WAIT_BITSET, 5, NULL, NULL, 0), EINVAL, "WAIT_BITSET with bitset 0");
    struct timespec past = {1, 0}; /* absolute CLOCK_MONOTONIC: long ago */
    CHECK_ERR(futex(&v, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 5, &past, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT,
              "WAIT_BITSET with an absolute deadline in the past");
    /* A thread waits, we wake it. */
    pthread_t t;
    pthread_create(&t, NULL, futex_waiter, &fw);
    while (atomic_load(&fw_ready) == 0) sched_yield();
    atomic_store(&fw, 1);
    long woke = 0;
    while (atomic_load(&fw_woken) == 0) woke += futex(&fw, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(t, NULL);
    CHECK(woke <= 1, "WAKE woke at most one waiter");
    /* WAKE_BITSET with a bitset that matches nobody wakes nobody. */
    CHECK(futex(&v, FUTEX_WAKE_BITSET, 1, NULL, NULL, 1) == 0, "WAKE_BITSET with no waiters");
    /* WAKE_OP: *uaddr2 += 5, wake uaddr2's waiters if old value == 0. */
    atomic_int a = 0, b = 0;
    long r = futex(&a, FUTEX_WAKE_OP, 1, (struct timespec *)1, &b, FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0));
    CHECK(r == 0 && b == 5, "WAKE_OP applied ADD 5 to uaddr2 (r=%ld b=%d)", r, (int)b);
    r = futex(&a, FUTEX_WAKE_OP, 1, (struct timespec *)1, &b, FUTEX_OP(FUTEX_OP_OR, 2, FUTEX_OP_CMP_GT, 100));
    CHECK(r == 0 && b == 7, "WAKE_OP OR 2");
    r = futex(&a, FUTEX_WAKE_OP, 1, (struct timespec *)1, &b, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0));
    CHECK(r == 0 && b == 1, "WAKE_OP SET 1");
}

static atomic_int rq1, rq2, rq_ready, rq_done;
static void *rq_waiter(void *arg) {
    (void)arg;
    atomic_fetch_add(&rq_ready, 1);
    /* rq2 becomes 1 when we may go. */
    while (atomic_load(&rq2) == 0) futex(&rq1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_fetch_add(&rq_done, 1);
    return NULL;
}

static void futex_requeue(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, rq_waiter, NULL);
    while (atomic_load(&rq_ready) < 3) sched_yield();
    /* Move every waiter from rq1 to rq2, waking none. Waiters that have not
     * yet slept will sleep on rq1 and be moved in a later round. */
    long moved = 0;
    for (int round = 0; moved < 3 && round < 1000000; round++) {
        long r = futex(&rq1, FUTEX_CMP_REQUEUE_PRIVATE, 0, (struct timespec *)(long)INT_MAX, &rq2, 0);
        if (r > 0) moved += r;
        else sched_yield();
    }
    CHECK(moved == 3, "CMP_REQUEUE moved 3 waiters");
    CHECK_ERR(futex(&rq1, FUTEX_CMP_REQUEUE_PRIVATE, 0, (struct timespec *)1, &rq2, 42), EAGAIN,
              "CMP_REQUEUE with a stale value");
    atomic_store(&rq2, 1);
    long woken = futex(&rq1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    CHECK(woken == 0, "nobody waits on the old futex");
    woken = 0;
    while (woken < 3) woken += futex(&rq2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    CHECK(woken == 3 && rq_done == 3, "WAKE on the new futex woke all 3");
    /* Plain REQUEUE, nobody waiting. */
    CHECK(futex(&rq1, FUTEX_REQUEUE_PRIVATE, 1, (struct timespec *)1, &rq2, 0) == 0, "REQUEUE with no waiters");
}

static void futex_shared(void) {
    atomic_int *f = MUSTP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    f[0] = 0; /* value */
    f[1] = 0; /* child ready */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        atomic_store(&f[1], 1);
        while (atomic_load(&f[0]) == 0) futex(&f[0], FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(atomic_load(&f[0]));
    }
    while (atomic_load(&f[1]) == 0) sched_yield();
    atomic_store(&f[0], 77);
    int st;
    for (;;) {
        futex(&f[0], FUTEX_WAKE, 1, NULL, NULL, 0);
        pid_t w = waitpid(c, &st, WNOHANG);
        if (w == c) break;
        sched_yield();
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 77, "shared futex across fork woke the child");
}

static void rlimits(void) {
    struct rlimit rl, old;
    MUST(getrlimit(RLIMIT_NOFILE, &old));
    rl.rlim_cur = 64;
    rl.rlim_max = old.rlim_max;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "lower RLIMIT_NOFILE soft limit to 64");
    int last = -1;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) break;
        last = fd;
    }
    CHECK(errno == EMFILE, "open fails with EMFILE at the limit");
    say("highest fd opened %d", last);
    CHECK_ERR(dup2(0, 64), EBADF, "dup2 to an fd beyond the limit");
    CHECK_ERR(fcntl(0, F_DUPFD, 64), EINVAL, "F_DUPFD beyond the limit");
    for (int fd = 3; fd <= last; fd++) close(fd);
    struct rlimit got;
    CHECK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &got) == 0 && got.rlim_cur == 64, "prlimit64 reads it back");
    struct rlimit nl = {100, old.rlim_max};
    CHECK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nl, &got) == 0 && got.rlim_cur == 64, "prlimit64 set returns old");
    rl.rlim_cur = 10;
    rl.rlim_max = 5;
    CHECK_ERR(setrlimit(RLIMIT_NOFILE, &rl), EINVAL, "soft above hard");
    CHECK_ERR(setrlimit(99, &rl), EINVAL, "unknown resource");
    CHECK_ERR(syscall(SYS_getrlimit, RLIMIT_NOFILE, 8), EFAULT, "bad pointer");
    CHECK(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur >= 8192 * 1024UL, "RLIMIT_STACK readable");
    rl.rlim_cur = rl.rlim_max = 0;
    CHECK(setrlimit(RLIMIT_CORE, &rl) == 0, "RLIMIT_CORE 0");
    /* RLIMIT_FSIZE: write beyond gets SIGXFSZ / EFBIG. */
    signal(SIGXFSZ, SIG_IGN);
    rl.rlim_cur = rl.rlim_max = 1000;
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        setrlimit(RLIMIT_FSIZE, &rl);
        int fd = open(tpath("fsize"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        char buf[1500] = {0};
        ssize_t w1 = write(fd, buf, 1500);
        ssize_t w2 = write(fd, buf, 10);
        _exit(w1 == 1000 && w2 == -1 && errno == EFBIG ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0"), "RLIMIT_FSIZE: short write, then EFBIG");
    /* Limits are inherited across fork. */
    c = MUST(fork());
    if (c == 0) {
        struct rlimit r;
        getrlimit(RLIMIT_NOFILE, &r);
        _exit(r.rlim_cur == 100 ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0"), "rlimit inherited by the child");
}

static void rusage_times(void) {
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss > 0, "getrusage(SELF) with maxrss");
    CHECK(getrusage(RUSAGE_THREAD, &ru) == 0, "getrusage(THREAD)");
    CHECK_ERR(getrusage(5, &ru), EINVAL, "bad who");
    CHECK_ERR(getrusage(RUSAGE_SELF, (struct rusage *)8), EFAULT, "bad pointer");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        /* Burn a little CPU: 100 ms of user time. */
        struct timespec a, b;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        do clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 100000000L);
        _exit(0);
    }
    wait_child(c);
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0, "getrusage(CHILDREN)");
    long us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
    CHECK(us >= 50000, "children's CPU time counted (>= 50 ms)");
    struct tms t;
    clock_t r = times(&t);
    CHECK(r != (clock_t)-1, "times");
    CHECK(t.tms_cutime + t.tms_cstime >= 5, "times: children's time in ticks");
}

static void uname_case(void) {
    struct utsname u;
    CHECK(uname(&u) == 0, "uname");
    say("sysname %s machine %s", u.sysname, u.machine);
    CHECK(strlen(u.release) > 0 && strlen(u.nodename) > 0 && strlen(u.version) > 0, "release/nodename/version set");
    CHECK_ERR(uname((struct utsname *)8), EFAULT, "bad pointer");
    char hn[65];
    CHECK(gethostname(hn, sizeof hn) == 0 && !strcmp(hn, u.nodename), "gethostname matches nodename");
}

static void identity(void) {
    say("uid %d euid %d gid %d egid %d", getuid(), geteuid(), getgid(), getegid());
    uid_t r, e, s;
    CHECK(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid(), "getresuid");
    gid_t rg, eg, sg;
    CHECK(getresgid(&rg, &eg, &sg) == 0 && rg == getgid(), "getresgid");
    CHECK(setresuid(-1, -1, -1) == 0, "setresuid(-1,-1,-1)");
    CHECK(setuid(getuid()) == 0, "setuid to self");
    CHECK(getgroups(0, NULL) >= 0, "getgroups count");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        /* As root: drop to 1000 and check everything follows. */
        char res[8] = "nnnnnnn";
        gid_t g[2] = {5, 6};
        res[0] = setgroups(2, g) == 0 ? 'y' : 'n';
        gid_t got[4] = {0};
        res[1] = getgroups(4, got) == 2 && got[0] == 5 && got[1] == 6 ? 'y' : 'n';
        res[2] = setresgid(1000, 1000, 1000) == 0 && getgid() == 1000 && getegid() == 1000 ? 'y' : 'n';
        res[3] = setresuid(1000, 1000, 1000) == 0 && getuid() == 1000 && geteuid() == 1000 ? 'y' : 'n';
        res[4] = setuid(0) == -1 && errno == EPERM ? 'y' : 'n';
        res[5] = setgroups(0, NULL) == -1 && errno == EPERM ? 'y' : 'n';
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        res[6] = syscall(SYS_capget, &h, d) == 0 && d[0].effective == 0 ? 'y' : 'n';
        say("as uid 1000: %s", res);
        _exit(0);
    }
    if (getuid() == 0) {
        wait_child(c);
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        CHECK(syscall(SYS_capget, &h, d) == 0, "capget");
        CHECK(syscall(SYS_capset, &h, d) == 0, "capset to the same set");
        h.version = 0x12345;
        CHECK_ERR(syscall(SYS_capget, &h, d), EINVAL, "capget with a bad version");
        CHECK(h.version == _LINUX_CAPABILITY_VERSION_3, "kernel writes back its preferred version");
    }
    /* seteuid and back */
    c = MUST(fork());
    if (c == 0) {
        int ok = seteuid(1234) == 0 && geteuid() == 1234 && getuid() == 0 && seteuid(0) == 0 && geteuid() == 0;
        _exit(ok ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0"), "seteuid away and back (saved uid)");
}

static void sched_case(void) {
    CHECK(sched_yield() == 0, "sched_yield");
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1, "sched_getaffinity");
    CHECK(sched_setaffinity(0, sizeof set, &set) == 0, "sched_setaffinity to the same set");
    long r = syscall(SYS_sched_getaffinity, 0, 1, &set);
    CHECK(r == -1 && errno == EINVAL, "getaffinity with a too-small buffer");
    CHECK(sched_getscheduler(0) == SCHED_OTHER, "SCHED_OTHER");
    struct sched_param sp;
    CHECK(sched_getparam(0, &sp) == 0 && sp.sched_priority == 0, "priority 0");
    CHECK(sched_get_priority_max(SCHED_OTHER) == 0, "priority max for SCHED_OTHER");
    CHECK_ERR(sched_getscheduler(0x3ffffff0), ESRCH, "missing pid");
    CHECK(getpriority(PRIO_PROCESS, 0) >= -20, "getpriority");
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0 && si.mem_unit >= 1 && si.totalram > 0 && si.procs > 0, "sysinfo");
    CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1, "online CPUs");
}

static void getrandom_case(void) {
    unsigned char b[64] = {0};
    CHECK(getrandom(b, sizeof b, 0) == sizeof b, "getrandom 64 bytes");
    int nz = 0;
    for (int i = 0; i < 64; i++) nz |= b[i];
    CHECK(nz, "not all zero");
    CHECK(getrandom(b, 16, GRND_NONBLOCK) == 16, "GRND_NONBLOCK");
    CHECK(getrandom(b, 16, GRND_RANDOM) == 16, "GRND_RANDOM");
    CHECK_ERR(getrandom(b, 16, 0x100), EINVAL, "bad flags");
    void *volatile bad = (void *)8;
    CHECK_ERR(getrandom(bad, 16, 0), EFAULT, "bad buffer");
    CHECK(getrandom(b, 0, 0) == 0, "zero length");
}

static void prctl_case(void) {
    char name[32] = {0};
    CHECK(prctl(PR_SET_NAME, "moat-test-name-long-truncated") == 0, "PR_SET_NAME");
    CHECK(prctl(PR_GET_NAME, name) == 0, "PR_GET_NAME");
    say("name '%s'", name);
    char comm[32] = {0};
    int fd = open("/proc/self/comm", O_RDONLY);
    if (fd >= 0) {
        read(fd, comm, sizeof comm - 1);
        close(fd);
    }
    say("/proc/self/comm '%.*s'", (int)strcspn(comm, "\n"), comm);
    int sig = -1;
    CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0, "PR_SET_PDEATHSIG");
    CHECK(prctl(PR_GET_PDEATHSIG, &sig) == 0 && sig == SIGUSR1, "PR_GET_PDEATHSIG");
    prctl(PR_SET_PDEATHSIG, 0);
    CHECK_ERR(prctl(PR_SET_PDEATHSIG, 1000), EINVAL, "bad signal");
    CHECK(prctl(PR_GET_DUMPABLE) == 1, "dumpable by default");
    CHECK(prctl(PR_SET_DUMPABLE, 0) == 0 && prctl(PR_GET_DUMPABLE) == 0, "PR_SET_DUMPABLE 0");
    prctl(PR_SET_DUMPABLE, 1);
    CHECK_ERR(prctl(PR_SET_DUMPABLE, 5), EINVAL, "bad dumpable value");
    int sub = -1;
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &sub) == 0 && sub == 0, "not a subreaper");
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &sub) == 0 && sub == 1, "now a subreaper");
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "no_new_privs off");
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "PR_SET_NO_NEW_PRIVS");
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs on");
    CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL, "cannot clear no_new_privs");
    CHECK(prctl(PR_GET_SECCOMP) == 0, "PR_GET_SECCOMP: no filter");
    CHECK_ERR(prctl(9999), EINVAL, "unknown option");
    CHECK(prctl(PR_GET_TIMERSLACK) >= 0, "PR_GET_TIMERSLACK");
    /* Children inherit the name at fork. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        char n[32] = {0};
        prctl(PR_GET_NAME, n);
        _exit(!strcmp(n, name) ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0"), "name inherited at fork");
}

static void arch_prctl_case(void) {
    unsigned long fs = 0;
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0, "ARCH_GET_FS");
    unsigned long self;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
    CHECK(fs == self, "FS base is the thread pointer");
    unsigned long gs = 1;
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) == 0 && gs == 0, "ARCH_GET_GS is 0");
    CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL, "unknown code");
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, 8), EFAULT, "bad pointer");
    /* Set GS to a buffer and read through it. */
    static unsigned long gsbuf[2] = {0x1122334455667788UL, 0};
    CHECK(syscall(SYS_arch_prctl, ARCH_SET_GS, gsbuf) == 0, "ARCH_SET_GS");
    unsigned long v;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(v));
    CHECK(v == gsbuf[0], "read through %%gs");
    syscall(SYS_arch_prctl, ARCH_SET_GS, 0);
}

static void robust_list(void) {
    void *head = NULL;
    size_t len = 0;
    CHECK(syscall(SYS_get_robust_list, 0, &head, &len) == 0, "get_robust_list");
    CHECK(len == 24, "robust list head length 24 (len=%zu)", len);
    CHECK_ERR(syscall(SYS_set_robust_list, head, 7), EINVAL, "set_robust_list with a bad length");
    CHECK(syscall(SYS_set_robust_list, head, 24) == 0, "set_robust_list");
    CHECK_ERR(syscall(SYS_get_robust_list, 0x3ffffff0, &head, &len), ESRCH, "get_robust_list of a missing tid");
    /* A robust mutex held by a dying process is recovered with EOWNERDEAD. */
    pthread_mutex_t *m = MUSTP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        pthread_mutex_lock(m);
        _exit(0); /* dies holding it */
    }
    wait_child(c);
    int r = pthread_mutex_lock(m);
    CHECK(r == EOWNERDEAD, "lock after the owner died: EOWNERDEAD (got %s)", ename(r));
    pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);
}

static void *exec_from_thread(void *arg) {
    (void)arg;
    char *argv[] = {"/bin/echo", "exec from a thread", NULL};
    execv("/bin/echo", argv);
    return NULL;
}

static void *spin_thread(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static void exec_thread(void) {
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        pthread_t t[4];
        for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, spin_thread, NULL);
        pthread_create(&t[3], NULL, exec_from_thread, NULL);
        for (;;) pause();
    }
    say("child whose thread exec'd: %s", wait_child(c));
}

static void show_exec_state(void) {
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    say("SIGUSR1 %s", sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ? "ignored" : "handled");
    sigaction(SIGUSR2, NULL, &sa);
    say("SIGUSR2 %s", sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ? "ignored" : "handled");
    sigset_t m;
    sigprocmask(SIG_SETMASK, NULL, &m);
    say("SIGHUP %s", sigismember(&m, SIGHUP) ? "blocked" : "unblocked");
    say("fd 10 %s", fcntl(10, F_GETFD) == -1 ? "closed" : "open");
    say("fd 11 %s", fcntl(11, F_GETFD) == -1 ? "closed" : "open");
    stack_t ss;
    sigaltstack(NULL, &ss);
    say("altstack %s", ss.ss_flags & SS_DISABLE ? "disabled" : "enabled");
    char name[32] = {0};
    prctl(PR_GET_NAME, name);
    say("comm %s", name);
}

static void usr1(int s) { (void)s; }

static void exec_state(void) {
    signal(SIGUSR1, usr1);
    signal(SIGUSR2, SIG_IGN);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGHUP);
    sigprocmask(SIG_BLOCK, &m, NULL);
    MUST(dup2(1, 10));
    MUST(dup3(1, 11, O_CLOEXEC));
    stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        execl(t_prog, "procs-exec", "show_exec_state", (char *)NULL);
        _exit(127);
    }
    say("exec: %s", wait_child(c));
}

static void pdeathsig(void) {
    /* We become a subreaper so the orphaned grandchild comes back to us. */
    MUST(prctl(PR_SET_CHILD_SUBREAPER, 1));
    int hold[2], ready[2];
    MUST(pipe(hold));
    MUST(pipe(ready));
    fflush(stdout);
    pid_t mid = MUST(fork());
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) {
            close(hold[0]);
            close(ready[0]);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            write(ready[1], "r", 1);
            for (;;) pause();
        }
        char x;
        close(ready[1]);
        read(ready[0], &x, 1);
        _exit(0);
    }
    close(hold[1]);
    close(ready[1]);
    say("middle %s", wait_child(mid));
    alarm(20);
    char x;
    ssize_t r = read(hold[0], &x, 1); /* EOF once the grandchild died */
    CHECK(r == 0, "grandchild died when its parent exited");
    int st;
    pid_t g = wait(&st);
    CHECK(g > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "reaped by the subreaper, killed by SIGKILL");
    alarm(0);
}

static void enosys(void) {
    CHECK_ERR(syscall(1000), ENOSYS, "syscall 1000");
    CHECK_ERR(syscall(-1), ENOSYS, "syscall -1");
    CHECK_ERR(syscall(100000), ENOSYS, "syscall 100000");
    CHECK_ERR(syscall(0x40000000 | SYS_getpid), ENOSYS, "x32 getpid (x32 ABI off)");
    CHECK_ERR(syscall(SYS_create_module), ENOSYS, "create_module (removed)");
    CHECK(syscall(SYS_getpid) == getpid(), "kernel still serves getpid");
}

int main(int argc, char **argv) {
    static const struct tcase cases[] = {
        CASE(fork_tree),    CASE(vfork_exec),   CASE(clone_threads),  CASE(thread_ids),      CASE(clone3_case),
        CASE(wait_status),  CASE(wait_nohang),  CASE(waitid_nowait),  CASE(waitid_pgid),     CASE(wait_stop_cont),
        CASE(wait_clone),   CASE(sigchld_info), CASE(sessions),       CASE(futex_basic),     CASE(futex_requeue),
        CASE(futex_shared), CASE(rlimits),      CASE(rusage_times),   CASE(uname_case),      CASE(identity),
        CASE(sched_case),   CASE(getrandom_case), CASE(prctl_case),   CASE(arch_prctl_case), CASE(robust_list),
        CASE(exec_thread),  CASE(exec_state),   CASE(show_exec_state), CASE(pdeathsig),      CASE(enosys), {0, 0}};
    return run_cases(cases, argc, argv);
}
