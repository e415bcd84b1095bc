/* System V IPC (shm, sem, msg) and POSIX message queues.
 *
 * Every case starts in an IPC namespace of its own (natively: unshare(CLONE_NEWIPC), which
 * moat refuses; its sandbox is a fresh namespace anyway), so ids are deterministic and
 * nothing leaks to the host. CAP_SYS_RESOURCE is dropped (root on the test machines lacks
 * it natively), so the mqueue and msgmnb limits apply the same way in both runs. POSIX queue
 * files are read through /dev/mqueue under moat, and natively through an mqueue mount made
 * in a private mount namespace. */
#include "t.h"
#include <linux/capability.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/vfs.h>
#include <time.h>

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#define MQUEUE_MAGIC 0x19800202

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static void drop_cap(int cap) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return;
    d[cap / 32].effective &= ~(1u << (cap % 32));
    syscall(SYS_capset, &h, d);
}

static void setup(void) {
    (void)unshare(CLONE_NEWIPC);
    drop_cap(CAP_SYS_RESOURCE);
}

/* Where the namespace's mqueue file system can be read. */
static char mq_mnt[300];
static void mq_umount(void) {
    if (mq_mnt[0] && strcmp(mq_mnt, "/dev/mqueue")) umount2(mq_mnt, MNT_DETACH);
}
static const char *mqdir(void) {
    struct statfs s;
    if (mq_mnt[0]) return mq_mnt;
    if (statfs("/dev/mqueue", &s) == 0 && s.f_type == MQUEUE_MAGIC) {
        strcpy(mq_mnt, "/dev/mqueue");
        return mq_mnt;
    }
    MUST(unshare(CLONE_NEWNS));
    MUST(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    snprintf(mq_mnt, sizeof mq_mnt, "%s", tpath("mq"));
    MUST(mkdir(mq_mnt, 0755));
    MUST(mount("mqueue", mq_mnt, "mqueue", 0, NULL));
    atexit(mq_umount);
    return mq_mnt;
}

static char *mqpath(const char *name) {
    static char b[4][400];
    static int i;
    char *p = b[i++ % 4];
    snprintf(p, 400, "%s/%s", mqdir(), name);
    return p;
}

/* Prints a file's contents, each line prefixed. */
static void cat(const char *prefix, const char *path) {
    char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        say("%s: open %s", prefix, ename(errno));
        return;
    }
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = 0;
    char *save, *l = strtok_r(buf, "\n", &save);
    while (l) {
        say("%s: %s", prefix, l);
        l = strtok_r(NULL, "\n", &save);
    }
}

/* Prints the chosen columns (1-based) of a /proc/sysvipc file. */
static void sysvipc(const char *which, const int *cols, int ncols) {
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", which);
    int fd = MUST(open(path, O_RDONLY));
    int n = MUST(read(fd, buf, sizeof buf - 1));
    close(fd);
    buf[n] = 0;
    char *save, *l = strtok_r(buf, "\n", &save);
    while (l) {
        char *f[32];
        int nf = 0;
        char *s2, *w = strtok_r(l, " ", &s2);
        while (w && nf < 32) {
            f[nf++] = w;
            w = strtok_r(NULL, " ", &s2);
        }
        char out[512] = "";
        for (int i = 0; i < ncols; i++) {
            if (cols[i] <= nf) {
                strcat(out, f[cols[i] - 1]);
                strcat(out, " ");
            }
        }
        say("%s: %s", which, out);
        l = strtok_r(NULL, "\n", &save);
    }
}

static int wait_status(pid_t p) {
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
    return st;
}

/* Waits until f() returns true (polling); for handshakes with children. */
static void until(long (*f)(long), long arg) {
    for (int i = 0; i < 20000 && !f(arg); i++) usleep(1000);
}

static void onsig(int s) { (void)s; }

static void handle(int sig, int flags) {
    struct sigaction sa = {0};
    sa.sa_handler = onsig;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

/* Sends SIGUSR1 to `p` until it exits (a signal that arrives before the child blocks is
 * followed by another once it does). */
static int signal_until_exit(pid_t p) {
    int st;
    for (;;) {
        pid_t r = waitpid(p, &st, WNOHANG);
        if (r == p) return st;
        kill(p, SIGUSR1);
        usleep(5000);
    }
}

/* ------------------------------------------------------------------ shm */

static void shm_stat_line(int id, const char *what) {
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) != 0) {
        say("%s: IPC_STAT %s", what, ename(errno));
        return;
    }
    say("%s: key=%#x mode=%o segsz=%zu nattch=%lu uid=%d cuid=%d cpid_me=%d lpid_me=%d lpid0=%d "
        "atime=%d dtime=%d ctime=%d",
        what, ds.shm_perm.__key, ds.shm_perm.mode, ds.shm_segsz, (unsigned long)ds.shm_nattch,
        ds.shm_perm.uid, ds.shm_perm.cuid, ds.shm_cpid == getpid(), ds.shm_lpid == getpid(),
        ds.shm_lpid == 0, ds.shm_atime != 0, ds.shm_dtime != 0, ds.shm_ctime != 0);
}

static void shm_basic(void) {
    setup();
    int id = MUST(shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0640));
    say("id %d", id);
    shm_stat_line(id, "new");
    char *p = MUSTP(shmat(id, NULL, 0));
    CHECK(((unsigned long)p & 4095) == 0, "attach is page aligned");
    shm_stat_line(id, "attached");
    strcpy(p + 9000, "hello");
    char *q = MUSTP(shmat(id, NULL, SHM_RDONLY));
    CHECK(q != p && !strcmp(q + 9000, "hello"), "second attach sees the data");
    shm_stat_line(id, "twice");
    CHECK_OK(shmdt(p), "shmdt");
    CHECK_OK(shmdt(q), "shmdt second");
    shm_stat_line(id, "detached");
    char *r = MUSTP(shmat(id, NULL, 0));
    CHECK(!strcmp(r + 9000, "hello"), "data survives detach");
    CHECK_OK(shmdt(r), "shmdt again");
    CHECK_OK(shmctl(id, IPC_RMID, NULL), "IPC_RMID");
    CHECK_ERR(shmctl(id, IPC_STAT, &(struct shmid_ds){0}), EINVAL, "gone after IPC_RMID");
    CHECK_ERR(shmat(id, NULL, 0), EINVAL, "shmat of a removed id");
}

static void shm_keys(void) {
    setup();
    int a = MUST(shmget(0x5151, 8192, IPC_CREAT | 0600));
    int b = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    int c = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    say("ids %d %d %d", a, b, c);
    CHECK(shmget(0x5151, 0, 0) == a, "lookup by key");
    CHECK(shmget(0x5151, 100, IPC_CREAT) == a, "IPC_CREAT of an existing key");
    CHECK_ERR(shmget(0x5151, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "IPC_EXCL");
    CHECK_ERR(shmget(0x5151, 8193, 0), EINVAL, "bigger than the segment");
    CHECK_ERR(shmget(0x5152, 4096, 0600), ENOENT, "missing key without IPC_CREAT");
    CHECK_ERR(shmget(IPC_PRIVATE, 0, 0600), EINVAL, "size 0");
    CHECK_ERR(shmget(IPC_PRIVATE, (size_t)-1, 0600), EINVAL, "size past SHMMAX");
    CHECK_OK(shmctl(b, IPC_RMID, NULL), "remove the middle one");
    int d = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    int e = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    say("next ids %d %d", d, e);
    CHECK_OK(shmctl(a, IPC_RMID, NULL), "remove keyed");
    CHECK_ERR(shmget(0x5151, 0, 0), ENOENT, "key gone");
    CHECK_ERR(shmget(-5, 4096, 0), ENOENT, "negative key");
}

static void shm_flags(void) {
    setup();
    int id = MUST(shmget(IPC_PRIVATE, 3 * 4096, 0600));
    char *p = MUSTP(shmat(id, NULL, 0));
    CHECK_OK(shmdt(p), "detach");
    CHECK(shmat(id, p, 0) == p, "attach at a given address");
    CHECK_ERR(shmat(id, p, 0), EINVAL, "overlap without SHM_REMAP");
    CHECK_ERR(shmat(id, p + 4096, 0), EINVAL, "overlap in the middle");
    CHECK(shmat(id, p, SHM_REMAP) == p, "SHM_REMAP replaces");
    CHECK_OK(shmdt(p), "detach");
    CHECK_ERR(shmat(id, p + 1, 0), EINVAL, "unaligned without SHM_RND");
    CHECK(shmat(id, p + 100, SHM_RND) == p, "SHM_RND rounds down");
    CHECK_OK(shmdt(p), "detach");
    CHECK_ERR(shmat(id, NULL, SHM_REMAP), EINVAL, "SHM_REMAP needs an address");
    CHECK_ERR(shmat(id, (void *)100, SHM_RND | SHM_REMAP), EINVAL, "rounds to 0 with SHM_REMAP");
    CHECK_ERR(shmat(-1, NULL, 0), EINVAL, "negative id");
    CHECK_ERR(shmat(id + 1, NULL, 0), EINVAL, "unknown id");
    CHECK_ERR(shmat(id + 32768, NULL, 0), EINVAL, "wrong sequence");
    CHECK_ERR(shmdt(p + 1), EINVAL, "shmdt unaligned");
    CHECK_ERR(shmdt(p), EINVAL, "shmdt of nothing");
    char *r = MUSTP(shmat(id, NULL, SHM_RDONLY));
    CHECK_ERR(mprotect(r, 4096, PROT_READ | PROT_WRITE), EACCES, "read-only attach cannot be made writable");
    CHECK_OK(mprotect(r, 4096, PROT_NONE), "but may drop rights");
    pid_t k = MUST(fork());
    if (k == 0) {
        r[4096] = 1;
        _exit(0);
    }
    say("write to a read-only attach: %s", wdesc(wait_status(k)));
    char *x = MUSTP(shmat(id, NULL, SHM_EXEC));
    char line[256] = "";
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (strtoul(line, NULL, 16) == (unsigned long)x) {
            char *sp = strchr(line, ' ');
            say("maps: %s", sp ? sp + 1 : line);
        }
    if (f) fclose(f);
}

static void shm_maps(void) {
    setup();
    int a = MUST(shmget(0xabc, 5000, IPC_CREAT | 0600));
    int b = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    char *p = MUSTP(shmat(a, NULL, SHM_RDONLY));
    char *q = MUSTP(shmat(b, NULL, 0));
    FILE *f = MUSTP(fopen("/proc/self/maps", "r"));
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long s = strtoul(line, NULL, 16);
        if (s == (unsigned long)p || s == (unsigned long)q) {
            /* Drop the address range; keep perms, offset, device, inode and name. */
            char *sp = strchr(line, ' ');
            char *nl = strchr(line, '\n');
            if (nl) *nl = 0;
            char perms[8], off[16], dev[16], name[128] = "";
            unsigned long ino;
            sscanf(sp + 1, "%7s %15s %15s %lu %127[^\n]", perms, off, dev, &ino, name);
            char *n = name;
            while (*n == ' ') n++;
            say("%s %s %s %lu %s", perms, off, dev, ino, n);
        }
    }
    fclose(f);
}

