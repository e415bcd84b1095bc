/* Random system calls with random arguments, thrown at the kernel from
 * inside. The parent forks children one after another; each child issues a
 * stream of random syscalls (numbers 0..500 plus a few absurd ones) with
 * arguments drawn from useful classes (small ints, fds, valid pointers into a
 * scratch buffer, page addresses, sizes, -1, random 64-bit values). A child
 * may die any way it likes; the parent kills one that hangs. At the end the
 * parent prints "survived": under moat that proves the kernel is still
 * serving calls, and the sandbox must then exit with status 0.
 *
 * usage: fuzz [--native] [seed [children [calls-per-child]]]
 *
 * Calls that would legitimately end or hang the child (exit, kill, pause,
 * fork, execve, waits, ...) are never made; neither are calls that could harm
 * the host if the sandbox leaked (reboot, clock setting, modules, mount, ...).
 * --native adds calls that are only harmful when run natively as root (System
 * V IPC on other processes' objects, fanotify, mknod, pidfd_getfd, ...): use
 * it to run this program outside moat.
 *
 * stdout: exactly "survived\n". stderr: statistics, not deterministic. */
#include "t.h"
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static unsigned long rng_state;
static unsigned long rnd(void) {
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DUL;
}

/* Never called: end or block the caller by design, or harm the host. */
static const int deny_always[] = {
    SYS_exit, SYS_exit_group, SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigreturn, SYS_pause, SYS_vfork,
    SYS_fork, SYS_clone, 435 /* clone3 */, SYS_execve, SYS_execveat, SYS_reboot, SYS_rt_sigsuspend,
    SYS_nanosleep, SYS_clock_nanosleep, SYS_wait4, SYS_waitid, SYS_select, SYS_pselect6, SYS_poll,
    SYS_ppoll, SYS_epoll_wait, SYS_epoll_pwait, 441 /* epoll_pwait2 */, SYS_rt_sigtimedwait, SYS_futex,
    449 /* futex_waitv */, 424 /* pidfd_send_signal */, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
    SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_swapon,
    SYS_swapoff, SYS_settimeofday, SYS_clock_settime, SYS_adjtimex, SYS_clock_adjtime, SYS_sethostname,
    SYS_setdomainname, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_iopl, SYS_ioperm,
    SYS_vhangup, SYS_acct, SYS_syslog, SYS_ptrace, SYS_process_vm_writev, SYS_quotactl, 443 /* quotactl_fd */,
    SYS_bpf, SYS_perf_event_open, SYS_setns, 428, 429, 430, 431, 432, 433, 442 /* new mount API */,
    SYS_keyctl, SYS_add_key, SYS_request_key, SYS_open_by_handle_at, SYS_sched_setscheduler,
    SYS_sched_setparam, SYS_sched_setattr, SYS_setpriority, SYS_ioprio_set, SYS_migrate_pages,
    SYS_move_pages, 440 /* process_madvise */, 448 /* process_mrelease */, SYS_uselib,
    335 /* uretprobe */, 462 /* mseal: could seal the scratch state away; harmless but noisy */,
};

/* Additionally never called when run natively as root. */
static const int deny_native[] = {
    SYS_shmget, SYS_shmat, SYS_shmctl, SYS_semget, SYS_semop, SYS_semctl, SYS_shmdt, SYS_msgget, SYS_msgsnd,
    SYS_msgrcv, SYS_msgctl, SYS_semtimedop, SYS_mq_open, SYS_mq_unlink, SYS_mq_timedsend, SYS_mq_timedreceive,
    SYS_mq_notify, SYS_mq_getsetattr, SYS_fanotify_init, SYS_fanotify_mark, SYS_mknod, SYS_mknodat,
    434 /* pidfd_open */, 438 /* pidfd_getfd */, SYS_process_vm_readv, SYS_sync, SYS_syncfs, SYS_name_to_handle_at,
    SYS_unshare, SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
};

static unsigned char denied[1024];

static char *scratch;
#define SCRATCH (16 * 4096)

static unsigned long arg(void) {
    unsigned long r = rnd();
    switch (r % 12) {
    case 0: return rnd() % 64;                                     /* small int */
    case 1: return rnd();                                          /* anything */
    case 2:
    case 3: return (unsigned long)(scratch + rnd() % SCRATCH);     /* valid pointer */
    case 4: return rnd() % 24;                                     /* fd */
    case 5: return (unsigned long)-1;
    case 6: return 0;
    case 7: return (unsigned long)scratch + (rnd() % 16) * 4096;   /* page in scratch */
    case 8: return 1UL << (rnd() % 21);                            /* size up to 1 MiB */
    case 9: return (rnd() % 2) ? 0x7ffffffff000UL - (rnd() % 64) * 4096 : (rnd() & 0x7ffffffff000UL); /* addresses */
    case 10: return rnd() % 4096;
    default: return (unsigned long)(int)rnd();                      /* sign-extended int */
    }
}

static void on_tick(int s) { (void)s; }

static volatile long *progress; /* shared with the parent: [0] calls made, [1] current nr */

