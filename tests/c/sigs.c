/* Signals: handlers and siginfo, masks and pending sets, the signal frame,
 * sigaltstack, synchronous faults, waiting for signals, EINTR/SA_RESTART and
 * default actions. */
#include "t.h"
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <pthread.h>
#include <stdatomic.h>

static volatile sig_atomic_t hits;
static volatile int last_signo, last_code, last_errno_seen;
static volatile pid_t last_pid;
static volatile uid_t last_uid;
static volatile int last_value;
static void *volatile last_addr;
static sigjmp_buf jb;

static volatile int seqlog[32];
static volatile int nlog;
static void on_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    if (nlog < 16) {
        seqlog[nlog * 2] = si->si_signo;
        seqlog[nlog * 2 + 1] = si->si_value.sival_int;
        nlog++;
    }
    last_signo = si->si_signo;
    last_code = si->si_code;
    last_pid = si->si_pid;
    last_uid = si->si_uid;
    last_value = si->si_value.sival_int;
    last_addr = si->si_addr;
    (void)sig;
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa = {0};
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    MUST(sigaction(sig, &sa, NULL));
}

static void siginfo_case(void) {
    handle(SIGUSR1, on_info, 0);
    hits = 0;
    MUST(kill(getpid(), SIGUSR1));
    CHECK(hits == 1 && last_signo == SIGUSR1 && last_code == SI_USER, "kill: SI_USER");
    CHECK(last_pid == getpid() && last_uid == getuid(), "kill: si_pid and si_uid are the sender's");
    union sigval v = {.sival_int = 1234};
    MUST(sigqueue(getpid(), SIGUSR1, v));
    CHECK(hits == 2 && last_code == SI_QUEUE && last_value == 1234, "sigqueue: SI_QUEUE with the value");
    MUST(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1));
    CHECK(hits == 3 && last_code == SI_TKILL, "tgkill: SI_TKILL");
    MUST(syscall(SYS_tkill, gettid(), SIGUSR1));
    CHECK(hits == 4 && last_code == SI_TKILL, "tkill: SI_TKILL");
    MUST(raise(SIGUSR1));
    CHECK(hits == 5, "raise");
    siginfo_t si = {0};
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 99;
    si.si_pid = getpid();
    si.si_uid = getuid();
    MUST(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
    CHECK(hits == 6 && last_value == 99 && last_code == SI_QUEUE, "rt_sigqueueinfo");
    MUST(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &si));
    CHECK(hits == 7 && last_value == 99, "rt_tgsigqueueinfo");
    CHECK(kill(getpid(), 0) == 0, "kill(pid, 0) probes");
    CHECK_ERR(kill(0x3ffffff0, SIGUSR1), ESRCH, "kill a missing process");
    CHECK_ERR(kill(getpid(), 65), EINVAL, "kill with signal 65");
    CHECK_ERR(syscall(SYS_tgkill, getpid() + 100000, gettid(), SIGUSR1), ESRCH, "tgkill with a wrong tgid");
    CHECK_ERR(syscall(SYS_tgkill, getpid(), -1, SIGUSR1), EINVAL, "tgkill with tid -1");
    CHECK_ERR(sigaction(SIGKILL, &(struct sigaction){0}, NULL), EINVAL, "sigaction(SIGKILL)");
    CHECK_ERR(sigaction(SIGSTOP, &(struct sigaction){0}, NULL), EINVAL, "sigaction(SIGSTOP)");
    CHECK_ERR(sigaction(0, NULL, NULL), EINVAL, "sigaction(0)");
    CHECK_ERR(sigaction(65, NULL, NULL), EINVAL, "sigaction(65)");
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4), EINVAL, "rt_sigaction with sigsetsize 4");
    /* Process-group kill reaches us. */
    hits = 0;
    setpgid(0, 0); /* our own group, so that nobody else gets it */
    MUST(kill(0, SIGUSR1));
    CHECK(hits == 1, "kill(0, sig) reaches the caller");
    struct sigaction old;
    MUST(sigaction(SIGUSR1, NULL, &old));
    CHECK(old.sa_sigaction == on_info && (old.sa_flags & SA_SIGINFO), "sigaction reads back the handler");
}