static void shm_fork_exit(void) {
    setup();
    int id = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    int *p = MUSTP(shmat(id, NULL, 0));
    shm_stat_line(id, "parent attached");
    pid_t k = MUST(fork());
    if (k == 0) {
        shm_stat_line(id, "child before");
        *p = 42;
        _exit(0);
    }
    wait_status(k);
    CHECK(*p == 42, "the child's write is shared");
    struct shmid_ds ds;
    MUST(shmctl(id, IPC_STAT, &ds));
    say("after child exit: nattch=%lu lpid_child=%d dtime=%d", (unsigned long)ds.shm_nattch,
        ds.shm_lpid == k, ds.shm_dtime != 0);
    k = MUST(fork());
    if (k == 0) {
        shmdt(p);
        shm_stat_line(id, "child detached");
        _exit(0);
    }
    wait_status(k);
    shm_stat_line(id, "parent end");
}

static void shm_exec(void) {
    setup();
    int id = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    MUSTP(shmat(id, NULL, 0));
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        char ids[16];
        snprintf(ids, sizeof ids, "%d", id);
        execl("/proc/self/exe", t_prog, "--shm-nattch", ids, (char *)NULL);
        _exit(99);
    }
    say("exec'd child: %s", wdesc(wait_status(k)));
    shm_stat_line(id, "after");
}

static void shm_rmid_deferred(void) {
    setup();
    int id = MUST(shmget(0x777, 4096, IPC_CREAT | 0600));
    char *p = MUSTP(shmat(id, NULL, 0));
    strcpy(p, "kept");
    CHECK_OK(shmctl(id, IPC_RMID, NULL), "IPC_RMID while attached");
    shm_stat_line(id, "marked");
    CHECK_ERR(shmget(0x777, 4096, 0600), ENOENT, "its key is free");
    int id2 = MUST(shmget(0x777, 4096, IPC_CREAT | 0600));
    CHECK(id2 != id, "a new segment takes the key");
    char *q = MUSTP(shmat(id, NULL, 0));
    CHECK(!strcmp(q, "kept"), "a marked segment can still be attached by id");
    shm_stat_line(id, "two attaches");
    const int cols[] = {1, 2, 3, 4, 7};
    sysvipc("shm", cols, 5);
    CHECK_OK(shmdt(p), "detach one");
    shm_stat_line(id, "one left");
    CHECK_OK(shmdt(q), "detach last");
    CHECK_ERR(shmctl(id, IPC_STAT, &(struct shmid_ds){0}), EINVAL, "destroyed at last detach");
    sysvipc("shm", cols, 5);
    CHECK_OK(shmctl(id2, IPC_RMID, NULL), "remove the other");
    /* The same at process exit. */
    int id3 = MUST(shmget(IPC_PRIVATE, 4096, 0600));
    pid_t k = MUST(fork());
    if (k == 0) {
        MUSTP(shmat(id3, NULL, 0));
        shmctl(id3, IPC_RMID, NULL);
        shm_stat_line(id3, "child marked");
        _exit(0);
    }
    wait_status(k);
    CHECK_ERR(shmctl(id3, IPC_STAT, &(struct shmid_ds){0}), EINVAL, "destroyed when the child exited");
}

static void shm_pieces(void) {
    setup();
    int id = MUST(shmget(IPC_PRIVATE, 3 * 4096, 0600));
    char *p = MUSTP(shmat(id, NULL, 0));
    CHECK_OK(mprotect(p, 4096, PROT_READ), "mprotect the first page");
    shm_stat_line(id, "split");
    CHECK_OK(munmap(p + 4096, 4096), "munmap the middle");
    struct shmid_ds ds;
    MUST(shmctl(id, IPC_STAT, &ds));
    say("hole: nattch=%lu", (unsigned long)ds.shm_nattch);
    CHECK_ERR(shmdt(p + 4096), EINVAL, "shmdt of the hole");
    CHECK_ERR(shmdt(p + 8192), EINVAL, "shmdt of a later piece");
    CHECK_OK(shmdt(p), "shmdt takes every piece");
    shm_stat_line(id, "detached");
    CHECK(mprotect(p + 8192, 4096, PROT_READ) == -1 && errno == ENOMEM, "last piece is gone");
}

static void shm_perms(void) {
    setup();
    int id = MUST(shmget(0x99, 4096, IPC_CREAT | 0600));
    pid_t k = MUST(fork());
    if (k == 0) {
        MUST(setresgid(1000, 1000, 1000));
        MUST(setresuid(1000, 1000, 1000));
        struct shmid_ds ds;
        CHECK_ERR(shmat(id, NULL, 0), EACCES, "shmat without permission");
        CHECK_ERR(shmat(id, NULL, SHM_RDONLY), EACCES, "read-only shmat without permission");
        CHECK_ERR(shmctl(id, IPC_STAT, &ds), EACCES, "IPC_STAT without permission");
        CHECK(shmctl(id, SHM_STAT_ANY, &ds) == id, "SHM_STAT_ANY needs none");
        CHECK_ERR(shmctl(id, SHM_STAT, &ds), EACCES, "SHM_STAT does");
        CHECK_ERR(shmctl(id, IPC_RMID, NULL), EPERM, "IPC_RMID by another user");
        CHECK_ERR(shmctl(id, IPC_SET, &ds), EPERM, "IPC_SET by another user");
        CHECK_ERR(shmctl(id, SHM_LOCK, NULL), EPERM, "SHM_LOCK by another user");
        CHECK_ERR(shmget(0x99, 0, 0600), EACCES, "shmget asking for rw");
        CHECK(shmget(0x99, 0, 0) == id, "shmget asking nothing");
        _exit(t_failed);
    }
    say("child: %s", wdesc(wait_status(k)));
    struct shmid_ds ds;
    MUST(shmctl(id, IPC_STAT, &ds));
    ds.shm_perm.mode = 0644;
    ds.shm_perm.uid = 1000;
    CHECK_OK(shmctl(id, IPC_SET, &ds), "IPC_SET mode and owner");
    shm_stat_line(id, "after IPC_SET");
    k = MUST(fork());
    if (k == 0) {
        MUST(setresuid(1001, 1001, 1001));
        CHECK(shmat(id, NULL, SHM_RDONLY) != (void *)-1, "others may read now");
        CHECK_ERR(shmat(id, NULL, 0), EACCES, "but not write");
        _exit(t_failed);
    }
    say("child: %s", wdesc(wait_status(k)));
    k = MUST(fork());
    if (k == 0) {
        MUST(setresuid(1000, 1000, 1000));
        CHECK(shmat(id, NULL, 0) != (void *)-1, "the new owner may write");
        CHECK_OK(shmctl(id, IPC_RMID, NULL), "and remove");
        _exit(t_failed);
    }
    say("child: %s", wdesc(wait_status(k)));
    ds.shm_perm.uid = -1;
    CHECK_ERR(shmctl(id, IPC_SET, &ds), EINVAL, "gone");
}

static void shm_ctl(void) {
    setup();
    struct shminfo si;
    int r = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
    say("IPC_INFO=%d shmmax=%lu shmmin=%lu shmmni=%lu shmseg=%lu shmall=%lu", r, si.shmmax, si.shmmin,
        si.shmmni, si.shmseg, si.shmall);
    int a = MUST(shmget(IPC_PRIVATE, 5000, 0600));
    int b = MUST(shmget(IPC_PRIVATE, 3 * 4096, 0600));
    char *p = MUSTP(shmat(b, NULL, 0));
    p[0] = 1;
    (void)*(volatile char *)(p + 8192);
    struct shm_info inf;
    r = shmctl(0, SHM_INFO, (struct shmid_ds *)&inf);
    say("SHM_INFO=%d used=%d tot=%lu rss=%lu swp=%lu", r, inf.used_ids, inf.shm_tot, inf.shm_rss, inf.shm_swp);
    struct shmid_ds ds;
    CHECK(shmctl(1, SHM_STAT, &ds) == b, "SHM_STAT by index");
    CHECK(shmctl(1 + 32768, SHM_STAT, &ds) == b, "SHM_STAT ignores the sequence");
    CHECK_ERR(shmctl(7, SHM_STAT, &ds), EINVAL, "SHM_STAT of an empty index");
    CHECK_ERR(shmctl(a, 99, &ds), EINVAL, "unknown command");
    CHECK_ERR(shmctl(-1, IPC_STAT, &ds), EINVAL, "negative id");
    CHECK_ERR(shmctl(a, IPC_STAT, (void *)8), EFAULT, "IPC_STAT to a bad buffer");
    CHECK_ERR(shmctl(a, IPC_SET, (void *)8), EFAULT, "IPC_SET from a bad buffer");
    CHECK_OK(shmctl(a, SHM_LOCK, NULL), "SHM_LOCK");
    shm_stat_line(a, "locked");
    CHECK_OK(shmctl(a, SHM_UNLOCK, NULL), "SHM_UNLOCK");
    shm_stat_line(a, "unlocked");
    const int cols[] = {1, 2, 3, 4, 7, 8, 9, 10, 11, 15, 16};
    sysvipc("shm", cols, 11);
    CHECK_ERR(shmget(IPC_PRIVATE, 4096, SHM_HUGETLB | 0600), ENOMEM, "SHM_HUGETLB");
    CHECK_ERR(shmget(IPC_PRIVATE, 4096, SHM_HUGETLB | (22 << 26) | 0600), EINVAL, "huge page size that does not exist");
}

