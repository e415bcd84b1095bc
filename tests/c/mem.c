/* Memory management: mmap family, brk, madvise, mincore, COW fork, maps. */
#include "t.h"
#include <setjmp.h>
#include <sys/mman.h>

#define PG 4096UL

static sigjmp_buf jb;
static volatile int fault_sig, fault_code;
static void *volatile fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(jb, 1);
}

static void catch_faults(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* Returns 1 if reading (write=0) or writing (write=1) *p faulted. */
static int faults(volatile char *p, int write) {
    fault_sig = 0;
    if (sigsetjmp(jb, 1) == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
        return 0;
    }
    return 1;
}

static int all_bytes(const char *p, size_t n, char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

static void anon_private(void) {
    char *p = MUSTP(mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK(((uintptr_t)p & (PG - 1)) == 0, "mapping is page aligned");
    CHECK(all_bytes(p, 16 * PG, 0), "fresh anonymous memory is zero");
    for (size_t i = 0; i < 16 * PG; i++) p[i] = (char)(i * 7 + 3);
    unsigned long sum = 0;
    for (size_t i = 0; i < 16 * PG; i++) sum += (unsigned char)p[i];
    say("checksum %lu", sum);
    CHECK(munmap(p, 16 * PG) == 0, "munmap");
    /* A large sparse mapping: touch one byte per MiB. */
    size_t big = 1UL << 30;
    char *q = MUSTP(mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    for (size_t off = 0; off < big; off += 1 << 20) q[off] = (char)(off >> 20);
    int good = 1;
    for (size_t off = 0; off < big; off += 1 << 20) good &= q[off] == (char)(off >> 20);
    CHECK(good, "sparse 1 GiB mapping keeps one byte per MiB");
    munmap(q, big);
    /* 64 MiB touched fully. */
    size_t n = 64 << 20;
    unsigned *w = MUSTP(mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < n / 4; i++) w[i] = (unsigned)i * 2654435761u;
    unsigned x = 0;
    for (size_t i = 0; i < n / 4; i++) x ^= w[i] + (unsigned)i;
    say("64MiB xor %u", x);
    munmap(w, n);
}

static void anon_shared(void) {
    int *p = MUSTP(mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    int *q = MUSTP(mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    p[0] = 1;
    q[0] = 1;
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        p[0] = 42;
        p[2 * PG / sizeof(int)] = 43; /* third page */
        q[0] = 99;
        _exit(0);
    }
    say("child %s", wait_child(c));
    CHECK(p[0] == 42 && p[2 * PG / sizeof(int)] == 43, "child's writes to MAP_SHARED are visible");
    CHECK(q[0] == 1, "child's writes to MAP_PRIVATE are not visible: %d", q[0]);
}

static int make_file(const char *name, size_t len, char fill) {
    int fd = MUST(open(tpath(name), O_CREAT | O_RDWR | O_TRUNC, 0644));
    char *buf = malloc(len);
    memset(buf, fill, len);
    MUST(write(fd, buf, len));
    free(buf);
    return fd;
}

static void file_private(void) {
    int fd = make_file("fp", 3 * PG, 'a');
    char *p = MUSTP(mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    CHECK(all_bytes(p, 3 * PG, 'a'), "private file mapping shows file contents");
    p[0] = 'Z';
    p[PG + 5] = 'Y';
    char c = 0;
    MUST(pread(fd, &c, 1, 0));
    CHECK(c == 'a', "write to private mapping does not reach the file");
    MUST(pwrite(fd, "q", 1, 2 * PG));
    CHECK(p[0] == 'Z' && p[PG + 5] == 'Y', "private copy keeps its writes");
    /* Offset mapping. */
    char *o = MUSTP(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG));
    CHECK(o[0] == 'a', "mapping at file offset");
    CHECK_ERR(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL, "unaligned offset");
    /* Mapping a read-only fd privately with PROT_WRITE is allowed. */
    int ro = MUST(open(tpath("fp"), O_RDONLY));
    char *w = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    CHECK(w != MAP_FAILED, "private writable mapping of O_RDONLY fd");
    if (w != MAP_FAILED) {
        w[1] = 'x';
        CHECK(w[1] == 'x' && w[0] == 'a', "writes land in private copy");
    }
    CHECK_ERR(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES, "shared writable mapping of O_RDONLY fd");
    int wo = MUST(open(tpath("fp"), O_WRONLY));
    CHECK_ERR(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0), EACCES, "mapping an O_WRONLY fd");
    int pfd[2];
    MUST(pipe(pfd));
    CHECK_ERR(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pfd[0], 0), ENODEV, "mapping a pipe");
    CHECK_ERR(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 999, 0), EBADF, "mapping a bad fd");
}

static void file_shared(void) {
    int fd = make_file("fs", 2 * PG, 'b');
    char *p = MUSTP(mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    char *p2 = MUSTP(mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0));
    memcpy(p + 10, "hello", 5);
    CHECK(msync(p, 2 * PG, MS_SYNC) == 0, "msync MS_SYNC");
    char buf[6] = {0};
    MUST(pread(fd, buf, 5, 10));
    CHECK(!strcmp(buf, "hello"), "write through shared mapping reaches the file: %s", buf);
    CHECK(!memcmp(p2 + 10, "hello", 5), "second shared mapping sees it");
    MUST(pwrite(fd, "world", 5, PG + 1));
    CHECK(!memcmp(p + PG + 1, "world", 5), "pwrite is visible in the mapping");
    /* Shared between processes. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        memcpy(p + 100, "child", 5);
        _exit(0);
    }
    say("child %s", wait_child(c));
    CHECK(!memcmp(p + 100, "child", 5), "child's write through inherited shared file mapping");
    MUST(pread(fd, buf, 5, 100));
    CHECK(!memcmp(buf, "child", 5), "and in the file");
    /* Re-open and map again: contents persisted. */
    munmap(p, 2 * PG);
    munmap(p2, 2 * PG);
    close(fd);
    fd = MUST(open(tpath("fs"), O_RDWR));
    p = MUSTP(mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0));
    CHECK(!memcmp(p + 10, "hello", 5) && !memcmp(p + 100, "child", 5), "contents persisted after unmap");
    CHECK_ERR(msync(p + 1, PG, MS_SYNC), EINVAL, "msync unaligned");
    CHECK_ERR(msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL, "msync SYNC|ASYNC");
    CHECK(msync(p, PG, MS_ASYNC) == 0, "msync MS_ASYNC");
    munmap(p, 2 * PG);
    CHECK_ERR(msync(p, PG, MS_SYNC), ENOMEM, "msync on unmapped range");
    /* File grows after mapping: new pages visible through MAP_SHARED. */
    char *r = MUSTP(mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    MUST(ftruncate(fd, 4 * PG));
    r[3 * PG] = 'g';
    MUST(pread(fd, buf, 1, 3 * PG));
    CHECK(buf[0] == 'g', "write to page added by ftruncate");
}

static void munmap_case(void) {
    catch_faults();
    char *p = MUSTP(mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    memset(p, 'x', 3 * PG);
    CHECK(munmap(p + PG, PG) == 0, "unmap middle page");
    CHECK(!faults(p, 0) && !faults(p + 2 * PG, 0), "outer pages still mapped");
    CHECK(faults(p + PG + 8, 0), "middle page faults");
    CHECK(fault_sig == SIGSEGV && fault_code == SEGV_MAPERR && fault_addr == p + PG + 8,
          "SIGSEGV SEGV_MAPERR with si_addr (sig=%d code=%d)", fault_sig, fault_code);
    CHECK(p[2 * PG] == 'x', "contents of last page intact");
    CHECK(munmap(p, 3 * PG) == 0, "munmap over a hole succeeds");
    CHECK(faults(p, 1), "write after munmap faults");
    CHECK_ERR(munmap(p + 1, PG), EINVAL, "unaligned munmap");
    CHECK_ERR(munmap(p, 0), EINVAL, "zero-length munmap");
    CHECK(munmap(p, PG) == 0, "munmap of unmapped range is not an error");
}

static void mprotect_case(void) {
    catch_faults();
    char *p = MUSTP(mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    p[0] = 'a';
    p[PG] = 'b';
    CHECK(mprotect(p, PG, PROT_READ) == 0, "mprotect read-only");
    CHECK(!faults(p, 0), "read still works");
    CHECK(faults(p + 3, 1), "write faults");
    CHECK(fault_sig == SIGSEGV && fault_code == SEGV_ACCERR && fault_addr == p + 3,
          "SIGSEGV SEGV_ACCERR at the written address (code=%d)", fault_code);
    CHECK(!faults(p + PG, 1), "second page still writable");
    CHECK(mprotect(p, 2 * PG, PROT_NONE) == 0, "mprotect PROT_NONE");
    CHECK(faults(p + PG, 0), "read of PROT_NONE faults");
    CHECK(fault_code == SEGV_ACCERR, "PROT_NONE fault is SEGV_ACCERR");
    CHECK(mprotect(p, 2 * PG, PROT_READ | PROT_WRITE) == 0, "mprotect back to RW");
    CHECK(p[0] == 'a' && p[PG] == 1, "contents survived: %c %d", p[0], p[PG]);
    CHECK(!faults(p, 1), "write works again");
    CHECK_ERR(mprotect(p + 1, PG, PROT_READ), EINVAL, "unaligned mprotect");
    CHECK_ERR(mprotect(p, PG, 0x100), EINVAL, "bad prot bits");
    munmap(p, 2 * PG);
    CHECK_ERR(mprotect(p, PG, PROT_READ), ENOMEM, "mprotect unmapped");
    /* PROT_EXEC on an anonymous page: write code, run it. */
    unsigned char *code = MUSTP(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    unsigned char ret42[] = {0xb8, 42, 0, 0, 0, 0xc3}; /* mov $42,%eax; ret */
    memcpy(code, ret42, sizeof ret42);
    MUST(mprotect(code, PG, PROT_READ | PROT_EXEC));
    int (*fn)(void) = (int (*)(void))code;
    CHECK(fn() == 42, "generated code runs");
    /* Growing a read-only file mapping to write under MAP_SHARED fails. */
    int fd = make_file("mp", PG, 'c');
    int ro = MUST(open(tpath("mp"), O_RDONLY));
    char *s = MUSTP(mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0));
    CHECK_ERR(mprotect(s, PG, PROT_READ | PROT_WRITE), EACCES, "mprotect write on shared map of O_RDONLY fd");
    close(fd);
}

static void mremap_case(void) {
    catch_faults();
    char *p = MUSTP(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    memset(p, 'm', PG);
    char *g = mremap(p, PG, 4 * PG, MREMAP_MAYMOVE);
    CHECK(g != MAP_FAILED, "mremap grow");
    CHECK(all_bytes(g, PG, 'm'), "contents preserved after grow");
    CHECK(all_bytes(g + PG, 3 * PG, 0), "grown part is zero");
    memset(g + 3 * PG, 'n', PG);
    /* Shrink in place. */
    char *s = mremap(g, 4 * PG, 2 * PG, 0);
    CHECK(s == g, "shrink stays in place");
    CHECK(faults(g + 3 * PG, 0), "shrunk tail is unmapped");
    /* Move to a fixed address. */
    char *dst = MUSTP(mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    char *m = mremap(s, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 2 * PG);
    CHECK(m == dst + 2 * PG, "MREMAP_FIXED moves to the requested address");
    CHECK(all_bytes(m, PG, 'm') && all_bytes(m + PG, PG, 0), "contents moved");
    CHECK(faults(s, 0), "old address unmapped after move");
    CHECK(faults(dst, 0) && fault_code == SEGV_ACCERR, "neighbouring PROT_NONE part intact");
    /* Grow without MAYMOVE when the next page is taken. */
    CHECK_ERR(mremap(m, 2 * PG, 3 * PG, 0), ENOMEM, "grow in place blocked by a neighbour");
    CHECK_ERR(mremap(m + 1, PG, PG, 0), EINVAL, "unaligned old address");
    CHECK_ERR(mremap(m, PG, PG, MREMAP_FIXED, dst), EINVAL, "MREMAP_FIXED without MAYMOVE");
    CHECK_ERR(mremap(m, 0, PG, MREMAP_MAYMOVE), EINVAL, "old_size 0 of a private mapping");
    /* Shared anonymous mapping duplicated with old_size 0. */
    char *sh = MUSTP(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    char *dup = mremap(sh, 0, PG, MREMAP_MAYMOVE);
    CHECK(dup != MAP_FAILED && dup != sh, "old_size 0 duplicates a shared mapping");
    if (dup != MAP_FAILED) {
        sh[5] = 'd';
        CHECK(dup[5] == 'd', "duplicate shares pages");
    }
    /* Large grow with move keeps data. */
    size_t n = 8 << 20;
    char *b = MUSTP(mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < n; i += PG) b[i] = (char)(i / PG);
    char *b2 = mremap(b, n, 4 * n, MREMAP_MAYMOVE);
    int good = b2 != MAP_FAILED;
    for (size_t i = 0; good && i < n; i += PG) good = b2[i] == (char)(i / PG);
    CHECK(good, "8 MiB grown to 32 MiB keeps data");
}

static void brk_case(void) {
    uintptr_t b0 = (uintptr_t)syscall(SYS_brk, 0);
    CHECK(b0 != 0 && b0 != (uintptr_t)-1, "brk(0) returns the break");
    uintptr_t want = b0 + (1 << 20);
    uintptr_t b1 = (uintptr_t)syscall(SYS_brk, want);
    CHECK(b1 == want, "brk grows by 1 MiB");
    CHECK(all_bytes((char *)b0, 1 << 20, 0), "new heap is zero");
    memset((char *)b0, 'h', 1 << 20);
    uintptr_t b2 = (uintptr_t)syscall(SYS_brk, b0 + PG);
    CHECK(b2 == b0 + PG, "brk shrinks");
    uintptr_t b3 = (uintptr_t)syscall(SYS_brk, b0 + 2 * PG);
    CHECK(b3 == b0 + 2 * PG, "brk grows again");
    CHECK(((char *)b0)[PG] == 0, "memory released by shrink comes back zeroed");
    CHECK(((char *)b0)[0] == 'h', "memory kept across shrink is intact");
    uintptr_t b4 = (uintptr_t)syscall(SYS_brk, 1);
    CHECK(b4 == b0 + 2 * PG, "brk to an absurd low value fails, returns current break");
    uintptr_t b5 = (uintptr_t)syscall(SYS_brk, (uintptr_t)1 << 62);
    CHECK(b5 == b0 + 2 * PG, "brk to an absurd high value fails, returns current break");
    void *m = malloc(3 << 20);
    CHECK(m != NULL, "malloc 3 MiB");
    free(m);
    /* sbrk via libc. */
    void *s0 = sbrk(0);
    CHECK(sbrk(8192) == s0 && sbrk(0) == (char *)s0 + 8192, "sbrk");
}

static void madvise_case(void) {
    char *p = MUSTP(mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    memset(p, 'q', 4 * PG);
    CHECK(madvise(p + PG, 2 * PG, MADV_DONTNEED) == 0, "MADV_DONTNEED");
    CHECK(p[0] == 'q' && p[3 * PG] == 'q', "outside pages kept");
    CHECK(all_bytes(p + PG, 2 * PG, 0), "DONTNEED pages read back zero");
    int fd = make_file("ma", 2 * PG, 'f');
    char *f = MUSTP(mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    f[0] = 'X';
    CHECK(madvise(f, PG, MADV_DONTNEED) == 0, "DONTNEED on private file mapping");
    CHECK(f[0] == 'f', "private file page reverts to the file contents");
    char *s = MUSTP(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    s[0] = 's';
    CHECK(madvise(s, PG, MADV_DONTNEED) == 0 && s[0] == 's', "DONTNEED on shared memory keeps contents");
    CHECK(madvise(p, 4 * PG, MADV_FREE) == 0, "MADV_FREE accepted");
    int hints[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTFORK, MADV_DOFORK,
                   MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP};
    const char *names[] = {"NORMAL", "RANDOM", "SEQUENTIAL", "WILLNEED", "DONTFORK", "DOFORK",
                           "HUGEPAGE", "NOHUGEPAGE", "DONTDUMP", "DODUMP"};
    for (unsigned i = 0; i < sizeof hints / sizeof hints[0]; i++)
        CHECK(madvise(p, 4 * PG, hints[i]) == 0, "MADV_%s accepted", names[i]);
    CHECK_ERR(madvise(p + 1, PG, MADV_NORMAL), EINVAL, "unaligned madvise");
    CHECK_ERR(madvise(p, PG, 12345), EINVAL, "unknown advice");
    munmap(p, 4 * PG);
    CHECK_ERR(madvise(p, PG, MADV_NORMAL), ENOMEM, "madvise on unmapped range");
    /* MADV_DONTFORK: child does not inherit the range. */
    char *d = MUSTP(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    d[0] = 1;
    MUST(madvise(d, PG, MADV_DONTFORK));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        unsigned char v;
        _exit(mincore(d, PG, &v) == -1 && errno == ENOMEM ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0"), "MADV_DONTFORK range absent in child");
}

static void mincore_case(void) {
    char *p = MUSTP(mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    p[0] = 1;
    p[2 * PG] = 1;
    unsigned char v[4] = {9, 9, 9, 9};
    CHECK(mincore(p, 4 * PG, v) == 0, "mincore");
    CHECK((v[0] & 1) && (v[2] & 1), "touched pages are resident");
    CHECK(mincore(p, 3 * PG + 1, v) == 0, "length rounded up");
    CHECK_ERR(mincore(p + 1, PG, v), EINVAL, "unaligned address");
    CHECK_ERR(mincore(p, PG, (unsigned char *)8), EFAULT, "bad vector pointer");
    munmap(p, 4 * PG);
    CHECK_ERR(mincore(p, PG, v), ENOMEM, "unmapped range");
    /* mlock family is accepted. */
    char *l = MUSTP(mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK(mlock(l, 2 * PG) == 0, "mlock");
    CHECK(munlock(l, 2 * PG) == 0, "munlock");
    CHECK(syscall(SYS_mlock2, l, PG, 0) == 0, "mlock2");
    CHECK(munlock(l, PG) == 0, "munlock again");
    CHECK(mlockall(MCL_CURRENT) == 0, "mlockall");
    CHECK(munlockall() == 0, "munlockall");
    CHECK_ERR(mlockall(0), EINVAL, "mlockall with no flags");
}

static void fork_cow(void) {
    int pa[2], pb[2];
    MUST(pipe(pa));
    MUST(pipe(pb));
    size_t n = 8 * PG;
    char *p = MUSTP(mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    memset(p, 'A', n);
    static char data[PG] = "data";
    char *heap = malloc(100);
    strcpy(heap, "heap");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        char x;
        int ok = all_bytes(p, n, 'A') && !strcmp(data, "data") && !strcmp(heap, "heap");
        memset(p, 'B', n);
        strcpy(data, "kid!");
        strcpy(heap, "kid!");
        MUST(write(pb[1], "w", 1));      /* tell parent we wrote */
        MUST(read(pa[0], &x, 1));        /* wait for the parent's write */
        ok = ok && all_bytes(p, n, 'B') && p[0] == 'B';
        _exit(ok ? 0 : 1);
    }
    char x;
    MUST(read(pb[0], &x, 1));
    CHECK(all_bytes(p, n, 'A'), "parent does not see child's anon writes");
    CHECK(!strcmp(data, "data") && !strcmp(heap, "heap"), "parent does not see child's data/heap writes");
    memset(p, 'C', n);
    MUST(write(pa[1], "w", 1));
    CHECK(!strcmp(wait_child(c), "exit 0"), "child saw its own copy, not the parent's later writes");
    /* Fork chain: grandchild writes, nobody else sees. */
    fflush(stdout);
    c = MUST(fork());
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            p[0] = 'G';
            _exit(p[1] == 'C' ? 0 : 1);
        }
        int st;
        waitpid(g, &st, 0);
        _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 && p[0] == 'C' ? 0 : 1);
    }
    CHECK(!strcmp(wait_child(c), "exit 0") && p[0] == 'C', "fork chain keeps copies separate");
    /* Many forks of a large mapping. */
    size_t big = 16 << 20;
    char *b = MUSTP(mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < big; i += PG) b[i] = 7;
    int good = 1;
    for (int k = 0; k < 5; k++) {
        fflush(stdout);
        c = MUST(fork());
        if (c == 0) {
            for (size_t i = 0; i < big; i += PG) b[i] = (char)k;
            _exit(0);
        }
        good &= !strcmp(wait_child(c), "exit 0");
    }
    for (size_t i = 0; i < big; i += PG) good &= b[i] == 7;
    CHECK(good, "5 children wrote a 16 MiB mapping; parent's copy unchanged");
}

static void proc_maps(void) {
    int fd = make_file("mapped-file", 2 * PG, 'm');
    char *fm = MUSTP(mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0));
    char *an = MUSTP(mmap(NULL, 3 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    char *rw = MUSTP(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    rw[0] = 1;
    void *heap = sbrk(4 * PG); /* make sure there is a [heap] */
    (void)heap;
    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(el > 0, "readlink /proc/self/exe");
    exe[el > 0 ? el : 0] = 0;
    char fpath[PATH_MAX];
    CHECK(realpath(tpath("mapped-file"), fpath) != NULL, "realpath");
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL, "open /proc/self/maps");
    if (!f) return;
    char line[1024];
    int n = 0, bad = 0, saw_exe = 0, saw_stack = 0, saw_heap = 0, saw_file = 0, saw_none = 0, saw_rw = 0;
    int exe_x = 0;
    unsigned long prev_end = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino;
        char perms[8], dev[16];
        int pos = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &lo, &hi, perms, &off, dev, &ino, &pos) < 6 ||
            strlen(perms) != 4 || lo >= hi || lo < prev_end) {
            bad++;
            continue;
        }
        prev_end = hi;
        n++;
        char *name = line + pos;
        name[strcspn(name, "\n")] = 0;
        if (!strcmp(name, exe)) {
            saw_exe++;
            if (perms[2] == 'x') exe_x = 1;
        }
        if (!strcmp(name, "[stack]")) saw_stack = 1;
        if (!strcmp(name, "[heap]")) saw_heap = 1;
        if (!strcmp(name, fpath) && lo == (unsigned long)fm && hi == (unsigned long)fm + 2 * PG &&
            !strcmp(perms, "r--s") && off == 0 && ino != 0)
            saw_file = 1;
        if (lo <= (unsigned long)an && hi >= (unsigned long)an + 3 * PG && !strcmp(perms, "---p") && ino == 0)
            saw_none = 1;
        if (lo <= (unsigned long)rw && hi >= (unsigned long)rw + PG && !strcmp(perms, "rw-p") && ino == 0)
            saw_rw = 1;
    }
    fclose(f);
    CHECK(bad == 0, "every line parses as 'lo-hi perms off dev ino name', sorted");
    CHECK(n >= 5, "at least 5 mappings");
    CHECK(saw_exe >= 1 && exe_x, "executable mapped with an r-x entry");
    CHECK(saw_stack, "[stack] present");
    CHECK(saw_heap, "[heap] present");
    CHECK(saw_file, "shared file mapping listed with r--s and its path");
    CHECK(saw_none, "PROT_NONE anonymous mapping listed as ---p");
    CHECK(saw_rw, "anonymous rw-p mapping listed");
}

static void mmap_errors(void) {
    CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL, "zero length");
    CHECK_ERR(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL, "neither PRIVATE nor SHARED");
    CHECK_ERR(mmap((void *)0x10000001, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL,
              "unaligned MAP_FIXED");
    CHECK_ERR(mmap(NULL, 1UL << 50, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM, "2^50 bytes");
    CHECK_ERR(mmap(NULL, (size_t)-PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM, "length near 2^64");
    char *p = MUSTP(mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_ERR(mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST,
              "MAP_FIXED_NOREPLACE over a mapping");
    char *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p + PG, "MAP_FIXED replaces part of a mapping");
    q[0] = 3;
    CHECK(q[0] == 3, "replacement is writable");
    /* Hint honoured when free. */
    munmap(p, 2 * PG);
    char *h = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h == p, "free hint address is used");
    CHECK_ERR(mmap((void *)(1UL << 47), PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), ENOMEM,
              "MAP_FIXED above the user address space");
    /* MAP_POPULATE, MAP_GROWSDOWN, MAP_STACK accepted. */
    char *pp = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    CHECK(pp != MAP_FAILED && pp[3 * PG] == 0, "MAP_POPULATE");
    char *st = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    CHECK(st != MAP_FAILED, "MAP_STACK");
    /* /dev/zero private mapping is anonymous memory. */
    int z = MUST(open("/dev/zero", O_RDWR));
    char *zp = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    CHECK(zp != MAP_FAILED && zp[100] == 0, "map /dev/zero");
    if (zp != MAP_FAILED) {
        zp[100] = 1;
        CHECK(zp[100] == 1, "/dev/zero mapping writable");
    }
}

int main(int argc, char **argv) {
    static const struct tcase cases[] = {
        CASE(anon_private), CASE(anon_shared), CASE(file_private), CASE(file_shared), {"munmap", munmap_case},
        {"mprotect", mprotect_case}, {"mremap", mremap_case}, {"brk", brk_case}, {"madvise", madvise_case},
        {"mincore", mincore_case}, CASE(fork_cow), CASE(proc_maps), CASE(mmap_errors), {0, 0}};
    return run_cases(cases, argc, argv);
}