static void mask_pending(void) {
    handle(SIGUSR1, on_info, 0);
    handle(SIGRTMIN, on_info, 0);
    sigset_t m, old, pend;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGRTMIN);
    MUST(sigprocmask(SIG_BLOCK, &m, &old));
    hits = 0;
    raise(SIGUSR1);
    raise(SIGUSR1);
    CHECK(hits == 0, "blocked signal not delivered");
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2), "sigpending shows SIGUSR1 only");
    for (int i = 1; i <= 3; i++) sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i});
    static int order[8];
    (void)order;
    nlog = 0;
    MUST(sigprocmask(SIG_UNBLOCK, &m, NULL));
    CHECK(hits == 4, "standard signal merged (1), real-time queued (3): %d", (int)hits);
    char b[128] = {0};
    for (int i = 0; i < nlog; i++)
        sprintf(b + strlen(b), "%s%s", seqlog[2 * i] == SIGUSR1 ? "USR1" : "RTMIN",
                seqlog[2 * i] == SIGUSR1 ? " " : seqlog[2 * i + 1] == 1 ? "/1 " : seqlog[2 * i + 1] == 2 ? "/2 " : "/3 ");
    say("handlers ran in this order: %s", b);
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGUSR1), "nothing pending after unblock");
    /* SIGKILL and SIGSTOP cannot be blocked. */
    sigfillset(&m);
    MUST(sigprocmask(SIG_SETMASK, &m, NULL));
    sigset_t cur;
    MUST(sigprocmask(SIG_SETMASK, NULL, &cur));
    CHECK(!sigismember(&cur, SIGKILL) && !sigismember(&cur, SIGSTOP) && sigismember(&cur, SIGTERM),
          "full mask minus SIGKILL and SIGSTOP");
    MUST(sigprocmask(SIG_SETMASK, &old, NULL));
    CHECK_ERR(sigprocmask(99, &m, NULL), EINVAL, "bad how");
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, NULL, 4), EINVAL, "bad sigsetsize");
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 8, NULL, 8), EFAULT, "bad set pointer");
    /* Ignoring a pending signal discards it. */
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    raise(SIGUSR2);
    signal(SIGUSR2, SIG_IGN);
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGUSR2), "setting SIG_IGN discards a pending signal");
    /* Mask and pending across fork: mask inherited, pending not. */
    signal(SIGUSR2, SIG_DFL);
    raise(SIGUSR2);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        sigset_t p, k;
        sigpending(&p);
        sigprocmask(SIG_SETMASK, NULL, &k);
        _exit(!sigismember(&p, SIGUSR2) && sigismember(&k, SIGUSR2) ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0"), "child inherits the mask, not the pending set");
    signal(SIGUSR2, SIG_IGN);
}

static volatile int seq[16];
static volatile int nseq;
static void nest_usr2(int s) {
    (void)s;
    seq[nseq++] = 2;
}
static void nest_usr1(int s) {
    (void)s;
    seq[nseq++] = 1;
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    seq[nseq++] = sigismember(&cur, SIGUSR1) ? 10 : 11; /* 10: own signal blocked */
    seq[nseq++] = sigismember(&cur, SIGHUP) ? 20 : 21;  /* 20: sa_mask applied */
    raise(SIGUSR2);
    seq[nseq++] = 3;
}