static void write_file(const char *path, const char *s) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        say("open %s: %s", path, ename(errno));
        return;
    }
    errno = 0;
    int n = write(fd, s, strlen(s));
    say("write %s %s: %s", path, s, n < 0 ? ename(errno) : "ok");
    close(fd);
}

static void shm_sysctl(void) {
    setup();
    cat("shmmax", "/proc/sys/kernel/shmmax");
    cat("shmall", "/proc/sys/kernel/shmall");
    cat("shmmni", "/proc/sys/kernel/shmmni");
    write_file("/proc/sys/kernel/shmmni", "2");
    CHECK_OK(shmget(IPC_PRIVATE, 4096, 0600), "first");
    CHECK_OK(shmget(IPC_PRIVATE, 4096, 0600), "second");
    CHECK_ERR(shmget(IPC_PRIVATE, 4096, 0600), ENOSPC, "shmmni reached");
    write_file("/proc/sys/kernel/shmmni", "40000");
    write_file("/proc/sys/kernel/shmmni", "-1");
    write_file("/proc/sys/kernel/shmmni", "x");
    write_file("/proc/sys/kernel/shmmni", "0x10");
    cat("shmmni", "/proc/sys/kernel/shmmni");
    write_file("/proc/sys/kernel/shmmax", "8192");
    CHECK_ERR(shmget(IPC_PRIVATE, 8193, 0600), EINVAL, "past shmmax");
    CHECK_OK(shmget(IPC_PRIVATE, 8192, 0600), "at shmmax");
    write_file("/proc/sys/kernel/shmall", "4");
    CHECK_ERR(shmget(IPC_PRIVATE, 4096, 0600), ENOSPC, "past shmall (pages)");
    cat("shmall", "/proc/sys/kernel/shmall");
    struct shminfo si;
    shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
    say("IPC_INFO shmmax=%lu shmmni=%lu shmall=%lu", si.shmmax, si.shmmni, si.shmall);
}

/* ------------------------------------------------------------------ sem */

static int semval(int id, int n) { return semctl(id, n, GETVAL); }

static int sop(int id, int num, int op, int flg) {
    struct sembuf b = {num, op, flg};
    return semop(id, &b, 1);
}

static void sem_basic(void) {
    setup();
    int id = MUST(semget(IPC_PRIVATE, 3, IPC_CREAT | 0640));
    say("id %d", id);
    struct semid_ds ds;
    union semun u = {.buf = &ds};
    MUST(semctl(id, 0, IPC_STAT, u));
    say("nsems=%lu mode=%o otime=%d ctime=%d uid=%d", (unsigned long)ds.sem_nsems, ds.sem_perm.mode,
        ds.sem_otime != 0, ds.sem_ctime != 0, ds.sem_perm.uid);
    CHECK_OK(semctl(id, 1, SETVAL, 5), "SETVAL");
    CHECK(semval(id, 1) == 5, "GETVAL");
    CHECK(semctl(id, 1, GETPID) == getpid(), "GETPID after SETVAL");
    unsigned short all[3] = {1, 2, 3}, got[3] = {0};
    CHECK_OK(semctl(id, 0, SETALL, all), "SETALL");
    CHECK_OK(semctl(id, 0, GETALL, got), "GETALL");
    say("values %d %d %d", got[0], got[1], got[2]);
    CHECK_OK(sop(id, 2, 4, 0), "add 4");
    CHECK_OK(sop(id, 2, -7, 0), "take 7");
    CHECK(semval(id, 2) == 0, "now zero");
    CHECK_OK(sop(id, 2, 0, 0), "wait for zero at zero");
    struct sembuf many[3] = {{0, 1, 0}, {1, -2, 0}, {2, 5, 0}};
    CHECK_OK(semop(id, many, 3), "three at once");
    semctl(id, 0, GETALL, got);
    say("values %d %d %d", got[0], got[1], got[2]);
    struct sembuf dup[2] = {{0, 1, 0}, {0, -3, 0}};
    CHECK_OK(semop(id, dup, 2), "twice on one semaphore");
    CHECK(semval(id, 0) == 0, "applied in order");
    MUST(semctl(id, 0, IPC_STAT, u));
    say("otime=%d", ds.sem_otime != 0);
    CHECK_OK(semctl(id, 0, IPC_RMID), "IPC_RMID");
    CHECK_ERR(semctl(id, 0, GETVAL), EINVAL, "gone");
}

static void sem_errors(void) {
    setup();
    int id = MUST(semget(0x33, 2, IPC_CREAT | 0600));
    CHECK_ERR(semget(IPC_PRIVATE, 32001, 0600), EINVAL, "past SEMMSL");
    CHECK_ERR(semget(IPC_PRIVATE, -1, 0600), EINVAL, "negative nsems");
    CHECK_ERR(semget(IPC_PRIVATE, 0, 0600), EINVAL, "no semaphores");
    CHECK_ERR(semget(0x33, 3, 0600), EINVAL, "more than the set has");
    CHECK(semget(0x33, 0, 0600) == id, "nsems 0 for an existing set");
    CHECK_ERR(semget(0x33, 1, IPC_CREAT | IPC_EXCL), EEXIST, "IPC_EXCL");
    CHECK_ERR(semget(0x34, 1, 0600), ENOENT, "no such key");
    struct sembuf b = {0, 1, 0};
    CHECK_ERR(semop(id, &b, 0), EINVAL, "no operations");
    CHECK_ERR(semop(id, &b, 501), E2BIG, "past SEMOPM");
    CHECK_ERR(semop(id, (void *)8, 1), EFAULT, "bad sops");
    CHECK_ERR(semop(-1, &b, 1), EINVAL, "negative id");
    CHECK_ERR(semop(id + 1, &b, 1), EINVAL, "unknown id");
    b.sem_num = 2;
    CHECK_ERR(semop(id, &b, 1), EFBIG, "sem_num past the set");
    CHECK_ERR(semctl(id, 0, SETVAL, 32768), ERANGE, "SETVAL past SEMVMX");
    CHECK_ERR(semctl(id, 0, SETVAL, -1), ERANGE, "SETVAL negative");
    CHECK_ERR(semctl(id, 2, SETVAL, 1), EINVAL, "SETVAL past the set");
    CHECK_ERR(semctl(id, -1, GETVAL), EINVAL, "GETVAL negative index");
    CHECK_ERR(semctl(id, 0, 99), EINVAL, "unknown command");
    unsigned short big[2] = {1, 40000};
    CHECK_ERR(semctl(id, 0, SETALL, big), ERANGE, "SETALL past SEMVMX");
    CHECK_ERR(semctl(id, 0, SETALL, (void *)8), EFAULT, "SETALL from a bad buffer");
    CHECK_ERR(semctl(id, 0, GETALL, (void *)8), EFAULT, "GETALL to a bad buffer");
    MUST(semctl(id, 0, SETVAL, 32767));
    CHECK_ERR(sop(id, 0, 1, 0), ERANGE, "semop past SEMVMX");
    MUST(semctl(id, 0, SETVAL, 0));
    CHECK_ERR(sop(id, 0, -1, IPC_NOWAIT), EAGAIN, "IPC_NOWAIT decrement");
    MUST(semctl(id, 1, SETVAL, 1));
    CHECK_ERR(sop(id, 1, 0, IPC_NOWAIT), EAGAIN, "IPC_NOWAIT wait-for-zero");
    struct sembuf two[2] = {{1, -1, 0}, {0, -1, IPC_NOWAIT}};
    CHECK_ERR(semop(id, two, 2), EAGAIN, "all or nothing");
    CHECK(semval(id, 1) == 1, "the first operation was not applied");
    struct sembuf undo[2] = {{0, 20000, SEM_UNDO}, {0, 20000, SEM_UNDO}};
    MUST(semctl(id, 0, SETVAL, 0));
    CHECK_ERR(semop(id, undo, 2), ERANGE, "value out of range on the way");
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(semtimedop(id, &b, 1, &bad), EINVAL, "bad timeout");
    CHECK_ERR(semtimedop(id, &b, 1, (void *)8), EFAULT, "unreadable timeout");
    struct timespec ten = {0, 10000000};
    struct sembuf w = {0, -1, 0};
    CHECK_ERR(semtimedop(id, &w, 1, &ten), EAGAIN, "timed out");
    struct timespec zero = {0, 0};
    CHECK_ERR(semtimedop(id, &w, 1, &zero), EAGAIN, "zero timeout");
}

static long ncnt_is_1(long id);
static long zcnt_is_1(long id);
static long ncnt_is_1(long id) { return semctl((int)id, 0, GETNCNT) == 1; }
static long zcnt_is_1(long id) { return semctl((int)id, 0, GETZCNT) == 1; }