static void child(unsigned long seed, long calls, int native) {
    rng_state = seed * 0x9E3779B97F4A7C15UL + 1;
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
    struct rlimit as = {1UL << 30, 1UL << 30};
    setrlimit(RLIMIT_AS, &as);
    struct rlimit fs = {1 << 20, 1 << 20};
    setrlimit(RLIMIT_FSIZE, &fs);
    struct rlimit nf = {256, 256};
    setrlimit(RLIMIT_NOFILE, &nf);
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    /* A periodic timer interrupts blocking calls (no SA_RESTART). */
    struct sigaction sa = {0};
    sa.sa_handler = on_tick;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 50000}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (scratch == MAP_FAILED) _exit(1);
    for (long i = 0; i < calls; i++) {
        if (i % 64 == 0) {
            /* Fresh scratch contents: mostly zeros with random bytes. */
            for (int k = 0; k < 256; k++) {
                unsigned long off = rnd() % SCRATCH;
                scratch[off] = (char)rnd();
            }
        }
        long nr;
        unsigned long pick = rnd() % 1000;
        if (pick < 985) nr = (long)(rnd() % 501);
        else if (pick < 990) nr = 0x40000000L | (long)(rnd() % 600); /* x32 numbers */
        else if (pick < 995) nr = 1000 + (long)(rnd() % 100000);
        else nr = -(long)(rnd() % 5) - 1;
        if (nr >= 0 && nr < 1024 && denied[nr]) continue;
        unsigned long a[6];
        for (int k = 0; k < 6; k++) a[k] = arg();
        /* Argument guards. */
        switch (nr) {
        case SYS_socket:
        case SYS_socketpair:
            a[0] = AF_UNIX; /* never make network traffic */
            break;
        case SYS_madvise:
            if (a[2] == 100 || a[2] == 101) a[2] = 0; /* MADV_HWPOISON, MADV_SOFT_OFFLINE */
            break;
        case SYS_fcntl:
            if (a[1] == F_SETOWN || a[1] == F_SETOWN_EX || a[1] == F_SETSIG) a[1] = F_GETFD;
            break;
        case SYS_ioctl:
            if (a[1] == 0x8901 || a[1] == 0x8902 || a[1] == FIOASYNC || a[1] == TIOCSPGRP || a[1] == TIOCSTI)
                a[1] = FIONREAD; /* FIOSETOWN, SIOCSPGRP: signals to others */
            break;
        case SYS_prlimit64:
        case SYS_sched_setaffinity:
        case SYS_setpgid:
            a[0] = 0; /* only ourselves */
            break;
        case SYS_rt_sigprocmask:
            /* Keep SIGALRM deliverable most of the time. */
            if (rnd() % 4) a[0] = SIG_UNBLOCK;
            break;
        case SYS_mmap:
            if (native) a[3] &= ~(unsigned long)MAP_HUGETLB;
            break;
        }
        if (progress) {
            progress[0] = i;
            progress[1] = nr;
        }
        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    _exit(0);
}

static volatile sig_atomic_t watchdog;
static void on_watchdog(int s) {
    (void)s;
    watchdog = 1;
}

int main(int argc, char **argv) {
    int native = 0;
    if (argc > 1 && !strcmp(argv[1], "--native")) {
        native = 1;
        argc--;
        argv++;
    }
    unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
    int children = argc > 2 ? atoi(argv[2]) : 10;
    long calls = argc > 3 ? atol(argv[3]) : 2000;
    for (unsigned i = 0; i < sizeof deny_always / sizeof deny_always[0]; i++) denied[deny_always[i]] = 1;
    if (native)
        for (unsigned i = 0; i < sizeof deny_native / sizeof deny_native[0]; i++) denied[deny_native[i]] = 1;
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Children work in a private scratch directory. */
    const char *dir = tmpdir();
    struct sigaction sa = {0};
    sa.sa_handler = on_watchdog;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    progress = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (progress == MAP_FAILED) progress = NULL;
    int exited = 0, signalled = 0, killed = 0;
    long total = 0;
    for (int c = 0; c < children; c++) {
        if (progress) progress[0] = progress[1] = 0;
        pid_t p = fork();
        if (p < 0) {
            fprintf(stderr, "fuzz: fork failed: %s\n", strerror(errno));
            return 1;
        }
        if (p == 0) {
            if (chdir(dir) != 0) _exit(1);
            child(seed * 1000 + (unsigned long)c, calls, native);
        }
        /* Kill a child that makes no progress for a whole watchdog period. */
        watchdog = 0;
        unsigned period = native ? 1 : 3;
        long seen = -1;
        alarm(period);
        int st;
        pid_t r;
        while ((r = waitpid(p, &st, 0)) != p) {
            if (r < 0 && errno == EINTR && watchdog) {
                watchdog = 0;
                long now = progress ? progress[0] : seen + 1;
                if (now != seen) {
                    seen = now;
                    alarm(period);
                    continue;
                }
                fprintf(stderr, "fuzz: child %d hung after %ld calls in syscall %ld; killing it\n", c,
                        progress ? progress[0] : -1, progress ? progress[1] : -1);
                kill(p, SIGKILL);
                killed++;
            } else if (r < 0 && errno != EINTR) {
                fprintf(stderr, "fuzz: waitpid: %s\n", strerror(errno));
                return 1;
            }
        }
        alarm(0);
        total += progress ? progress[0] : 0;
        if (WIFEXITED(st)) exited++;
        else {
            signalled++;
            fprintf(stderr, "fuzz: child %d died of %s after %ld calls, last syscall %ld\n", c,
                    sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?", progress ? progress[0] : -1,
                    progress ? progress[1] : -1);
        }
    }
    /* The kernel must still serve ordinary calls. */
    int pfd[2];
    char b = 0;
    if (pipe(pfd) != 0 || write(pfd[1], "k", 1) != 1 || read(pfd[0], &b, 1) != 1 || b != 'k') {
        fprintf(stderr, "fuzz: pipe round trip failed after fuzzing\n");
        return 1;
    }
    rm_rf(dir);
    fprintf(stderr, "fuzz: %d children: %d exited, %d died of signals (%d hung), about %ld calls\n", children, exited,
            signalled, killed, total);
    printf("survived\n");
    return 0;
}