static void handler_flags(void) {
    struct sigaction sa = {0};
    sa.sa_handler = nest_usr1;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGHUP);
    MUST(sigaction(SIGUSR1, &sa, NULL));
    signal(SIGUSR2, nest_usr2);
    nseq = 0;
    raise(SIGUSR1);
    char b[64] = {0};
    for (int i = 0; i < nseq; i++) sprintf(b + strlen(b), "%d ", seq[i]);
    say("nested delivery sequence: %s", b);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    CHECK(!sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGHUP), "mask restored after the handler");
    /* SA_NODEFER */
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    MUST(sigaction(SIGUSR1, &sa, NULL));
    nseq = 0;
    raise(SIGUSR1);
    CHECK(seq[1] == 11, "SA_NODEFER leaves the signal unblocked in its handler");
    /* SA_RESETHAND */
    sa.sa_flags = SA_RESETHAND;
    MUST(sigaction(SIGUSR1, &sa, NULL));
    raise(SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    CHECK(now.sa_handler == SIG_DFL, "SA_RESETHAND resets to SIG_DFL after one delivery");
    /* Ignored by default: SIGCHLD, SIGURG, SIGWINCH; ignored explicitly. */
    signal(SIGCHLD, SIG_DFL);
    raise(SIGCHLD);
    raise(SIGURG);
    raise(SIGWINCH);
    signal(SIGTERM, SIG_IGN);
    raise(SIGTERM);
    signal(SIGTERM, SIG_DFL);
    say("survived SIGCHLD, SIGURG, SIGWINCH (default ignore) and an ignored SIGTERM");
}

static void on_fpu(int sig) {
    (void)sig;
    /* Clobber SSE and x87 state. */
    __asm__ volatile("pxor %%xmm7, %%xmm7\n\tpcmpeqd %%xmm8, %%xmm8\n\tfldpi\n\tfstp %%st(0)" ::: "xmm7", "xmm8");
    volatile double d = 3.0;
    for (int i = 0; i < 100; i++) d = d * 1.5 - 1.0;
}

static void on_ill(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    ucontext_t *uc = ucv;
    hits++;
    last_code = si->si_code;
    last_addr = si->si_addr;
    /* Skip the 2-byte ud2 and change a register seen by the code. */
    uc->uc_mcontext.gregs[REG_RIP] += 2;
    uc->uc_mcontext.gregs[REG_RAX] = 0x5555;
}