static void sem_block(void) {
    setup();
    int id = MUST(semget(IPC_PRIVATE, 1, 0600));
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        int r = sop(id, 0, -2, 0);
        say("child semop: %d value now %d", r, semval(id, 0));
        _exit(0);
    }
    until(ncnt_is_1, id);
    say("GETNCNT=%d GETZCNT=%d", semctl(id, 0, GETNCNT), semctl(id, 0, GETZCNT));
    CHECK_OK(sop(id, 0, 1, 0), "one is not enough");
    CHECK(semctl(id, 0, GETNCNT) == 1, "still waiting");
    int r3 = sop(id, 0, 2, 0);
    wait_status(k);
    CHECK(r3 == 0, "three is");
    say("value %d ncnt %d pid_child %d", semval(id, 0), semctl(id, 0, GETNCNT), semctl(id, 0, GETPID) == k);
    /* Wait for zero. */
    k = MUST(fork());
    if (k == 0) {
        int r = sop(id, 0, 0, 0);
        say("child zero wait: %d", r);
        _exit(0);
    }
    until(zcnt_is_1, id);
    say("GETZCNT=%d", semctl(id, 0, GETZCNT));
    int r0 = sop(id, 0, -1, 0);
    wait_status(k);
    CHECK(r0 == 0, "to zero");
    /* FIFO: two waiters, the first one queued goes first when one unit comes. */
    pid_t a = MUST(fork());
    if (a == 0) {
        sop(id, 0, -1, 0);
        say("first waiter done");
        _exit(0);
    }
    until(ncnt_is_1, id);
    pid_t b = MUST(fork());
    if (b == 0) {
        sop(id, 0, -1, 0);
        say("second waiter done");
        _exit(0);
    }
    for (int i = 0; i < 20000 && semctl(id, 0, GETNCNT) != 2; i++) usleep(1000);
    say("GETNCNT=%d", semctl(id, 0, GETNCNT));
    MUST(sop(id, 0, 1, 0));
    wait_status(a);
    MUST(sop(id, 0, 1, 0));
    wait_status(b);
}

static void sem_signal(void) {
    setup();
    int id = MUST(semget(IPC_PRIVATE, 1, 0600));
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        handle(SIGUSR1, SA_RESTART);
        errno = 0;
        int r = sop(id, 0, -1, 0);
        say("semop with SA_RESTART handler: %d %s", r, ename(errno));
        _exit(0);
    }
    until(ncnt_is_1, id);
    kill(k, SIGUSR1);
    wait_status(k);
    say("ncnt after %d", semctl(id, 0, GETNCNT));
    /* Stopped and continued, with no handler: EINTR too. */
    k = MUST(fork());
    if (k == 0) {
        errno = 0;
        int r = sop(id, 0, -1, 0);
        say("semop after SIGSTOP/SIGCONT: %d %s", r, ename(errno));
        _exit(0);
    }
    until(ncnt_is_1, id);
    kill(k, SIGSTOP);
    int st;
    waitpid(k, &st, WUNTRACED);
    kill(k, SIGCONT);
    wait_status(k);
    /* Removal wakes waiters with EIDRM. */
    k = MUST(fork());
    if (k == 0) {
        errno = 0;
        int r = sop(id, 0, -1, 0);
        say("semop when removed: %d %s", r, ename(errno));
        _exit(0);
    }
    until(ncnt_is_1, id);
    int rm = semctl(id, 0, IPC_RMID);
    wait_status(k);
    CHECK(rm == 0, "IPC_RMID");
}