static void frame(void) {
    /* xmm registers survive a signal handler that clobbers them. */
    signal(SIGUSR1, on_fpu);
    unsigned long lo = 0x0123456789abcdefUL, out = 0, out8 = 0;
    __asm__ volatile(
        "movq %[v], %%xmm7\n\t"
        "movq %[v], %%xmm8\n\t"
        "mov %[nr], %%eax\n\t"
        "mov %[pid], %%edi\n\t"
        "mov %[sig], %%esi\n\t"
        "syscall\n\t"
        "movq %%xmm7, %[o]\n\t"
        "movq %%xmm8, %[o8]\n\t"
        : [o] "=r"(out), [o8] "=r"(out8)
        : [v] "r"(lo), [nr] "i"(SYS_kill), [pid] "r"(getpid()), [sig] "i"(SIGUSR1)
        : "rax", "rdi", "rsi", "rcx", "r11", "xmm7", "xmm8", "memory");
    CHECK(out == lo && out8 == lo, "xmm7/xmm8 restored after the handler");
    /* General registers other than rax/rcx/r11 survive a syscall and a signal. */
    unsigned long r12v = 0, r15v = 0;
    __asm__ volatile(
        "mov $0x1212, %%r12\n\t"
        "mov $0x1515, %%r15\n\t"
        "mov %[nr], %%eax\n\t"
        "mov %[pid], %%edi\n\t"
        "mov %[sig], %%esi\n\t"
        "syscall\n\t"
        "mov %%r12, %[a]\n\t"
        "mov %%r15, %[b]\n\t"
        : [a] "=r"(r12v), [b] "=r"(r15v)
        : [nr] "i"(SYS_kill), [pid] "r"(getpid()), [sig] "i"(SIGUSR1)
        : "rax", "rdi", "rsi", "rcx", "r11", "r12", "r15", "memory");
    CHECK(r12v == 0x1212 && r15v == 0x1515, "callee registers preserved");
    /* A handler edits the interrupted context: skip ud2, set rax. */
    handle(SIGILL, on_ill, 0);
    hits = 0;
    unsigned long rax = 0;
    void *ud2_addr = NULL;
    __asm__ volatile(
        "lea 1f(%%rip), %[a]\n\t"
        "xor %%eax, %%eax\n\t"
        "1: ud2\n\t"
        "mov %%rax, %[r]\n\t"
        : [r] "=r"(rax), [a] "=r"(ud2_addr)
        :
        : "rax", "memory");
    CHECK(hits == 1 && rax == 0x5555, "handler changed RIP and RAX in the ucontext");
    CHECK(last_code == ILL_ILLOPN && last_addr == ud2_addr, "SIGILL: ILL_ILLOPN at the ud2 address");
    /* The frame is 16-byte aligned as the ABI requires: a handler using SSE
     * aligned stores would crash otherwise. */
    signal(SIGUSR1, on_fpu);
    raise(SIGUSR1);
    say("handler with aligned SSE use returned");
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static void recurse(volatile char *prev) {
    volatile char buf[1024];
    buf[0] = prev ? prev[0] + 1 : 0;
    recurse(buf);
}

static void on_segv_jmp(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_signo = sig;
    last_code = si->si_code;
    last_addr = si->si_addr;
    siglongjmp(jb, 1);
}

static void segv_longjmp(void) {
    handle(SIGSEGV, on_segv_jmp, 0);
    for (int i = 0; i < 3; i++) {
        if (sigsetjmp(jb, 1) == 0) {
            *(volatile int *)(uintptr_t)(16 + i * 4096) = 1;
            say("not reached");
        } else {
            CHECK(last_signo == SIGSEGV && last_code == SEGV_MAPERR && last_addr == (void *)(16 + (long)i * 4096),
                  "round %d: SIGSEGV SEGV_MAPERR at the faulting address", i);
        }
    }
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    CHECK(!sigismember(&cur, SIGSEGV), "siglongjmp restored the mask");
    /* Write to read-only memory: SEGV_ACCERR. */
    char *p = MUSTP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (sigsetjmp(jb, 1) == 0) {
        p[10] = 1;
    }
    CHECK(last_code == SEGV_ACCERR && last_addr == p + 10, "write to PROT_READ: SEGV_ACCERR");
    /* Executing a non-executable page. */
    char *q = MUSTP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    q[0] = (char)0xc3;
    if (sigsetjmp(jb, 1) == 0) {
        ((void (*)(void))q)();
    }
    CHECK(last_code == SEGV_ACCERR && last_addr == q, "jump to a non-executable page: SEGV_ACCERR");
    /* Non-canonical address: SI_KERNEL, si_addr 0 */
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile int *)0x8000000000000000UL = 1;
    }
    CHECK(last_signo == SIGSEGV && last_code == SI_KERNEL, "non-canonical address: SI_KERNEL");
    /* Stack overflow without an alternate stack is fatal. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        signal(SIGSEGV, SIG_DFL);
        recurse(NULL);
        _exit(0);
    }
    say("stack overflow without sigaltstack: %s", wait_child(c));
}

static volatile int alt_on, alt_flags_in_handler;
static char *alt_base;
static size_t alt_size;
static void on_alt(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)si;
    (void)uc;
    char local;
    alt_on = &local >= alt_base && &local < alt_base + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    alt_flags_in_handler = cur.ss_flags;
    if (si->si_signo == SIGSEGV) siglongjmp(jb, 1);
}

static void altstack(void) {
    alt_size = 1 << 16;
    alt_base = MUSTP(mmap(NULL, alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0}, old;
    CHECK(sigaltstack(&ss, &old) == 0 && (old.ss_flags & SS_DISABLE), "install an alternate stack");
    handle(SIGUSR1, on_alt, SA_ONSTACK);
    raise(SIGUSR1);
    CHECK(alt_on, "SA_ONSTACK handler runs on the alternate stack");
    CHECK(alt_flags_in_handler == SS_ONSTACK, "sigaltstack reports SS_ONSTACK inside");
    handle(SIGUSR2, on_alt, 0);
    raise(SIGUSR2);
    CHECK(!alt_on, "handler without SA_ONSTACK stays on the main stack");
    stack_t small = {.ss_sp = alt_base, .ss_size = 256, .ss_flags = 0};
    CHECK_ERR(sigaltstack(&small, NULL), ENOMEM, "too small a stack");
    stack_t badf = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0x1234};
    CHECK_ERR(sigaltstack(&badf, NULL), EINVAL, "bad flags");
    /* Stack overflow caught on the alternate stack. */
    handle(SIGSEGV, on_alt, SA_ONSTACK);
    struct rlimit rl = {8 << 20, 8 << 20};
    getrlimit(RLIMIT_STACK, &rl);
    if (sigsetjmp(jb, 1) == 0) {
        recurse(NULL);
    }
    CHECK(alt_on, "stack overflow's SIGSEGV handled on the alternate stack");
    stack_t dis = {.ss_flags = SS_DISABLE};
    CHECK(sigaltstack(&dis, NULL) == 0, "disable");
    sigaltstack(NULL, &old);
    CHECK(old.ss_flags == SS_DISABLE, "reads back disabled");
}

static void on_fpe(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_signo = sig;
    last_code = si->si_code;
    last_addr = si->si_addr;
    siglongjmp(jb, 1);
}

static void on_trap(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_signo = sig;
    last_code = si->si_code;
    hits++;
}

static void sync_faults(void) {
    handle(SIGFPE, on_fpe, 0);
    volatile int zero = 0, num = 7, r = 0;
    if (sigsetjmp(jb, 1) == 0) r = num / zero;
    CHECK(last_signo == SIGFPE && last_code == FPE_INTDIV, "integer divide by zero: SIGFPE FPE_INTDIV");
    volatile int mn = INT_MIN, m1 = -1;
    last_code = 0;
    if (sigsetjmp(jb, 1) == 0) r = mn / m1;
    CHECK(last_signo == SIGFPE && last_code == FPE_INTDIV, "INT_MIN / -1: SIGFPE FPE_INTDIV");
    (void)r;
    /* int3: SIGTRAP, SI_KERNEL; execution continues after it. */
    handle(SIGTRAP, on_trap, 0);
    hits = 0;
    __asm__ volatile("int3");
    CHECK(hits == 1 && last_signo == SIGTRAP && last_code == SI_KERNEL, "int3: SIGTRAP SI_KERNEL (code %d)", last_code);
    /* hlt in user mode: SIGSEGV SI_KERNEL. */
    handle(SIGSEGV, on_fpe, 0);
    if (sigsetjmp(jb, 1) == 0) __asm__ volatile("hlt");
    CHECK(last_signo == SIGSEGV && last_code == SI_KERNEL, "hlt: SIGSEGV SI_KERNEL");
    /* SIGBUS: touching a file mapping past EOF. */
    handle(SIGBUS, on_fpe, 0);
    int fd = MUST(open(tpath("short"), O_CREAT | O_RDWR | O_TRUNC, 0644));
    MUST(write(fd, "abc", 3));
    char *p = MUSTP(mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0));
    CHECK(p[2] == 'c' && p[100] == 0, "bytes past EOF on the last page read as zero");
    if (sigsetjmp(jb, 1) == 0) (void)*(volatile char *)(p + 4096 + 8);
    CHECK(last_signo == SIGBUS && last_code == BUS_ADRERR && last_addr == p + 4096 + 8,
          "page past EOF: SIGBUS BUS_ADRERR at the address");
    /* A synchronous fault while the signal is blocked kills the process. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGFPE);
        sigprocmask(SIG_BLOCK, &m, NULL);
        volatile int z = 0, seven = 7;
        _exit(seven / z);
    }
    say("divide by zero with SIGFPE blocked: %s", wait_child(c));
    c = MUST(fork());
    if (c == 0) {
        signal(SIGSEGV, SIG_IGN);
        *(volatile int *)8 = 0;
        _exit(0);
    }
    say("null write with SIGSEGV ignored: %s", wait_child(c));
}

static void sigwait_case(void) {
    sigset_t m, old;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigaddset(&m, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &m, &old);
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
    siginfo_t si = {0};
    struct timespec ts = {1, 0};
    int got = sigtimedwait(&m, &si, &ts);
    /* glibc's sigtimedwait folds SI_TKILL into SI_USER. */
    CHECK(got == SIGUSR2 && si.si_signo == SIGUSR2 && si.si_code == SI_USER,
          "sigtimedwait takes the pending SIGUSR2 (%d, %d, %d)", got, si.si_signo, si.si_code);
    struct timespec shortts = {0, 10 * 1000 * 1000};
    CHECK_ERR(sigtimedwait(&m, &si, &shortts), EAGAIN, "sigtimedwait times out");
    struct timespec zero = {0, 0};
    CHECK_ERR(sigtimedwait(&m, &si, &zero), EAGAIN, "zero timeout polls");
    sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 5});
    CHECK(sigwaitinfo(&m, &si) == SIGRTMIN + 1 && si.si_value.sival_int == 5, "sigwaitinfo with value");
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(sigtimedwait(&m, &si, &bad), EINVAL, "bad timeout");
    /* Another process sends to us while we wait. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    int sig = 0;
    CHECK(sigwait(&m, &sig) == 0 && sig == SIGUSR2, "sigwait gets a signal sent by the child");
    wait_child(c);
    /* A handled signal not in the set interrupts the wait. */
    handle(SIGALRM, on_info, 0);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec longts = {10, 0};
    CHECK_ERR(sigtimedwait(&m, &si, &longts), EINTR, "interrupted by a handled SIGALRM");
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void sigsuspend_case(void) {
    handle(SIGUSR1, on_info, 0);
    sigset_t m, old, none;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, &old);
    hits = 0;
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigemptyset(&none);
    int r = sigsuspend(&none);
    CHECK(r == -1 && errno == EINTR && hits == 1, "sigsuspend returns EINTR after the handler");
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    CHECK(sigismember(&cur, SIGUSR1), "mask restored after sigsuspend");
    wait_child(c);
    /* pause() interrupted by a timer. */
    handle(SIGALRM, on_info, 0);
    struct itimerval it = {{0, 0}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(pause(), EINTR, "pause interrupted by SIGALRM");
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static int restart_pipe[2];
static void on_alarm_write(int s) {
    (void)s;
    hits++;
    write(restart_pipe[1], "x", 1);
}
static void on_alarm_plain(int s) {
    (void)s;
    hits++;
}

static void restart(void) {
    MUST(pipe(restart_pipe));
    /* Without SA_RESTART: read fails with EINTR. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm_plain;
    MUST(sigaction(SIGALRM, &sa, NULL));
    hits = 0;
    alarm(1);
    char b[4];
    ssize_t r = read(restart_pipe[0], b, sizeof b);
    CHECK(r == -1 && errno == EINTR && hits == 1, "read interrupted without SA_RESTART: EINTR");
    /* With SA_RESTART: the read resumes and gets the byte the handler wrote. */
    sa.sa_handler = on_alarm_write;
    sa.sa_flags = SA_RESTART;
    MUST(sigaction(SIGALRM, &sa, NULL));
    hits = 0;
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    r = read(restart_pipe[0], b, sizeof b);
    CHECK(r == 1 && b[0] == 'x' && hits == 1, "read restarted with SA_RESTART got the handler's byte");
    /* wait4 restarts too; nanosleep never restarts (EINTR). */
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec ts = {5, 0}, rem = {0, 0};
    sa.sa_handler = on_alarm_plain;
    MUST(sigaction(SIGALRM, &sa, NULL));
    r = nanosleep(&ts, &rem);
    CHECK(r == -1 && errno == EINTR && rem.tv_sec <= 5 && (rem.tv_sec > 0 || rem.tv_nsec > 0),
          "nanosleep returns EINTR with the remaining time even with SA_RESTART");
    /* Write to a full pipe interrupted: EINTR (nothing written yet) */
    sa.sa_flags = 0;
    MUST(sigaction(SIGALRM, &sa, NULL));
    int p2[2];
    MUST(pipe(p2));
    fcntl(p2[1], F_SETFL, O_NONBLOCK);
    char big[4096] = {0};
    while (write(p2[1], big, sizeof big) > 0) {
    }
    fcntl(p2[1], F_SETFL, 0);
    setitimer(ITIMER_REAL, &it, NULL);
    r = write(p2[1], big, 1);
    CHECK(r == -1 && errno == EINTR, "write to a full pipe interrupted: EINTR");
    /* SIGPIPE: ignored gives EPIPE; default kills. */
    signal(SIGPIPE, SIG_IGN);
    close(p2[0]);
    CHECK_ERR(write(p2[1], "x", 1), EPIPE, "write to a pipe without readers: EPIPE");
    signal(SIGPIPE, SIG_DFL);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        write(p2[1], "x", 1);
        _exit(0);
    }
    say("write to a broken pipe with default SIGPIPE: %s", wait_child(c));
}