static void sem_undo(void) {
    setup();
    int id = MUST(semget(IPC_PRIVATE, 2, 0600));
    MUST(semctl(id, 0, SETVAL, 5));
    pid_t k = MUST(fork());
    if (k == 0) {
        sop(id, 0, -3, SEM_UNDO);
        sop(id, 1, 2, SEM_UNDO);
        say("child: %d %d", semval(id, 0), semval(id, 1));
        _exit(0);
    }
    wait_status(k);
    say("after exit: %d %d pid_child %d", semval(id, 0), semval(id, 1), semctl(id, 1, GETPID) == k);
    /* Clamped at zero. */
    k = MUST(fork());
    if (k == 0) {
        sop(id, 1, 3, SEM_UNDO);
        _exit(0);
    }
    wait_status(k);
    say("after second exit: %d", semval(id, 1));
    fflush(stdout);
    int p[2];
    MUST(pipe(p));
    k = MUST(fork());
    if (k == 0) {
        sop(id, 1, 3, SEM_UNDO);
        write(p[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    MUST(read(p[0], &c, 1));
    MUST(sop(id, 1, -2, 0));
    kill(k, SIGKILL);
    wait_status(k);
    say("undo clamped at 0: %d", semval(id, 1));
    /* SETVAL forgets adjustments. */
    k = MUST(fork());
    if (k == 0) {
        sop(id, 1, 4, SEM_UNDO);
        semctl(id, 1, SETVAL, 1);
        _exit(0);
    }
    wait_status(k);
    say("after SETVAL in between: %d", semval(id, 1));
    /* An exit's undo completes waiters. */
    MUST(semctl(id, 0, SETVAL, 0));
    k = MUST(fork());
    if (k == 0) {
        sop(id, 0, 1, SEM_UNDO);
        write(p[1], "x", 1);
        pause();
        _exit(0);
    }
    MUST(read(p[0], &c, 1));
    pid_t w = MUST(fork());
    if (w == 0) {
        int r = sop(id, 0, 0, 0);
        say("zero waiter woke by the undo: %d", r);
        _exit(0);
    }
    until(zcnt_is_1, id);
    kill(k, SIGKILL);
    wait_status(k);
    wait_status(w);
    /* The adjustment's own range. */
    struct sembuf neg[2] = {{0, 32767, SEM_UNDO}, {0, -32767, 0}};
    CHECK_OK(semop(id, neg, 2), "adjustment -32767 with the value back at 0");
    CHECK_OK(sop(id, 0, 1, SEM_UNDO), "adjustment -32768 is the lowest");
    CHECK_ERR(sop(id, 0, 1, SEM_UNDO), ERANGE, "adjustment past it");
    CHECK(semval(id, 0) == 1, "nothing applied");
}

static void sem_perms(void) {
    setup();
    int id = MUST(semget(0x44, 1, IPC_CREAT | 0640));
    pid_t k = MUST(fork());
    if (k == 0) {
        MUST(setresgid(1000, 1000, 1000));
        MUST(setresuid(1000, 1000, 1000));
        struct semid_ds ds;
        union semun u = {.buf = &ds};
        CHECK_ERR(sop(id, 0, 1, 0), EACCES, "semop without write permission");
        CHECK_ERR(sop(id, 0, 0, IPC_NOWAIT), EACCES, "wait-for-zero needs read permission");
        CHECK_ERR(semctl(id, 0, GETVAL), EACCES, "GETVAL");
        CHECK_ERR(semctl(id, 0, SETVAL, 1), EACCES, "SETVAL");
        CHECK_ERR(semctl(id, 0, IPC_STAT, u), EACCES, "IPC_STAT");
        CHECK(semctl(id, 0, SEM_STAT_ANY, u) == id, "SEM_STAT_ANY");
        CHECK_ERR(semctl(id, 0, IPC_RMID), EPERM, "IPC_RMID");
        _exit(t_failed);
    }
    say("other user: %s", wdesc(wait_status(k)));
    k = MUST(fork());
    if (k == 0) {
        MUST(setresgid(0, 0, 0));
        MUST(setresuid(1000, 1000, 1000));
        CHECK(semctl(id, 0, GETVAL) == 0, "group may read");
        CHECK_ERR(semctl(id, 0, SETVAL, 1), EACCES, "but not write");
        _exit(t_failed);
    }
    say("group member: %s", wdesc(wait_status(k)));
}

static void sem_info(void) {
    setup();
    struct seminfo si;
    int r = semctl(0, 0, IPC_INFO, (union semun){.__buf = &si});
    say("IPC_INFO=%d map=%d mni=%d mns=%d mnu=%d msl=%d opm=%d ume=%d usz=%d vmx=%d aem=%d", r, si.semmap,
        si.semmni, si.semmns, si.semmnu, si.semmsl, si.semopm, si.semume, si.semusz, si.semvmx, si.semaem);
    MUST(semget(IPC_PRIVATE, 4, 0600));
    int b = MUST(semget(0x1234, 7, IPC_CREAT | 0666));
    r = semctl(0, 0, SEM_INFO, (union semun){.__buf = &si});
    say("SEM_INFO=%d usz=%d aem=%d", r, si.semusz, si.semaem);
    struct semid_ds ds;
    CHECK(semctl(1, 0, SEM_STAT, (union semun){.buf = &ds}) == b, "SEM_STAT by index");
    CHECK_ERR(semctl(5, 0, SEM_STAT, (union semun){.buf = &ds}), EINVAL, "empty index");
    CHECK_ERR(semctl(-1, 0, IPC_INFO, (union semun){.__buf = &si}), EINVAL, "negative id");
    const int cols[] = {1, 2, 3, 4, 5, 6, 7, 8};
    sysvipc("sem", cols, 8);
    cat("sem", "/proc/sys/kernel/sem");
    write_file("/proc/sys/kernel/sem", "250 32000 32 3");
    cat("sem", "/proc/sys/kernel/sem");
    CHECK_ERR(semget(IPC_PRIVATE, 251, 0600), EINVAL, "new semmsl");
    CHECK_OK(semget(IPC_PRIVATE, 250, 0600), "at semmsl");
    CHECK_ERR(semget(IPC_PRIVATE, 1, 0600), ENOSPC, "new semmni");
    struct sembuf ops[33];
    memset(ops, 0, sizeof ops);
    CHECK_ERR(semop(b, ops, 33), E2BIG, "new semopm");
    write_file("/proc/sys/kernel/sem", "250 32000 32 40000");
    write_file("/proc/sys/kernel/sem", " \n");
    cat("sem", "/proc/sys/kernel/sem");
    write_file("/proc/sys/kernel/sem", "250 100");
    cat("sem", "/proc/sys/kernel/sem");
    CHECK_ERR(semget(IPC_PRIVATE, 50, 0600), ENOSPC, "semmns reached");
}

/* ------------------------------------------------------------------ msg */

struct mbuf {
    long mtype;
    char mtext[256];
};

static int msnd(int q, long type, const char *text, int flg) {
    struct mbuf m = {type, ""};
    strcpy(m.mtext, text);
    return msgsnd(q, &m, strlen(text), flg);
}

static void mrcv(int q, long type, int flg, size_t sz, const char *what) {
    struct mbuf m = {0, ""};
    errno = 0;
    long n = msgrcv(q, &m, sz, type, flg);
    if (n < 0)
        say("%s: %s", what, ename(errno));
    else
        say("%s: type %ld \"%.*s\"", what, m.mtype, (int)n, m.mtext);
}

static void msg_stat_line(int q, const char *what) {
    struct msqid_ds ds;
    if (msgctl(q, IPC_STAT, &ds) != 0) {
        say("%s: IPC_STAT %s", what, ename(errno));
        return;
    }
    say("%s: mode=%o qnum=%lu cbytes=%lu qbytes=%lu lspid_me=%d lrpid_me=%d stime=%d rtime=%d", what,
        ds.msg_perm.mode, (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes,
        ds.msg_lspid == getpid(), ds.msg_lrpid == getpid(), ds.msg_stime != 0, ds.msg_rtime != 0);
}

static void msg_basic(void) {
    setup();
    int q = MUST(msgget(IPC_PRIVATE, 0600));
    say("id %d", q);
    msg_stat_line(q, "new");
    CHECK_OK(msnd(q, 3, "three", 0), "send 3");
    CHECK_OK(msnd(q, 1, "one", 0), "send 1");
    CHECK_OK(msnd(q, 2, "two", 0), "send 2");
    CHECK_OK(msnd(q, 1, "uno", 0), "send 1 again");
    CHECK_OK(msnd(q, 5, "five", 0), "send 5");
    msg_stat_line(q, "five queued");
    mrcv(q, 2, 0, 100, "type 2");
    mrcv(q, -4, 0, 100, "lowest type <= 4");
    mrcv(q, 1, MSG_EXCEPT, 100, "not type 1");
    mrcv(q, 0, 0, 100, "first");
    mrcv(q, 7, IPC_NOWAIT, 100, "type 7");
    mrcv(q, 0, 0, 2, "too small");
    mrcv(q, 0, MSG_NOERROR, 2, "truncated");
    msg_stat_line(q, "drained");
    mrcv(q, 0, IPC_NOWAIT, 100, "empty");
    CHECK_ERR(msnd(q, 0, "x", 0), EINVAL, "type 0");
    CHECK_ERR(msnd(q, -1, "x", 0), EINVAL, "negative type");
    struct mbuf m = {1, ""};
    CHECK_ERR(msgsnd(q, &m, 8193, 0), EINVAL, "past msgmax");
    CHECK_ERR(msgsnd(q, (void *)8, 1, 0), EFAULT, "bad buffer");
    CHECK_ERR(msgsnd(-1, &m, 1, 0), EINVAL, "negative id");
    CHECK_ERR(msgsnd(q + 1, &m, 1, 0), EINVAL, "unknown id");
    CHECK_ERR(msgrcv(q, &m, (size_t)-1, 0, 0), EINVAL, "negative size");
    CHECK_ERR(msgrcv(q, (void *)8, 10, 0, IPC_NOWAIT), ENOMSG, "nothing to fault on");
    CHECK_OK(msnd(q, 9, "lost", 0), "send");
    CHECK_ERR(msgrcv(q, (void *)8, 10, 0, 0), EFAULT, "bad receive buffer");
    msg_stat_line(q, "message taken by the fault");
    CHECK_OK(msgsnd(q, &m, 0, 0), "empty message");
    mrcv(q, 0, 0, 0, "empty");
    CHECK_OK(msgctl(q, IPC_RMID, NULL), "IPC_RMID");
    CHECK_ERR(msnd(q, 1, "x", 0), EINVAL, "gone");
}

static void msg_copy(void) {
    setup();
    int q = MUST(msgget(IPC_PRIVATE, 0600));
    msnd(q, 4, "a", 0);
    msnd(q, 5, "bb", 0);
    msnd(q, 6, "ccc", 0);
    mrcv(q, 1, MSG_COPY | IPC_NOWAIT, 100, "copy of #1");
    mrcv(q, 0, MSG_COPY | IPC_NOWAIT, 100, "copy of #0");
    mrcv(q, 3, MSG_COPY | IPC_NOWAIT, 100, "copy of #3");
    mrcv(q, 2, MSG_COPY, 100, "without IPC_NOWAIT");
    mrcv(q, 2, MSG_COPY | IPC_NOWAIT | MSG_EXCEPT, 100, "with MSG_EXCEPT");
    mrcv(q, 2, MSG_COPY | IPC_NOWAIT, 2, "too small");
    mrcv(q, 2, MSG_COPY | IPC_NOWAIT | MSG_NOERROR, 2, "too small, MSG_NOERROR");
    msg_stat_line(q, "copies leave messages");
    struct mbuf m;
    CHECK_ERR(msgrcv(q, (void *)8, 100, 0, MSG_COPY | IPC_NOWAIT), EFAULT, "bad buffer");
    (void)m;
}

static long qnum_is(long a) {
    struct msqid_ds ds;
    return msgctl((int)(a >> 8), IPC_STAT, &ds) == 0 && (long)ds.msg_qnum == (a & 0xff);
}

static void msg_block(void) {
    setup();
    int q = MUST(msgget(IPC_PRIVATE, 0600));
    struct msqid_ds ds;
    MUST(msgctl(q, IPC_STAT, &ds));
    ds.msg_qbytes = 10;
    CHECK_OK(msgctl(q, IPC_SET, &ds), "qbytes 10");
    CHECK_OK(msnd(q, 1, "12345678", 0), "8 bytes fit");
    CHECK_ERR(msnd(q, 1, "abc", IPC_NOWAIT), EAGAIN, "3 more do not");
    CHECK_OK(msnd(q, 1, "ab", 0), "2 more do");
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        int r = msnd(q, 2, "xyz", 0);
        say("blocked sender: %d", r);
        _exit(0);
    }
    struct mbuf got = {0, ""};
    long gn = msgrcv(q, &got, 100, 0, 0);
    wait_status(k);
    say("made room by taking type %ld \"%.*s\"", got.mtype, (int)gn, got.mtext);
    msg_stat_line(q, "after");
    /* Message count limit: qbytes also bounds the number of messages. */
    MUST(msgctl(q, IPC_STAT, &ds));
    ds.msg_qbytes = 3;
    MUST(msgctl(q, IPC_SET, &ds));
    mrcv(q, 0, 0, 100, "drain");
    mrcv(q, 0, 0, 100, "drain");
    CHECK_OK(msgsnd(q, &(struct mbuf){1, ""}, 0, 0), "empty 1");
    CHECK_OK(msgsnd(q, &(struct mbuf){1, ""}, 0, 0), "empty 2");
    CHECK_OK(msgsnd(q, &(struct mbuf){1, ""}, 0, 0), "empty 3");
    CHECK_ERR(msgsnd(q, &(struct mbuf){1, ""}, 0, IPC_NOWAIT), EAGAIN, "fourth empty message");
    MUST(msgctl(q, IPC_RMID, NULL));
    /* Receivers: each gets what it asked for. */
    q = MUST(msgget(IPC_PRIVATE, 0600));
    fflush(stdout);
    pid_t a = MUST(fork());
    if (a == 0) {
        mrcv(q, 2, 0, 100, "waiter for type 2");
        _exit(0);
    }
    pid_t b = MUST(fork());
    if (b == 0) {
        mrcv(q, 0, 0, 2, "small waiter");
        _exit(0);
    }
    usleep(50000);
    msnd(q, 1, "long message", 0);
    wait_status(b);
    msnd(q, 2, "two", 0);
    wait_status(a);
    msg_stat_line(q, "end");
    mrcv(q, 0, IPC_NOWAIT, 100, "left");
    (void)qnum_is;
}

static void msg_signal(void) {
    setup();
    int q = MUST(msgget(IPC_PRIVATE, 0600));
    fflush(stdout);
    /* Handlers are set before fork: the signal may come before the child's first step. */
    handle(SIGUSR1, SA_RESTART);
    pid_t k = MUST(fork());
    if (k == 0) {
        mrcv(q, 0, 0, 100, "msgrcv with SA_RESTART handler");
        _exit(0);
    }
    signal_until_exit(k);
    struct msqid_ds ds;
    MUST(msgctl(q, IPC_STAT, &ds));
    ds.msg_qbytes = 1;
    MUST(msgctl(q, IPC_SET, &ds));
    handle(SIGUSR1, 0);
    k = MUST(fork());
    if (k == 0) {
        msnd(q, 1, "a", 0);
        errno = 0;
        int r = msnd(q, 1, "b", 0);
        say("blocked msgsnd: %d %s", r, ename(errno));
        _exit(0);
    }
    signal_until_exit(k);
    mrcv(q, 0, IPC_NOWAIT, 100, "queued");
    /* Removal wakes both kinds of waiters: EIDRM (or EINVAL if one came too late to wait,
     * which cannot be told apart from outside: both count as gone). */
    CHECK_OK(msnd(q, 1, "q", 0), "fill the 1-byte queue");
    fflush(stdout);
    pid_t a = MUST(fork());
    if (a == 0) {
        struct mbuf m;
        long r = msgrcv(q, &m, 100, 5, 0);
        _exit(r == -1 && (errno == EIDRM || errno == EINVAL) ? 0 : 1);
    }
    pid_t b = MUST(fork());
    if (b == 0) {
        int r = msnd(q, 1, "y", 0);
        _exit(r == -1 && (errno == EIDRM || errno == EINVAL) ? 0 : 1);
    }
    usleep(50000);
    int rm = msgctl(q, IPC_RMID, NULL);
    say("receiver of type 5 at removal (exit 0: gone): %s", wdesc(wait_status(a)));
    say("sender at removal (exit 0: gone): %s", wdesc(wait_status(b)));
    CHECK(rm == 0, "IPC_RMID");
}

static void msg_ctl(void) {
    setup();
    struct msginfo mi;
    int r = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
    say("IPC_INFO=%d pool=%d map=%d max=%d mnb=%d mni=%d ssz=%d tql=%d seg=%d", r, mi.msgpool, mi.msgmap,
        mi.msgmax, mi.msgmnb, mi.msgmni, mi.msgssz, mi.msgtql, mi.msgseg);
    int a = MUST(msgget(0x55, IPC_CREAT | 0660));
    int b = MUST(msgget(IPC_PRIVATE, 0600));
    msnd(a, 1, "hello", 0);
    msnd(b, 1, "hi", 0);
    msnd(b, 1, "hey", 0);
    r = msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
    say("MSG_INFO=%d pool=%d map=%d tql=%d", r, mi.msgpool, mi.msgmap, mi.msgtql);
    struct msqid_ds ds;
    CHECK(msgctl(1, MSG_STAT, &ds) == b, "MSG_STAT by index");
    CHECK(msgctl(1, MSG_STAT_ANY, &ds) == b, "MSG_STAT_ANY");
    CHECK_ERR(msgctl(9, MSG_STAT, &ds), EINVAL, "empty index");
    CHECK_ERR(msgctl(a, 77, &ds), EINVAL, "unknown command");
    CHECK_ERR(msgctl(a, IPC_STAT, (void *)8), EFAULT, "bad buffer");
    const int cols[] = {1, 2, 3, 4, 5, 8, 9, 10, 11};
    sysvipc("msg", cols, 9);
    CHECK(msgget(0x55, 0) == a, "by key");
    CHECK_ERR(msgget(0x55, IPC_CREAT | IPC_EXCL), EEXIST, "IPC_EXCL");
    MUST(msgctl(a, IPC_STAT, &ds));
    ds.msg_qbytes = 16385;
    CHECK_ERR(msgctl(a, IPC_SET, &ds), EPERM, "qbytes past msgmnb without CAP_SYS_RESOURCE");
    ds.msg_qbytes = 100;
    ds.msg_perm.mode = 0604;
    CHECK_OK(msgctl(a, IPC_SET, &ds), "IPC_SET");
    msg_stat_line(a, "set");
    pid_t k = MUST(fork());
    if (k == 0) {
        MUST(setresgid(1000, 1000, 1000));
        MUST(setresuid(1000, 1000, 1000));
        CHECK_ERR(msnd(a, 1, "x", 0), EACCES, "send without write permission");
        mrcv(a, 0, IPC_NOWAIT, 100, "others may read");
        CHECK_ERR(msgctl(a, IPC_RMID, NULL), EPERM, "IPC_RMID by another user");
        CHECK_ERR(msgget(0x55, 0600), EACCES, "msgget asking for rw");
        _exit(t_failed);
    }
    say("other user: %s", wdesc(wait_status(k)));
    cat("msgmax", "/proc/sys/kernel/msgmax");
    cat("msgmnb", "/proc/sys/kernel/msgmnb");
    cat("msgmni", "/proc/sys/kernel/msgmni");
    write_file("/proc/sys/kernel/msgmax", "4");
    CHECK_ERR(msnd(b, 1, "12345", 0), EINVAL, "past the new msgmax");
    write_file("/proc/sys/kernel/msgmnb", "300");
    int c = MUST(msgget(IPC_PRIVATE, 0600));
    msg_stat_line(c, "new queue");
    write_file("/proc/sys/kernel/msgmni", "3");
    CHECK_ERR(msgget(IPC_PRIVATE, 0600), ENOSPC, "msgmni reached");
    write_file("/proc/sys/kernel/msgmni", "32769");
    write_file("/proc/sys/kernel/msgmax", "-1");
}

/* ------------------------------------------------------------------ POSIX mq */

static void mq_show(mqd_t q, const char *what) {
    struct mq_attr a;
    if (mq_getattr(q, &a) != 0) {
        say("%s: getattr %s", what, ename(errno));
        return;
    }
    say("%s: flags=%#lx maxmsg=%ld msgsize=%ld curmsgs=%ld", what, a.mq_flags, a.mq_maxmsg, a.mq_msgsize,
        a.mq_curmsgs);
}

static void mq_basic(void) {
    setup();
    struct mq_attr at = {0, 4, 64, 0};
    mqd_t q = mq_open("/basic", O_CREAT | O_RDWR, 0640, &at);
    CHECK(q >= 0, "mq_open creates");
    mq_show(q, "new");
    say("cloexec %d getfl %#o", fcntl(q, F_GETFD), fcntl(q, F_GETFL));
    CHECK_OK(mq_send(q, "low", 3, 1), "send prio 1");
    CHECK_OK(mq_send(q, "high", 4, 9), "send prio 9");
    CHECK_OK(mq_send(q, "low2", 4, 1), "send prio 1 again");
    CHECK_OK(mq_send(q, "mid", 3, 5), "send prio 5");
    mq_show(q, "full");
    for (int i = 0; i < 4; i++) {
        char b[64];
        unsigned prio;
        ssize_t n = mq_receive(q, b, 64, &prio);
        say("got %zd \"%.*s\" prio %u", n, (int)n, b, prio);
    }
    struct stat st;
    MUST(fstat(q, &st));
    say("fstat mode %o size %ld nlink %ld", st.st_mode, (long)st.st_size, (long)st.st_nlink);
    mqd_t r = mq_open("/basic", O_RDONLY);
    CHECK(r >= 0, "open again read-only");
    CHECK_ERR(mq_send(r, "x", 1, 0), EBADF, "send on a read-only descriptor");
    mqd_t w = mq_open("/basic", O_WRONLY | O_NONBLOCK);
    char b[64];
    CHECK_ERR(mq_receive(w, b, 64, NULL), EBADF, "receive on a write-only descriptor");
    mq_show(w, "nonblocking");
    CHECK_OK(mq_unlink("/basic"), "unlink");
    CHECK_ERR(mq_open("/basic", O_RDONLY), ENOENT, "gone by name");
    CHECK_OK(mq_send(q, "still", 5, 0), "an open queue outlives its name");
    MUST(fstat(q, &st));
    say("after unlink nlink %ld", (long)st.st_nlink);
    char link[64], p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", q);
    int n = readlink(p, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    say("fd link %s", link);
    CHECK_ERR(mq_unlink("/basic"), ENOENT, "unlink twice");
}

static void mq_errors(void) {
    setup();
    char big[300];
    memset(big, 'a', 299);
    big[299] = 0;
    CHECK_ERR(syscall(SYS_mq_open, "", O_RDWR | O_CREAT, 0600, NULL), ENOENT, "empty name");
    CHECK_ERR(syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, NULL), EACCES, "slash in the name");
    CHECK_ERR(syscall(SYS_mq_open, ".", O_RDWR | O_CREAT, 0600, NULL), EACCES, "dot");
    CHECK_ERR(syscall(SYS_mq_open, "..", O_RDWR, 0600, NULL), EACCES, "dot dot");
    CHECK_ERR(syscall(SYS_mq_open, big, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG, "long name");
    CHECK_ERR(syscall(SYS_mq_open, (void *)8, O_RDWR | O_CREAT, 0600, NULL), EFAULT, "bad name");
    CHECK_ERR(syscall(SYS_mq_open, "q", O_RDWR | O_CREAT, 0600, (void *)8), EFAULT, "bad attr");
    CHECK_ERR(mq_open("noslash", O_RDWR | O_CREAT, 0600, NULL), EINVAL, "glibc: no leading slash");
    CHECK_ERR(mq_unlink("/nope"), ENOENT, "unlink missing");
    CHECK_ERR(syscall(SYS_mq_unlink, "a/b"), EACCES, "unlink with a slash");
    struct mq_attr a = {0, 11, 100, 0};
    CHECK_ERR(mq_open("/q", O_CREAT | O_RDWR, 0600, &a), EINVAL, "maxmsg past msg_max");
    a.mq_maxmsg = 10;
    a.mq_msgsize = 8193;
    CHECK_ERR(mq_open("/q", O_CREAT | O_RDWR, 0600, &a), EINVAL, "msgsize past msgsize_max");
    a.mq_maxmsg = 0;
    a.mq_msgsize = 10;
    CHECK_ERR(mq_open("/q", O_CREAT | O_RDWR, 0600, &a), EINVAL, "maxmsg 0");
    a.mq_maxmsg = 1;
    a.mq_msgsize = -5;
    CHECK_ERR(mq_open("/q", O_CREAT | O_RDWR, 0600, &a), EINVAL, "negative msgsize");
    CHECK_ERR(mq_open("/q", O_RDWR, 0600, NULL), ENOENT, "missing without O_CREAT");
    mqd_t q = mq_open("/q", O_CREAT | O_RDWR, 0600, NULL);
    CHECK(q >= 0, "defaults");
    mq_show(q, "default attr");
    CHECK_ERR(mq_open("/q", O_CREAT | O_EXCL | O_RDWR, 0600, NULL), EEXIST, "O_EXCL");
    CHECK_ERR(mq_open("/q", O_RDWR | O_WRONLY), EINVAL, "both access modes on an existing queue");
    CHECK(mq_open("/q", O_CREAT | O_RDWR, 0600, &a) >= 0, "attr ignored when it exists");
    CHECK_ERR(mq_send(q, "x", 1, 32768), EINVAL, "prio past MQ_PRIO_MAX");
    CHECK_OK(mq_send(q, "x", 1, 32767), "highest prio");
    char buf[9000];
    CHECK_ERR(mq_receive(q, buf, 8191, NULL), EMSGSIZE, "buffer smaller than msgsize");
    CHECK_ERR(mq_send(q, buf, 8193, 0), EMSGSIZE, "message past msgsize");
    CHECK_ERR(mq_send(0, "x", 1, 0), EBADF, "not a queue");
    CHECK_ERR(mq_send(99, "x", 1, 0), EBADF, "not open");
    CHECK_ERR(mq_send(q, (void *)8, 1, 0), EFAULT, "bad message");
    CHECK_ERR(mq_getattr(1, &a), EBADF, "getattr of not a queue");
    struct mq_attr na = {O_NONBLOCK | O_RDWR, 0, 0, 0};
    CHECK_ERR(mq_setattr(q, &na, NULL), EINVAL, "flags other than O_NONBLOCK");
    na.mq_flags = O_NONBLOCK;
    struct mq_attr old;
    CHECK_OK(mq_setattr(q, &na, &old), "set O_NONBLOCK");
    say("old flags %#lx, now F_GETFL %#o", old.mq_flags, fcntl(q, F_GETFL));
    CHECK_OK(mq_receive(q, buf, 8192, NULL), "take the message");
    CHECK_ERR(mq_receive(q, buf, 8192, NULL), EAGAIN, "empty, nonblocking");
    for (int i = 0; i < 10; i++) mq_send(q, "f", 1, 0);
    CHECK_ERR(mq_send(q, "f", 1, 0), EAGAIN, "full, nonblocking");
    struct timespec bad = {0, -1};
    CHECK_ERR(mq_timedsend(q, "f", 1, 0, &bad), EINVAL, "bad timeout");
    CHECK_ERR(mq_timedreceive(q, buf, 8192, NULL, (void *)8), EFAULT, "unreadable timeout");
    CHECK_ERR(mq_receive(q, (void *)8, 8192, NULL), EFAULT, "bad receive buffer");
    mq_show(q, "the message was taken anyway");
    CHECK_ERR(write(q, "x", 1), EINVAL, "write(2) on a queue");
    CHECK_ERR(fsync(q), EINVAL, "fsync");
    mqd_t none = mq_open("/q2", O_CREAT | O_RDWR | O_WRONLY, 0600, NULL);
    CHECK(none >= 0, "creating with both access modes gives a descriptor");
    CHECK_ERR(mq_send(none, "x", 1, 0), EBADF, "that can neither send");
    CHECK_ERR(mq_receive(none, buf, 8192, NULL), EBADF, "nor receive");
}

static void mq_files(void) {
    setup();
    const char *d = mqdir();
    struct mq_attr a = {0, 3, 16, 0};
    mqd_t q = mq_open("/one", O_CREAT | O_RDWR, 0640, &a);
    mqd_t r = mq_open("/two", O_CREAT | O_RDWR, 0600, NULL);
    CHECK(q >= 0 && r >= 0, "two queues");
    mq_send(q, "hello", 5, 1);
    mq_send(q, "hi", 2, 2);
    cat("one", mqpath("one"));
    cat("two", mqpath("two"));
    struct stat st;
    MUST(stat(d, &st));
    say("dir mode %o size %ld nlink %ld", st.st_mode, (long)st.st_size, (long)st.st_nlink);
    MUST(stat(mqpath("one"), &st));
    say("file mode %o size %ld nlink %ld", st.st_mode, (long)st.st_size, (long)st.st_nlink);
    struct statfs sf;
    MUST(statfs(d, &sf));
    say("statfs type %#lx bsize %ld namelen %ld", (long)sf.f_type, (long)sf.f_bsize, (long)sf.f_namelen);
    DIR *dir = MUSTP(opendir(d));
    struct dirent *de;
    char names[8][64];
    int n = 0;
    while ((de = readdir(dir)) && n < 8)
        if (de->d_name[0] != '.') snprintf(names[n++], 64, "%s type %d", de->d_name, de->d_type);
    closedir(dir);
    qsort(names, n, 64, (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) say("entry %s", names[i]);
    /* A queue made by open(2) in the file system, with default attributes. */
    int fd = open(mqpath("three"), O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0, "open O_CREAT in the mqueue file system");
    mq_show(fd, "made by open");
    CHECK_OK(mq_send(fd, "via open", 8, 0), "an opened file is a queue");
    cat("three", mqpath("three"));
    MUST(stat(d, &st));
    say("dir size %ld", (long)st.st_size);
    CHECK_ERR(mkdir(mqpath("sub"), 0755), EPERM, "mkdir");
    CHECK_ERR(symlink("x", mqpath("link")), EPERM, "symlink");
    CHECK_ERR(mknod(mqpath("fifo"), S_IFIFO | 0600, 0), EPERM, "mknod");
    CHECK_ERR(rename(mqpath("one"), mqpath("uno")), EPERM, "rename");
    CHECK_ERR(write(fd, "x", 1), EINVAL, "write");
    char buf[200];
    CHECK(lseek(fd, 6, SEEK_SET) == 6, "lseek");
    n = read(fd, buf, sizeof buf);
    say("read from 6: %.*s", n > 0 ? n - 1 : 0, buf);
    CHECK_OK(fchmod(fd, 0600), "fchmod");
    MUST(fstat(fd, &st));
    say("mode now %o", st.st_mode);
    CHECK_OK(unlink(mqpath("three")), "unlink(2) removes a queue");
    CHECK_ERR(mq_open("/three", O_RDWR), ENOENT, "gone by name");
    CHECK_OK(mq_unlink("/two"), "mq_unlink");
    CHECK_ERR(access(mqpath("two"), F_OK), ENOENT, "gone from the file system");
    close(fd);
}

static volatile sig_atomic_t got_sig, got_code, got_val, got_pid_ok;
static void on_rt(int s, siginfo_t *si, void *u) {
    (void)u;
    got_sig = s;
    got_code = si->si_code;
    got_val = si->si_value.sival_int;
    got_pid_ok = si->si_pid == getpid();
}

/* The status line of queue descriptor `q` (read through it: closing a descriptor of the
 * queue would drop our own registration), NOTIFY_PID shown as self/other/0. */
static void qstatus(const char *what, mqd_t q) {
    char line[128];
    int n = pread(q, line, sizeof line - 1, 0);
    line[n > 0 ? n : 0] = 0;
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    char *pid = strstr(line, "NOTIFY_PID:");
    if (pid) {
        int v = atoi(pid + 11);
        pid[11] = 0;
        say("%s: %s%s", what, line, v == getpid() ? "self" : v ? "other" : "0");
    } else {
        say("%s: %s", what, line);
    }
}

static void mq_notify_case(void) {
    setup();
    struct sigaction sa = {0};
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    mqd_t q = mq_open("/n", O_CREAT | O_RDWR, 0600, NULL);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_int = 77;
    CHECK_OK(mq_notify(q, &ev), "register SIGEV_SIGNAL");
    CHECK_ERR(mq_notify(q, &ev), EBUSY, "only one registration");
    qstatus("registered", q);
    CHECK_OK(mq_send(q, "a", 1, 0), "first message");
    say("signal %d code %d (SI_MESGQ %d) value %d from us %d", got_sig, got_code, SI_MESGQ, got_val, got_pid_ok);
    qstatus("fired", q);
    got_sig = 0;
    CHECK_OK(mq_send(q, "b", 1, 0), "second message");
    say("no second signal: %d", got_sig);
    CHECK_OK(mq_notify(q, &ev), "register again");
    CHECK_OK(mq_send(q, "c", 1, 0), "not empty: no notification");
    say("signal %d", got_sig);
    char b[8192];
    for (int i = 0; i < 3; i++) mq_receive(q, b, sizeof b, NULL);
    CHECK_OK(mq_send(q, "d", 1, 0), "empty to one");
    say("signal %d value %d", got_sig, got_val);
    mq_receive(q, b, sizeof b, NULL);
    /* No signal number: registered, fires silently. */
    ev.sigev_signo = 0;
    got_sig = 0;
    CHECK_OK(mq_notify(q, &ev), "signal 0");
    qstatus("signal 0", q);
    mq_send(q, "e", 1, 0);
    qstatus("after", q);
    say("signal %d", got_sig);
    mq_receive(q, b, sizeof b, NULL);
    /* SIGEV_NONE registers without a signal. */
    ev.sigev_notify = SIGEV_NONE;
    CHECK_OK(mq_notify(q, &ev), "SIGEV_NONE");
    qstatus("none", q);
    CHECK_ERR(mq_notify(q, &ev), EBUSY, "busy");
    CHECK_OK(mq_notify(q, NULL), "unregister");
    CHECK_OK(mq_notify(q, NULL), "unregister again");
    /* Another process may not register while we are, nor unregister us. */
    CHECK_OK(mq_notify(q, &ev), "register");
    pid_t k = MUST(fork());
    if (k == 0) {
        CHECK_ERR(mq_notify(q, &ev), EBUSY, "child: busy");
        CHECK_OK(mq_notify(q, NULL), "child: unregister is silently ignored");
        qstatus("child sees", q);
        _exit(t_failed);
    }
    say("child: %s", wdesc(wait_status(k)));
    qstatus("still", q);
    /* A close of any descriptor of the queue by the owner unregisters. */
    mqd_t q2 = mq_open("/n", O_RDWR);
    close(q2);
    qstatus("after close", q);
    /* So does the owner's exit. */
    k = MUST(fork());
    if (k == 0) {
        mq_notify(q, &ev);
        _exit(0);
    }
    wait_status(k);
    qstatus("after child exit", q);
    cat("file", mqpath("n"));
    /* Bad requests. */
    ev.sigev_notify = 5;
    CHECK_ERR(mq_notify(q, &ev), EINVAL, "unknown sigev_notify");
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 65;
    CHECK_ERR(mq_notify(q, &ev), EINVAL, "bad signal");
    ev.sigev_notify = SIGEV_THREAD_ID;
    CHECK_ERR(mq_notify(q, &ev), EINVAL, "SIGEV_THREAD_ID");
    CHECK_ERR(syscall(SYS_mq_notify, q, (void *)8), EFAULT, "bad sigevent");
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    CHECK_ERR(mq_notify(0, &ev), EBADF, "not a queue");
    /* SIGEV_THREAD at the syscall: the descriptor must be a netlink socket. */
    int p[2];
    MUST(pipe(p));
    char cookie[32] = {0};
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_signo = p[0];
    ev.sigev_value.sival_ptr = cookie;
    CHECK_ERR(syscall(SYS_mq_notify, q, &ev), ENOTSOCK, "SIGEV_THREAD with a pipe");
    ev.sigev_signo = 99;
    CHECK_ERR(syscall(SYS_mq_notify, q, &ev), EBADF, "SIGEV_THREAD with no descriptor");
    ev.sigev_value.sival_ptr = (void *)8;
    CHECK_ERR(syscall(SYS_mq_notify, q, &ev), EFAULT, "SIGEV_THREAD with a bad cookie");
}

static void mq_block(void) {
    setup();
    struct mq_attr a = {0, 2, 32, 0};
    mqd_t q = mq_open("/b", O_CREAT | O_RDWR, 0600, &a);
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        char b[32];
        unsigned prio;
        ssize_t n = mq_receive(q, b, 32, &prio);
        say("blocked receiver got %zd \"%.*s\" prio %u", n, (int)n, b, prio);
        _exit(0);
    }
    usleep(50000);
    int sr = mq_send(q, "wake", 4, 3);
    wait_status(k);
    CHECK(sr == 0, "send to a waiting receiver");
    mq_show(q, "handed over, not queued");
    CHECK_OK(mq_send(q, "1", 1, 0), "fill");
    CHECK_OK(mq_send(q, "2", 1, 0), "fill");
    k = MUST(fork());
    if (k == 0) {
        int r = mq_send(q, "3", 1, 7);
        say("blocked sender: %d", r);
        _exit(0);
    }
    usleep(50000);
    char b[32];
    unsigned prio;
    ssize_t n = mq_receive(q, b, 32, &prio);
    wait_status(k);
    say("took \"%.*s\"", (int)n, b);
    n = mq_receive(q, b, 32, &prio);
    say("then \"%.*s\" prio %u", (int)n, b, prio);
    n = mq_receive(q, b, 32, &prio);
    say("then \"%.*s\" prio %u", (int)n, b, prio);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    CHECK_ERR(mq_timedreceive(q, b, 32, NULL, &ts), ETIMEDOUT, "timed receive");
    struct timespec past = {1, 0};
    CHECK_ERR(mq_timedreceive(q, b, 32, NULL, &past), ETIMEDOUT, "timeout in the past");
    mq_send(q, "x", 1, 0);
    CHECK(mq_timedreceive(q, b, 32, NULL, &past) == 1, "a past timeout does not matter when there is a message");
    mq_send(q, "x", 1, 0);
    mq_send(q, "x", 1, 0);
    CHECK_ERR(mq_timedsend(q, "y", 1, 0, &past), ETIMEDOUT, "timed send on a full queue");
    mq_receive(q, b, 32, NULL);
    mq_receive(q, b, 32, NULL);
    /* Signals: EINTR with a handler without SA_RESTART; restarted with SA_RESTART. */
    handle(SIGUSR1, 0);
    k = MUST(fork());
    if (k == 0) {
        errno = 0;
        ssize_t r = mq_receive(q, b, 32, NULL);
        say("receive interrupted: %zd %s", r, ename(errno));
        _exit(0);
    }
    signal_until_exit(k);
    fflush(stdout);
    int pp[2];
    MUST(pipe(pp));
    k = MUST(fork());
    if (k == 0) {
        handle(SIGUSR1, SA_RESTART);
        write(pp[1], "r", 1);
        ssize_t r = mq_receive(q, b, 32, NULL);
        say("restarted receive: %zd", r);
        _exit(0);
    }
    char c;
    read(pp[0], &c, 1);
    for (int i = 0; i < 5; i++) {
        kill(k, SIGUSR1);
        usleep(10000);
    }
    mq_send(q, "late", 4, 0);
    wait_status(k);
}

static void mq_poll(void) {
    setup();
    struct mq_attr a = {0, 1, 16, 0};
    mqd_t q = mq_open("/p", O_CREAT | O_RDWR, 0600, &a);
    struct pollfd pf = {q, POLLIN | POLLOUT, 0};
    int r = poll(&pf, 1, 0);
    say("empty: poll %d revents %#x", r, pf.revents);
    mq_send(q, "x", 1, 0);
    r = poll(&pf, 1, 0);
    say("full: poll %d revents %#x", r, pf.revents);
    char b[16];
    mq_receive(q, b, 16, NULL);
    pf.events = POLLIN;
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        usleep(30000);
        mq_send(q, "y", 1, 0);
        _exit(0);
    }
    r = poll(&pf, 1, 10000);
    say("poll woke: %d revents %#x", r, pf.revents);
    wait_status(k);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(q, &rs);
    struct timeval tv = {0, 0};
    say("select readable: %d", select(q + 1, &rs, NULL, NULL, &tv));
}

static void mq_limits(void) {
    setup();
    cat("msg_max", "/proc/sys/fs/mqueue/msg_max");
    cat("msgsize_max", "/proc/sys/fs/mqueue/msgsize_max");
    cat("msg_default", "/proc/sys/fs/mqueue/msg_default");
    cat("msgsize_default", "/proc/sys/fs/mqueue/msgsize_default");
    cat("queues_max", "/proc/sys/fs/mqueue/queues_max");
    write_file("/proc/sys/fs/mqueue/msg_max", "20");
    write_file("/proc/sys/fs/mqueue/msg_default", "15");
    write_file("/proc/sys/fs/mqueue/msgsize_default", "200");
    write_file("/proc/sys/fs/mqueue/msgsize_max", "100");
    write_file("/proc/sys/fs/mqueue/msgsize_max", "127");
    write_file("/proc/sys/fs/mqueue/msg_max", "0");
    write_file("/proc/sys/fs/mqueue/msg_max", "65537");
    mqd_t q = mq_open("/l", O_CREAT | O_RDWR, 0600, NULL);
    mq_show(q, "defaults are the minimum of default and max");
    struct mq_attr a = {0, 20, 100, 0};
    mqd_t l2 = mq_open("/l2", O_CREAT | O_RDWR, 0600, &a);
    CHECK(l2 >= 0, "at the new maxima");
    write_file("/proc/sys/fs/mqueue/queues_max", "2");
    CHECK_ERR(mq_open("/l3", O_CREAT | O_RDWR, 0600, NULL), ENOSPC, "queues_max reached");
    CHECK(mq_open("/l", O_RDWR) >= 0, "opening an existing one is fine");
    mq_unlink("/l2");
    CHECK_ERR(mq_open("/l3", O_CREAT | O_RDWR, 0600, NULL), ENOSPC, "an unlinked queue still counts while open");
    close(l2);
    struct rlimit rl = {0, 0};
    MUST(setrlimit(RLIMIT_MSGQUEUE, &rl));
    CHECK_ERR(mq_open("/l3", O_CREAT | O_RDWR, 0600, NULL), EMFILE, "RLIMIT_MSGQUEUE");
}

/* ------------------------------------------------------------------ ipcs */

static void run(const char *cmd) {
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st = wait_status(k);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) say("%s: %s", cmd, wdesc(st));
}

static void ipcs_output(void) {
    setup();
    int s = MUST(shmget(0x1000, 12345, IPC_CREAT | 0640));
    MUST(shmget(IPC_PRIVATE, 4096, 0600));
    char *p = MUSTP(shmat(s, NULL, 0));
    p[0] = 1;
    int d = MUST(shmget(0x2000, 100, IPC_CREAT | 0600));
    MUSTP(shmat(d, NULL, 0));
    MUST(shmctl(d, IPC_RMID, NULL));
    MUST(semget(0x3000, 5, IPC_CREAT | 0666));
    int q = MUST(msgget(0x4000, IPC_CREAT | 0620));
    msnd(q, 1, "hello", 0);
    msnd(q, 2, "world!", 0);
    run("ipcs");
    run("ipcs -m");
    run("ipcs -s -c");
    run("ipcs -q -b");
    run("ipcs -u");
    run("ipcs -l");
    run("ipcs -m -i 0 | grep -v time | sed 's/pid=[0-9]*/pid=N/g'");
}

static const struct tcase cases[] = {
    CASE(shm_basic),
    CASE(shm_keys),
    CASE(shm_flags),
    CASE(shm_maps),
    CASE(shm_fork_exit),
    CASE(shm_exec),
    CASE(shm_rmid_deferred),
    CASE(shm_pieces),
    CASE(shm_perms),
    CASE(shm_ctl),
    CASE(shm_sysctl),
    CASE(sem_basic),
    CASE(sem_errors),
    CASE(sem_block),
    CASE(sem_signal),
    CASE(sem_undo),
    CASE(sem_perms),
    CASE(sem_info),
    CASE(msg_basic),
    CASE(msg_copy),
    CASE(msg_block),
    CASE(msg_signal),
    CASE(msg_ctl),
    CASE(mq_basic),
    CASE(mq_errors),
    CASE(mq_files),
    CASE(mq_notify_case),
    CASE(mq_block),
    CASE(mq_poll),
    CASE(mq_limits),
    CASE(ipcs_output),
    {0, 0},
};

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--shm-nattch")) {
        /* Run by shm_exec after execve: the attach of the process before exec is gone. */
        shm_stat_line(atoi(argv[2]), "after exec");
        return 0;
    }
    return run_cases(cases, argc, argv);
}