static atomic_int thr_tid_ok;
static pid_t target_tid;
static void on_thr(int s) {
    (void)s;
    atomic_store(&thr_tid_ok, gettid() == target_tid ? 1 : 2);
}
static atomic_int thr_ready;
static void *sig_thread(void *a) {
    (void)a;
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &m, NULL);
    target_tid = gettid();
    atomic_store(&thr_ready, 1);
    while (atomic_load(&thr_tid_ok) == 0) sched_yield();
    return NULL;
}

static void thread_signals(void) {
    signal(SIGUSR1, on_thr);
    pthread_t t;
    pthread_create(&t, NULL, sig_thread, NULL);
    while (!atomic_load(&thr_ready)) sched_yield();
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    CHECK(atomic_load(&thr_tid_ok) == 1, "pthread_kill ran the handler on the target thread");
    /* A process-directed signal goes to a thread that does not block it. */
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &m, NULL);
    atomic_store(&thr_tid_ok, 0);
    atomic_store(&thr_ready, 0);
    pthread_create(&t, NULL, sig_thread, NULL);
    while (!atomic_load(&thr_ready)) sched_yield();
    kill(getpid(), SIGUSR1);
    pthread_join(t, NULL);
    CHECK(atomic_load(&thr_tid_ok) == 1, "kill() delivered to the only thread not blocking it");
}

/* Default actions: the process dies; the harness compares exit statuses. */
static void die_term(void) {
    say("raising SIGTERM");
    raise(SIGTERM);
    say("not reached");
}
static void die_kill(void) {
    say("raising SIGKILL");
    kill(getpid(), SIGKILL);
    say("not reached");
}
static void die_segv(void) {
    say("writing to NULL");
    *(volatile int *)0 = 1;
    say("not reached");
}
static void die_abort(void) {
    say("calling abort");
    abort();
}
static void die_usr1_blocked_then_unblocked(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    raise(SIGUSR1);
    say("SIGUSR1 pending");
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    say("not reached");
}
static void die_alarm(void) {
    say("alarm(1) then pause");
    alarm(1);
    pause();
    say("not reached");
}
static void *exiting_thread(void *a) {
    (void)a;
    exit(3);
}
static void die_thread_exit(void) {
    say("a thread calls exit(3)");
    pthread_t t;
    pthread_create(&t, NULL, exiting_thread, NULL);
    for (;;) pause();
}

int main(int argc, char **argv) {
    static const struct tcase cases[] = {CASE(siginfo_case),   CASE(mask_pending), CASE(handler_flags),
                                         CASE(frame),          CASE(segv_longjmp), CASE(altstack),
                                         CASE(sync_faults),    CASE(sigwait_case), CASE(sigsuspend_case),
                                         CASE(restart),        CASE(thread_signals), CASE(die_term),
                                         CASE(die_kill),       CASE(die_segv),     CASE(die_abort),
                                         CASE(die_usr1_blocked_then_unblocked), CASE(die_alarm),
                                         CASE(die_thread_exit), {0, 0}};
    return run_cases(cases, argc, argv);
}
