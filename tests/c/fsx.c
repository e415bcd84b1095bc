/* File-system extras: tmpfs (sparse files, fallocate, SEEK_DATA/SEEK_HOLE, statfs,
 * O_TMPFILE, inode flags), memfd_create and seals, extended attributes, locks (flock,
 * POSIX record locks, OFD locks, /proc/locks, leases), inotify, data movement (splice,
 * tee, vmsplice, copy_file_range, sendfile, fadvise, readahead, sync_file_range).
 *
 * tmpfs cases work in a private directory under /dev/shm, a tmpfs both natively and
 * under moat (/tmp is tmpfs only in the sandbox). */
#include "t.h"
#include <linux/fs.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/xattr.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 8
#define MFD_EXEC 0x10
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x20
#endif
#define TMPFS_MAGIC 0x01021994
#ifndef ST_VALID
#define ST_VALID 0x20
#endif

/* A private directory on /dev/shm, removed at exit by the process that made it. */
static char s_dir[64];
static pid_t s_owner;
static void shm_cleanup(void) {
    if (s_dir[0] && getpid() == s_owner) rm_rf(s_dir);
}
static const char *sdir(void) {
    if (!s_dir[0]) {
        strcpy(s_dir, "/dev/shm/moat-fsx-XXXXXX");
        MUSTP(mkdtemp(s_dir));
        s_owner = getpid();
        t_cleanup_hook = shm_cleanup;
    }
    return s_dir;
}
static char *spath(const char *name) {
    static char buf[8][256];
    static int i;
    sdir();
    char *b = buf[i++ % 8];
    snprintf(b, 256, "%s/%s", s_dir, name);
    return b;
}

static long blocks_of(int fd) {
    struct stat st;
    MUST(fstat(fd, &st));
    return (long)st.st_blocks;
}

static long size_of(int fd) {
    struct stat st;
    MUST(fstat(fd, &st));
    return (long)st.st_size;
}

static char *slurp(const char *path);
static void sync_wait(int fd) {
    char c;
    if (read(fd, &c, 1) != 1) say("sync read failed");
}
static void sync_post(int fd) {
    if (write(fd, "x", 1) != 1) say("sync write failed");
}

/* ---- tmpfs ---- */

static void tmpfs_sparse(void) {
    int fd = MUST(open(spath("sparse"), O_CREAT | O_RDWR, 0644));
    CHECK(blocks_of(fd) == 0, "new file has no blocks");
    CHECK(fallocate(fd, 0, 0, 10000) == 0 && size_of(fd) == 10000 && blocks_of(fd) == 24,
          "fallocate mode 0 grows the size and takes three pages");
    CHECK_ERR(lseek(fd, 0, SEEK_DATA), ENXIO, "fallocated pages are holes for SEEK_DATA");
    CHECK(lseek(fd, 0, SEEK_HOLE) == 0, "SEEK_HOLE at an unwritten page");
    CHECK(pwrite(fd, "x", 1, 5000) == 1, "write into page 1");
    CHECK(lseek(fd, 0, SEEK_DATA) == 4096, "SEEK_DATA finds the written page");
    CHECK(lseek(fd, 4097, SEEK_DATA) == 4097, "SEEK_DATA inside data stays");
    CHECK(lseek(fd, 5000, SEEK_HOLE) == 8192, "SEEK_HOLE after the data page");
    CHECK(lseek(fd, 9999, SEEK_HOLE) == 9999, "SEEK_HOLE in the last page");
    CHECK_ERR(lseek(fd, 10000, SEEK_DATA), ENXIO, "SEEK_DATA at EOF");
    CHECK_ERR(lseek(fd, 10000, SEEK_HOLE), ENXIO, "SEEK_HOLE at EOF");
    CHECK_ERR(lseek(fd, -1, SEEK_DATA), ENXIO, "SEEK_DATA negative");
    CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 100000) == 0 && size_of(fd) == 10000 &&
              blocks_of(fd) == 200,
          "KEEP_SIZE reserves pages past EOF without growing");
    /* Punching frees whole pages and zeroes the edges. */
    char buf[12288];
    memset(buf, 'a', sizeof buf);
    CHECK(pwrite(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf, "fill three pages");
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 8192) == 0,
          "punch a hole across pages");
    CHECK(size_of(fd) == 12288, "punching keeps the size");
    char r[12288];
    CHECK(pread(fd, r, sizeof r, 0) == (ssize_t)sizeof r, "read back");
    int ok = r[99] == 'a' && r[100] == 0 && r[4095] == 0 && r[4096] == 0 && r[8291] == 0 &&
             r[8292] == 'a';
    CHECK(ok, "punched bytes read as zeros, the rest kept");
    CHECK(lseek(fd, 0, SEEK_HOLE) == 4096 && lseek(fd, 4096, SEEK_DATA) == 8192,
          "the freed page is a hole");
    CHECK(blocks_of(fd) == 192, "the whole page inside the hole was freed");
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0 &&
              blocks_of(fd) == 0 && size_of(fd) == 12288,
          "punching everything frees every page");
    /* Modes tmpfs does not have. */
    CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 100), EOPNOTSUPP, "PUNCH_HOLE without KEEP_SIZE");
    CHECK_ERR(fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 100), EOPNOTSUPP, "ZERO_RANGE");
    CHECK_ERR(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096), EOPNOTSUPP, "COLLAPSE_RANGE");
    CHECK_ERR(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096), EOPNOTSUPP, "INSERT_RANGE");
    CHECK_ERR(fallocate(fd, 0x100, 0, 4096), EOPNOTSUPP, "unknown mode");
    CHECK_ERR(fallocate(fd, 0, -1, 4096), EINVAL, "negative offset");
    CHECK_ERR(fallocate(fd, 0, 0, 0), EINVAL, "zero length");
    CHECK_ERR(fallocate(fd, 0, 0x7fffffffffffffffL, 10), EFBIG, "past the largest file");
    int ro = MUST(open(spath("sparse"), O_RDONLY));
    CHECK_ERR(fallocate(ro, 0, 0, 10), EBADF, "read-only fd");
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(fallocate(p[1], 0, 0, 10), ESPIPE, "pipe");
    int dfd = MUST(open(sdir(), O_RDONLY | O_DIRECTORY));
    CHECK_ERR(fallocate(dfd, 0, 0, 10), EBADF, "directory opened read-only");
    /* Truncate down frees pages; growing shows zeros. */
    CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, "abc", 3, 0) == 3 && ftruncate(fd, 8192) == 0,
          "truncate and regrow");
    CHECK(pread(fd, r, 10, 0) == 10 && r[2] == 'c' && r[3] == 0, "regrown tail is zero");
    CHECK(blocks_of(fd) == 8, "one page in use");
}

static void tmpfs_statfs(void) {
    int fd = MUST(open(spath("st"), O_CREAT | O_RDWR, 0644));
    struct statfs a, b;
    MUST(fstatfs(fd, &a));
    CHECK(a.f_type == TMPFS_MAGIC, "tmpfs magic");
    CHECK(a.f_bsize == 4096 && a.f_frsize == 4096 && a.f_namelen == 255, "block size, name length");
    CHECK(a.f_flags & ST_VALID, "ST_VALID");
    static char mb[1 << 20];
    memset(mb, 1, sizeof mb);
    MUST(write(fd, mb, sizeof mb));
    MUST(fstatfs(fd, &b));
    CHECK(a.f_bfree - b.f_bfree >= 256 && a.f_bfree - b.f_bfree < 512, "1 MiB written takes ~256 blocks");
    CHECK(b.f_blocks == a.f_blocks && b.f_bavail == b.f_bfree, "total unchanged, avail = free");
    MUST(ftruncate(fd, 0));
    MUST(fstatfs(fd, &b));
    CHECK(b.f_bfree + 16 >= a.f_bfree, "truncation gives the blocks back");
    int fds[10];
    MUST(statfs(sdir(), &a));
    for (int i = 0; i < 10; i++) {
        char n[16];
        snprintf(n, sizeof n, "i%d", i);
        fds[i] = MUST(open(spath(n), O_CREAT | O_RDWR, 0644));
    }
    MUST(statfs(sdir(), &b));
    CHECK(a.f_ffree - b.f_ffree >= 10 && a.f_ffree - b.f_ffree < 20, "ten inodes counted");
    CHECK(a.f_files == b.f_files, "inode total unchanged");
    struct statfs c;
    CHECK_ERR(statfs(spath("none/x"), &c), ENOENT, "statfs of a missing path");
}

static void tmpfs_tmpfile(void) {
    int fd = MUST(open(sdir(), O_TMPFILE | O_RDWR, 0600));
    struct stat st;
    MUST(fstat(fd, &st));
    CHECK(S_ISREG(st.st_mode) && st.st_nlink == 0 && (st.st_mode & 0777) == 0600, "unnamed file");
    CHECK(write(fd, "tmp", 3) == 3, "write");
    char pr[64];
    snprintf(pr, sizeof pr, "/proc/self/fd/%d", fd);
    CHECK(linkat(AT_FDCWD, pr, AT_FDCWD, spath("named"), AT_SYMLINK_FOLLOW) == 0,
          "linkat from /proc/self/fd gives it a name");
    MUST(fstat(fd, &st));
    CHECK(st.st_nlink == 1, "nlink 1 after linkat");
    char b[8] = {0};
    int n = MUST(open(spath("named"), O_RDONLY));
    CHECK(read(n, b, 8) == 3 && !strcmp(b, "tmp"), "the name reaches the data");
    int fd2 = MUST(open(sdir(), O_TMPFILE | O_WRONLY, 0644));
    CHECK(linkat(fd2, "", AT_FDCWD, spath("named2"), AT_EMPTY_PATH) == 0, "linkat AT_EMPTY_PATH");
    CHECK_ERR(linkat(fd2, "", AT_FDCWD, spath("named2"), AT_EMPTY_PATH), EEXIST, "name taken");
    int fd3 = MUST(open(sdir(), O_TMPFILE | O_RDWR | O_EXCL, 0600));
    CHECK_ERR(linkat(fd3, "", AT_FDCWD, spath("named3"), AT_EMPTY_PATH), ENOENT,
              "O_EXCL tmpfiles cannot be linked");
    int fd4 = MUST(open(spath("gone"), O_CREAT | O_RDWR, 0600));
    MUST(unlink(spath("gone")));
    CHECK_ERR(linkat(fd4, "", AT_FDCWD, spath("back"), AT_EMPTY_PATH), ENOENT,
              "an unlinked file cannot be linked back");
    CHECK_ERR(open(sdir(), O_TMPFILE | O_RDONLY, 0600), EINVAL, "O_TMPFILE needs write access");
    CHECK_ERR(open(spath("named"), O_TMPFILE | O_RDWR, 0600), ENOTDIR, "O_TMPFILE on a file");
}

static void tmpfs_chattr(void) {
    int fd = MUST(open(spath("attr"), O_CREAT | O_RDWR, 0644));
    int fl = -1;
    CHECK(ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 && fl == 0, "no flags");
    fl = FS_NODUMP_FL | FS_NOATIME_FL;
    CHECK(ioctl(fd, FS_IOC_SETFLAGS, &fl) == 0, "set nodump, noatime");
    fl = 0;
    CHECK(ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 && fl == (FS_NODUMP_FL | FS_NOATIME_FL), "read back");
    fl = FS_COMPR_FL;
    CHECK_ERR(ioctl(fd, FS_IOC_SETFLAGS, &fl), EOPNOTSUPP, "flags tmpfs lacks");
    fl = FS_IMMUTABLE_FL;
    CHECK(ioctl(fd, FS_IOC_SETFLAGS, &fl) == 0, "immutable");
    CHECK_ERR(open(spath("attr"), O_WRONLY), EPERM, "immutable: no opening for writing");
    CHECK_ERR(unlink(spath("attr")), EPERM, "immutable: no unlink");
    CHECK_ERR(chmod(spath("attr"), 0600), EPERM, "immutable: no chmod");
    CHECK_ERR(rename(spath("attr"), spath("attr2")), EPERM, "immutable: no rename");
    fl = FS_APPEND_FL;
    CHECK(ioctl(fd, FS_IOC_SETFLAGS, &fl) == 0, "append-only");
    CHECK_ERR(open(spath("attr"), O_WRONLY), EPERM, "append-only: no plain write open");
    int a = open(spath("attr"), O_WRONLY | O_APPEND);
    CHECK(a >= 0 && write(a, "x", 1) == 1, "append-only: appending works");
    fl = 0;
    CHECK(ioctl(fd, FS_IOC_SETFLAGS, &fl) == 0 && unlink(spath("attr")) == 0, "cleared, removable");
    struct fsxattr fx;
    CHECK(ioctl(fd, FS_IOC_FSGETXATTR, &fx) == 0 && fx.fsx_xflags == 0, "FSGETXATTR");
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(ioctl(p[0], FS_IOC_GETFLAGS, &fl), ENOTTY, "pipe: ENOTTY");
    int dfd = MUST(open(sdir(), O_RDONLY | O_DIRECTORY));
    CHECK(ioctl(dfd, FS_IOC_GETFLAGS, &fl) == 0 && fl == 0, "directory flags");
}

/* Hole punching and truncation take pages away from mappings too. */
static void tmpfs_punch_mapped(void) {
    int fd = MUST(memfd_create("pm", 0));
    static char buf[3 * 4096];
    memset(buf, 'a', sizeof buf);
    MUST(write(fd, buf, sizeof buf));
    char *sh = MUSTP(mmap(0, sizeof buf, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    char *pv = MUSTP(mmap(0, sizeof buf, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    CHECK(sh[4096] == 'a' && pv[4096] == 'a' && pv[8192] == 'a', "mapped pages read the data");
    pv[0] = 'P';
    int p[2], q[2];
    MUST(pipe(p));
    MUST(pipe(q));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        CHECK(sh[8192] == 'a', "child sees the data");
        sync_post(q[1]);
        sync_wait(p[0]);
        CHECK(sh[8192] == 0, "child sees the hole its parent punched");
        _exit(t_failed);
    }
    sync_wait(q[0]);
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, sizeof buf) == 0, "punch all");
    sync_post(p[1]);
    say("child: %s", wait_child(c));
    CHECK(sh[0] == 0 && sh[4096] == 0, "shared mapping reads zeros");
    CHECK(pv[0] == 'P', "a private copy survives the punch");
    CHECK(pv[4096] == 0, "private pages not copied read the hole");
    sh[100] = 'n';
    char b = 0;
    CHECK(pread(fd, &b, 1, 100) == 1 && b == 'n', "writes through the mapping after the punch reach the file");
    MUST(ftruncate(fd, 4096));
    fflush(stdout);
    c = MUST(fork());
    if (c == 0) {
        volatile char x = sh[4096];
        (void)x;
        _exit(0);
    }
    say("touching past the truncated end: %s", wait_child(c));
    c = MUST(fork());
    if (c == 0) {
        volatile char x = pv[4096];
        (void)x;
        _exit(0);
    }
    say("private mapping past the end: %s", wait_child(c));
    CHECK(sh[100] == 'n', "the page inside the size stays");
}

/* ---- memfd ---- */

static void memfd_basic(void) {
    int fd = MUST(memfd_create("hello", MFD_CLOEXEC));
    struct stat st;
    MUST(fstat(fd, &st));
    CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0777 && st.st_nlink == 0 &&
              st.st_size == 0,
          "an empty unlinked regular file, mode 0777");
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "MFD_CLOEXEC");
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "open read-write");
    char l[256], pr[64];
    snprintf(pr, sizeof pr, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(pr, l, sizeof l - 1);
    l[n > 0 ? n : 0] = 0;
    CHECK(!strcmp(l, "/memfd:hello (deleted)"), "link text %s", l);
    struct statfs sf;
    CHECK(fstatfs(fd, &sf) == 0 && sf.f_type == TMPFS_MAGIC, "lives on tmpfs");
    CHECK(write(fd, "data", 4) == 4 && ftruncate(fd, 8192) == 0, "write and grow");
    char *m = MUSTP(mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    CHECK(!memcmp(m, "data", 4), "mapped");
    m[4096] = 'Z';
    char b = 0;
    CHECK(pread(fd, &b, 1, 4096) == 1 && b == 'Z', "shared mapping writes reach the file");
    int re = MUST(open(pr, O_RDWR));
    CHECK(pread(re, &b, 1, 0) == 1 && b == 'd', "reopened through /proc");
    CHECK(fcntl(fd, F_GET_SEALS) == F_SEAL_SEAL, "not sealable: F_SEAL_SEAL");
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "cannot add seals");
    int x = MUST(memfd_create("noexec", MFD_NOEXEC_SEAL));
    MUST(fstat(x, &st));
    CHECK((st.st_mode & 0777) == 0666 && fcntl(x, F_GET_SEALS) == F_SEAL_EXEC, "MFD_NOEXEC_SEAL");
    CHECK_ERR(memfd_create("x", MFD_EXEC | MFD_NOEXEC_SEAL), EINVAL, "EXEC with NOEXEC_SEAL");
    CHECK_ERR(memfd_create("x", 0x100), EINVAL, "unknown flag");
    char nm[300];
    memset(nm, 'n', sizeof nm);
    nm[249] = 0;
    CHECK_OK(memfd_create(nm, 0), "249-byte name");
    nm[249] = 'n';
    nm[250] = 0;
    CHECK_ERR(memfd_create(nm, 0), EINVAL, "250-byte name");
    CHECK_ERR(memfd_create((char *)8, 0), EFAULT, "bad name pointer");
}

static void memfd_seals(void) {
    int fd = MUST(memfd_create("s", MFD_ALLOW_SEALING));
    CHECK(fcntl(fd, F_GET_SEALS) == 0, "sealable: no seals");
    char pr[64];
    snprintf(pr, sizeof pr, "/proc/self/fd/%d", fd);
    int ro = MUST(open(pr, O_RDONLY));
    CHECK_ERR(fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "sealing needs a writable fd");
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, 0x40), EINVAL, "unknown seal");
    MUST(ftruncate(fd, 8192));
    void *m = MUSTP(mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0));
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY, "a shared mapping that may write: EBUSY");
    munmap(m, 4096);
    m = MUSTP(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY, "writable shared mapping: EBUSY");
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0, "FUTURE_WRITE despite the mapping");
    CHECK_ERR(write(fd, "a", 1), EPERM, "FUTURE_WRITE: write EPERM");
    ((char *)m)[0] = 'm';
    CHECK(mprotect(m, 4096, PROT_READ) == 0 && mprotect(m, 4096, PROT_READ | PROT_WRITE) == 0,
          "the old mapping stays writable");
    munmap(m, 4096);
    CHECK(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM,
          "new writable shared mapping: EPERM");
    m = MUSTP(mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0));
    CHECK_ERR(mprotect(m, 4096, PROT_READ | PROT_WRITE), EACCES, "read-only mapping cannot gain write");
    void *pm = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(pm != MAP_FAILED, "private writable mapping is fine");
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0, "F_SEAL_WRITE once no writable mapping");
    CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE), "seals read back");
    CHECK_ERR(pwrite(fd, "a", 1, 0), EPERM, "write sealed");
    CHECK(ftruncate(fd, 100) == 0 && ftruncate(fd, 10000) == 0, "size still changes");
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal the size");
    CHECK_ERR(ftruncate(fd, 8192), EPERM, "shrink sealed");
    CHECK_ERR(ftruncate(fd, 20000), EPERM, "grow sealed");
    CHECK(ftruncate(fd, 10000) == 0, "same size is fine");
    CHECK(fallocate(fd, 0, 0, 100) == 0, "fallocate inside the size");
    CHECK_ERR(fallocate(fd, 0, 0, 100000), EPERM, "fallocate growing");
    CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 100), EPERM,
              "punching a write-sealed file");
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0, "seal the seals");
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, 0), EPERM, "no more seals");
    CHECK(fcntl(fd, F_GET_SEALS) == 0x1f, "all five");
    int g = MUST(memfd_create("g", MFD_ALLOW_SEALING));
    MUST(write(g, "abcd", 4));
    MUST(fcntl(g, F_ADD_SEALS, F_SEAL_GROW));
    CHECK_ERR(pwrite(g, "xyz", 3, 2), EPERM, "GROW: a write crossing EOF in the last page");
    CHECK_ERR(pwrite(g, "x", 1, 4), EPERM, "GROW: a write at EOF");
    static char big[8000];
    int h = MUST(memfd_create("h", MFD_ALLOW_SEALING));
    MUST(write(h, big, 5000));
    MUST(fcntl(h, F_ADD_SEALS, F_SEAL_GROW));
    CHECK(pwrite(h, big, 8000, 0) == 4096, "GROW: a write stops at the last page boundary");
    int e = MUST(memfd_create("e", MFD_ALLOW_SEALING));
    CHECK(fcntl(e, F_ADD_SEALS, F_SEAL_EXEC) == 0, "F_SEAL_EXEC");
    CHECK(fchmod(e, 0755) == 0, "chmod keeping the exec bits");
    CHECK_ERR(fchmod(e, 0644), EPERM, "chmod changing the exec bits");
    CHECK_ERR(write(e, "a", 1), EPERM, "F_SEAL_EXEC on an executable file seals writes");
    int tf = MUST(open(spath("t"), O_CREAT | O_RDWR, 0644));
    CHECK(fcntl(tf, F_GET_SEALS) == F_SEAL_SEAL, "tmpfs files report F_SEAL_SEAL");
    CHECK_ERR(fcntl(tf, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "and take no seals");
    int ef = MUST(open("/proc/self/status", O_RDONLY));
    CHECK_ERR(fcntl(ef, F_GET_SEALS), EINVAL, "other file systems: EINVAL");
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(fcntl(p[1], F_ADD_SEALS, F_SEAL_WRITE), EINVAL, "pipe: EINVAL");
}

/* ---- extended attributes ---- */

static void show_list(int fd) {
    char b[1024];
    ssize_t n = flistxattr(fd, b, sizeof b);
    printf("list %zd:", n);
    for (ssize_t i = 0; i < n; i += strlen(b + i) + 1) printf(" %s", b + i);
    say("");
}

static void xattr_tmpfs(void) {
    int fd = MUST(open(spath("x"), O_CREAT | O_RDWR, 0644));
    char b[100];
    CHECK(flistxattr(fd, b, sizeof b) == 0, "none yet");
    CHECK(fsetxattr(fd, "user.b", "1", 1, 0) == 0 && fsetxattr(fd, "user.a", "22", 2, 0) == 0 &&
              fsetxattr(fd, "trusted.t", "3", 1, 0) == 0 &&
              fsetxattr(fd, "security.s", "4", 1, 0) == 0,
          "user., trusted., security.");
    show_list(fd);
    CHECK(fgetxattr(fd, "user.a", b, sizeof b) == 2 && !memcmp(b, "22", 2), "get");
    CHECK(fgetxattr(fd, "user.a", NULL, 0) == 2, "size query");
    CHECK(getxattr(spath("x"), "user.b", b, sizeof b) == 1, "by path");
    CHECK_ERR(fgetxattr(fd, "user.a", b, 1), ERANGE, "buffer too small");
    CHECK_ERR(flistxattr(fd, b, 3), ERANGE, "list buffer too small");
    CHECK(flistxattr(fd, NULL, 0) == 35, "list size query");
    CHECK_ERR(fsetxattr(fd, "user.a", "x", 1, XATTR_CREATE), EEXIST, "XATTR_CREATE on existing");
    CHECK_ERR(fsetxattr(fd, "user.zz", "x", 1, XATTR_REPLACE), ENODATA, "XATTR_REPLACE on missing");
    CHECK(fsetxattr(fd, "user.a", "xyz", 3, XATTR_REPLACE) == 0 && fgetxattr(fd, "user.a", b, 100) == 3,
          "replace");
    CHECK(fsetxattr(fd, "user.empty", "", 0, 0) == 0 && fgetxattr(fd, "user.empty", b, 10) == 0,
          "empty value");
    CHECK(fremovexattr(fd, "user.empty") == 0, "remove");
    CHECK_ERR(fremovexattr(fd, "user.empty"), ENODATA, "remove again");
    CHECK_ERR(fgetxattr(fd, "user.none", b, 10), ENODATA, "missing");
    static char big[70000];
    CHECK_ERR(fsetxattr(fd, "user.big", big, 65537, 0), E2BIG, "value over 64 KiB");
    CHECK(fsetxattr(fd, "user.big", big, 65536, 0) == 0, "64 KiB value");
    CHECK(fremovexattr(fd, "user.big") == 0, "removed");
    CHECK_ERR(fsetxattr(fd, "user.", "a", 1, 0), EINVAL, "empty name after the prefix");
    CHECK_ERR(fsetxattr(fd, "", "a", 1, 0), ERANGE, "empty name");
    CHECK_ERR(fsetxattr(fd, "user.a", "a", 1, 4), EINVAL, "bad flags");
    char longn[300];
    memset(longn, 'a', 299);
    longn[299] = 0;
    memcpy(longn, "user.", 5);
    CHECK_ERR(fsetxattr(fd, longn, "a", 1, 0), ERANGE, "name over 255 bytes");
    CHECK_ERR(fgetxattr(fd, longn, b, 10), ERANGE, "get with a long name");
    CHECK_ERR(fsetxattr(fd, "foo.bar", "a", 1, 0), EOPNOTSUPP, "unknown namespace");
    CHECK_ERR(fgetxattr(fd, "system.x", b, 10), EOPNOTSUPP, "system. namespace");
    MUST(symlink("x", spath("sl")));
    CHECK_ERR(lsetxattr(spath("sl"), "user.x", "a", 1, 0), EPERM, "user. on a symlink");
    CHECK_ERR(lgetxattr(spath("sl"), "user.x", b, 10), ENODATA, "get user. on a symlink");
    CHECK(lsetxattr(spath("sl"), "trusted.x", "a", 1, 0) == 0, "trusted. on a symlink");
    CHECK(llistxattr(spath("sl"), b, sizeof b) == 10, "llistxattr sees the link's own");
    CHECK(getxattr(spath("sl"), "user.a", b, sizeof b) == 3, "getxattr follows the link");
    MUST(mkfifo(spath("fifo"), 0644));
    CHECK_ERR(setxattr(spath("fifo"), "user.a", "x", 1, 0), EPERM, "user. on a FIFO");
    CHECK(setxattr(spath("fifo"), "trusted.a", "x", 1, 0) == 0, "trusted. on a FIFO");
    MUST(mkdir(spath("d"), 0755));
    CHECK(setxattr(spath("d"), "user.dir", "1", 1, 0) == 0, "user. on a directory");
    int op = MUST(open(spath("x"), O_PATH));
    CHECK_ERR(fgetxattr(op, "user.a", b, 10), EBADF, "O_PATH fd");
    CHECK_ERR(fsetxattr(op, "user.a", "a", 1, 0), EBADF, "O_PATH fd set");
    CHECK_ERR(getxattr(spath("nonexist"), "user.a", b, 10), ENOENT, "missing file");
    CHECK_ERR(getxattr(spath("x"), (char *)8, b, 10), EFAULT, "bad name pointer");
    int m = MUST(memfd_create("m", 0));
    CHECK(fsetxattr(m, "user.m", "1", 1, 0) == 0, "memfd keeps xattrs");
    if (fork() == 0) {
        /* Without CAP_SYS_ADMIN trusted. is hidden and refused. */
        MUST(setuid(1000));
        show_list(fd);
        CHECK_ERR(fgetxattr(fd, "trusted.t", b, 10), ENODATA, "unprivileged trusted. get");
        CHECK_ERR(fsetxattr(fd, "trusted.t", "a", 1, 0), EPERM, "unprivileged trusted. set");
        CHECK_ERR(fsetxattr(fd, "user.a", "a", 1, 0), EACCES, "user. set needs write permission");
        _exit(t_failed);
    }
    int st;
    wait(&st);
    CHECK(WIFEXITED(st), "child done");
}

static void xattr_other(void) {
    char b[100];
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(fgetxattr(p[0], "user.x", b, 10), ENODATA, "pipe: user. get");
    CHECK_ERR(fsetxattr(p[0], "user.x", "a", 1, 0), EPERM, "pipe: user. set");
    CHECK_ERR(fgetxattr(p[0], "trusted.x", b, 10), EOPNOTSUPP, "pipe: trusted. get");
    CHECK(flistxattr(p[0], b, sizeof b) == 0, "pipe: empty list");
    CHECK_ERR(getxattr("/proc/self/status", "user.x", b, 10), EOPNOTSUPP, "procfs: get");
    CHECK_ERR(setxattr("/proc/self/status", "user.x", "a", 1, 0), EOPNOTSUPP, "procfs: set");
    CHECK(listxattr("/proc/self/status", b, sizeof b) == 0, "procfs: empty list");
    CHECK_ERR(setxattr("/dev/null", "user.x", "a", 1, 0), EPERM, "device: user. set");
    CHECK_ERR(getxattr("/dev/null", "user.x", b, 10), ENODATA, "device: user. get");
}


/* ---- locks ---- */

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &l);
}

/* F_GETLK over [start, start+len): "unlocked" or "TYPE start len by-child". */
static const char *getlk(int fd, int cmd, short type, off_t start, off_t len, pid_t who) {
    static char b[96];
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, cmd, &l) != 0) {
        snprintf(b, sizeof b, "error %s", ename(errno));
        return b;
    }
    if (l.l_type == F_UNLCK) return "unlocked";
    snprintf(b, sizeof b, "%s %ld %ld %s", l.l_type == F_WRLCK ? "W" : "R", (long)l.l_start,
             (long)l.l_len, l.l_pid == who ? "pid ok" : l.l_pid == -1 ? "pid -1" : "pid ?");
    return b;
}


static void on_alarm(int s) { (void)s; }

static void flock_case(void) {
    int a = MUST(open(spath("fl"), O_CREAT | O_RDWR, 0644));
    int b = MUST(open(spath("fl"), O_RDONLY));
    CHECK(flock(a, LOCK_SH) == 0 && flock(b, LOCK_SH | LOCK_NB) == 0, "two shared locks");
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK, "exclusive against a shared one");
    CHECK(flock(a, LOCK_EX | LOCK_NB) == 0, "the failed conversion dropped b's lock: a upgrades");
    CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK, "shared against exclusive");
    int d = MUST(dup(a));
    CHECK(flock(d, LOCK_EX | LOCK_NB) == 0, "a dup shares the lock");
    close(d);
    CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK, "closing a dup keeps it");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        /* The child's copy of a is the same open file: it may unlock it. */
        CHECK(flock(a, LOCK_UN) == 0, "child unlocks the shared description");
        _exit(t_failed);
    }
    say("child: %s", wait_child(c));
    CHECK(flock(b, LOCK_EX | LOCK_NB) == 0, "free after the child's unlock");
    CHECK_ERR(flock(a, LOCK_SH | LOCK_NB), EWOULDBLOCK, "now b holds it");
    CHECK_ERR(flock(a, 0), EINVAL, "no operation");
    CHECK_ERR(flock(a, LOCK_SH | LOCK_EX), EINVAL, "two operations");
    CHECK_ERR(flock(1000, LOCK_SH), EBADF, "bad fd");
    int op = MUST(open(spath("fl"), O_PATH));
    CHECK_ERR(flock(op, LOCK_SH), EBADF, "O_PATH fd");
    /* A blocked flock waits for the holder. */
    int p[2];
    MUST(pipe(p));
    fflush(stdout);
    c = MUST(fork());
    if (c == 0) {
        close(b);
        int e = MUST(open(spath("fl"), O_RDONLY));
        sync_post(p[1]);
        CHECK(flock(e, LOCK_EX) == 0, "child got the lock after the wait");
        _exit(t_failed);
    }
    sync_wait(p[0]);
    usleep(200000);
    say("parent releases");
    close(b);
    say("child: %s", wait_child(c));
    /* A signal interrupts the wait. */
    MUST(flock(a, LOCK_EX));
    fflush(stdout);
    c = MUST(fork());
    if (c == 0) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, 0);
        int e = MUST(open(spath("fl"), O_RDONLY));
        alarm(1);
        CHECK_ERR(flock(e, LOCK_SH), EINTR, "interrupted flock");
        _exit(t_failed);
    }
    say("child: %s", wait_child(c));
    int q[2];
    MUST(pipe(q));
    CHECK(flock(q[0], LOCK_EX | LOCK_NB) == 0, "flock on a pipe");
}

static void posix_locks(void) {
    int fd = MUST(open(spath("pl"), O_CREAT | O_RDWR, 0644));
    MUST(ftruncate(fd, 100));
    int p[2], r[2];
    MUST(pipe(p));
    MUST(pipe(r));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        CHECK(setlk(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "child write-locks 0-9");
        CHECK(setlk(fd, F_SETLK, F_RDLCK, 20, 10) == 0, "child read-locks 20-29");
        CHECK(setlk(fd, F_SETLK, F_RDLCK, 30, 10) == 0, "child read-locks 30-39 (merges)");
        CHECK(setlk(fd, F_SETLK, F_UNLCK, 4, 2) == 0, "child unlocks 4-5 (splits)");
        CHECK(setlk(fd, F_SETLK, F_WRLCK, 60, 0) == 0, "child write-locks 60-EOF");
        CHECK(!strcmp(getlk(fd, F_GETLK, F_WRLCK, 0, 100, 0), "unlocked"), "own locks never conflict");
        sync_post(p[1]);
        sync_wait(r[0]);
        _exit(t_failed);
    }
    sync_wait(p[0]);
    say("0-99 W: %s", getlk(fd, F_GETLK, F_WRLCK, 0, 100, c));
    say("4-5 W: %s", getlk(fd, F_GETLK, F_WRLCK, 4, 2, c));
    say("6-19 W: %s", getlk(fd, F_GETLK, F_WRLCK, 6, 14, c));
    say("10-19 W: %s", getlk(fd, F_GETLK, F_WRLCK, 10, 10, c));
    say("20-29 R: %s", getlk(fd, F_GETLK, F_RDLCK, 20, 10, c));
    say("25-34 W: %s", getlk(fd, F_GETLK, F_WRLCK, 25, 10, c));
    say("50-59 W: %s", getlk(fd, F_GETLK, F_WRLCK, 50, 10, c));
    say("1000 W: %s", getlk(fd, F_GETLK, F_WRLCK, 1000, 1, c));
    CHECK_ERR(setlk(fd, F_SETLK, F_RDLCK, 0, 1), EAGAIN, "read lock under a write lock");
    CHECK(setlk(fd, F_SETLK, F_RDLCK, 20, 5) == 0, "read locks share");
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, 20, 5), EAGAIN, "write lock over a read lock");
    sync_post(r[1]);
    say("child: %s", wait_child(c));
    say("after exit 0-99 W: %s", getlk(fd, F_GETLK, F_WRLCK, 0, 100, c));
    /* Closing any fd of the file drops the process's locks. */
    CHECK(setlk(fd, F_SETLK, F_WRLCK, 0, 0) == 0, "parent locks everything");
    int other = MUST(open(spath("pl"), O_RDONLY));
    fflush(stdout);
    c = MUST(fork());
    if (c == 0) {
        say("child sees: %s", getlk(fd, F_GETLK, F_RDLCK, 0, 1, getppid()));
        sync_post(p[1]);
        sync_wait(r[0]);
        say("child sees after close: %s", getlk(fd, F_GETLK, F_RDLCK, 0, 1, getppid()));
        _exit(0);
    }
    sync_wait(p[0]);
    close(other);
    sync_post(r[1]);
    say("child: %s", wait_child(c));
    /* Argument errors. */
    struct flock l = {.l_type = F_RDLCK, .l_whence = 7};
    CHECK_ERR(fcntl(fd, F_SETLK, &l), EINVAL, "bad whence");
    l = (struct flock){.l_type = 9, .l_whence = SEEK_SET};
    CHECK_ERR(fcntl(fd, F_SETLK, &l), EINVAL, "bad type");
    CHECK_ERR(fcntl(fd, F_GETLK, &(struct flock){.l_type = F_UNLCK}), EINVAL, "F_GETLK of F_UNLCK");
    CHECK_ERR(setlk(fd, F_SETLK, F_RDLCK, -5, 1), EINVAL, "negative start");
    CHECK_ERR(setlk(fd, F_SETLK, F_RDLCK, 2, -5), EINVAL, "negative length past 0");
    CHECK(setlk(fd, F_SETLK, F_RDLCK, 10, -5) == 0, "negative length covers 5-9");
    CHECK_ERR(setlk(fd, F_SETLK, F_RDLCK, 0x7fffffffffffff00L, 0x1000), EOVERFLOW, "end past OFFSET_MAX");
    int ro = MUST(open(spath("pl"), O_RDONLY));
    CHECK_ERR(setlk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF, "write lock needs a writable fd");
    int wo = MUST(open(spath("pl"), O_WRONLY));
    CHECK_ERR(setlk(wo, F_SETLK, F_RDLCK, 0, 1), EBADF, "read lock needs a readable fd");
    CHECK_ERR(fcntl(fd, F_SETLK, (void *)8), EFAULT, "bad pointer");
    l = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_END, .l_start = -10, .l_len = 5};
    CHECK(fcntl(fd, F_SETLK, &l) == 0, "SEEK_END relative");
}

static void posix_wait_deadlock(void) {
    int fd = MUST(open(spath("dl"), O_CREAT | O_RDWR, 0644));
    int p[2];
    MUST(pipe(p));
    CHECK(setlk(fd, F_SETLK, F_WRLCK, 0, 1) == 0, "parent locks byte 0");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        CHECK(setlk(fd, F_SETLK, F_WRLCK, 1, 1) == 0, "child locks byte 1");
        sync_post(p[1]);
        CHECK(setlk(fd, F_SETLKW, F_WRLCK, 0, 1) == 0, "child waits for byte 0, then gets it");
        _exit(t_failed);
    }
    sync_wait(p[0]);
    usleep(300000);
    CHECK_ERR(setlk(fd, F_SETLKW, F_WRLCK, 1, 1), EDEADLK, "waiting for the child's byte: EDEADLK");
    say("parent unlocks byte 0");
    MUST(setlk(fd, F_SETLK, F_UNLCK, 0, 1));
    say("child: %s", wait_child(c));
    /* An interrupted F_SETLKW. */
    MUST(setlk(fd, F_SETLK, F_WRLCK, 0, 0));
    fflush(stdout);
    c = MUST(fork());
    if (c == 0) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, 0);
        alarm(1);
        CHECK_ERR(setlk(fd, F_SETLKW, F_RDLCK, 0, 1), EINTR, "interrupted F_SETLKW");
        _exit(t_failed);
    }
    say("child: %s", wait_child(c));
}

static void ofd_locks(void) {
    int a = MUST(open(spath("ofd"), O_CREAT | O_RDWR, 0644));
    int b = MUST(open(spath("ofd"), O_RDWR));
    CHECK(setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10) == 0, "OFD lock on a");
    CHECK_ERR(setlk(b, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN, "conflicts with another open, same process");
    say("b sees: %s", getlk(b, F_OFD_GETLK, F_WRLCK, 0, 100, 0));
    CHECK(!strcmp(getlk(a, F_OFD_GETLK, F_WRLCK, 0, 100, 0), "unlocked"), "a's own lock");
    say("POSIX view: %s", getlk(a, F_GETLK, F_RDLCK, 0, 1, 0));
    CHECK_ERR(setlk(a, F_SETLK, F_RDLCK, 0, 1), EAGAIN, "a POSIX lock conflicts with the OFD lock");
    struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
    CHECK_ERR(fcntl(a, F_OFD_SETLK, &l), EINVAL, "l_pid must be 0");
    int d = MUST(dup(a));
    CHECK(setlk(d, F_OFD_SETLK, F_RDLCK, 0, 10) == 0, "a dup is the same owner");
    close(a);
    CHECK_ERR(setlk(b, F_OFD_SETLK, F_WRLCK, 0, 1), EAGAIN, "closing one fd keeps OFD locks");
    close(d);
    CHECK(setlk(b, F_OFD_SETLK, F_WRLCK, 0, 1) == 0, "closing the last fd drops them");
}

static void proc_locks(void) {
    int fd = MUST(open(spath("pr"), O_CREAT | O_RDWR, 0644));
    int g = MUST(open(spath("pr2"), O_CREAT | O_RDWR, 0644));
    struct stat st, st2;
    MUST(fstat(fd, &st));
    MUST(fstat(g, &st2));
    MUST(setlk(fd, F_SETLK, F_WRLCK, 0, 0));
    MUST(setlk(fd, F_SETLK, F_RDLCK, 100, 50));
    MUST(flock(g, LOCK_SH));
    MUST(setlk(g, F_OFD_SETLK, F_RDLCK, 5, 5));
    FILE *f = fopen("/proc/locks", "r");
    CHECK(f != NULL, "open /proc/locks");
    char line[256];
    static char lines[16][128];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        int id;
        char kind[16], adv[16], type[16], dev[64], from[32], to[32];
        long pid;
        if (sscanf(line, "%d: %15s %15s %15s %ld %63s %31s %31s", &id, kind, adv, type, &pid, dev,
                   from, to) != 8) {
            say("bad line: %s", line);
            continue;
        }
        unsigned maj, min;
        unsigned long ino;
        if (sscanf(dev, "%x:%x:%lu", &maj, &min, &ino) != 3) say("bad dev %s", dev);
        if (ino != st.st_ino && ino != st2.st_ino) continue;
        const char *who = pid == getpid() ? "me" : pid == -1 ? "-1" : "?";
        if (n < 16)
            snprintf(lines[n++], sizeof lines[0], "%s %s %s %s %s %s %s", ino == st.st_ino ? "f1" : "f2",
                     kind, adv, type, who, from, to);
    }
    /* Linux lists newest first per CPU: compare as a set. */
    qsort(lines, n, sizeof lines[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) say("%s", lines[i]);
    CHECK(n == 5, "five locks listed (the read lock split the write lock)");
    if (f) fclose(f);
}

static void leases(void) {
    /* Breaking our own lease sends us SIGIO. */
    signal(SIGIO, SIG_IGN);
    int fd = MUST(open(spath("le"), O_CREAT | O_RDWR, 0644));
    close(fd);
    int r = MUST(open(spath("le"), O_RDONLY));
    CHECK(fcntl(r, F_GETLEASE) == F_UNLCK, "no lease");
    CHECK(fcntl(r, F_SETLEASE, F_RDLCK) == 0 && fcntl(r, F_GETLEASE) == F_RDLCK, "read lease");
    int r2 = MUST(open(spath("le"), O_RDONLY));
    CHECK(r2 >= 0, "another reader does not break it");
    CHECK_ERR(fcntl(r2, F_SETLEASE, F_WRLCK), EAGAIN, "write lease with other opens");
    int w = open(spath("le"), O_WRONLY | O_NONBLOCK);
    CHECK(w == -1 && errno == EWOULDBLOCK, "a non-blocking writer meets the lease");
    CHECK(fcntl(r, F_SETLEASE, F_UNLCK) == 0 && fcntl(r, F_GETLEASE) == F_UNLCK, "lease released");
    w = MUST(open(spath("le"), O_WRONLY | O_NONBLOCK));
    CHECK_ERR(fcntl(r2, F_SETLEASE, F_RDLCK), EAGAIN, "read lease while someone writes");
    CHECK_ERR(fcntl(w, F_SETLEASE, F_RDLCK), EAGAIN, "read lease on a writable fd");
    CHECK_ERR(fcntl(w, F_SETLEASE, 7), EINVAL, "bad lease type");
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(fcntl(p[0], F_SETLEASE, F_RDLCK), EINVAL, "pipe: EINVAL");
    int dfd = MUST(open(sdir(), O_RDONLY | O_DIRECTORY));
    CHECK_ERR(fcntl(dfd, F_SETLEASE, F_RDLCK), EINVAL, "directory: EINVAL");
}

static volatile sig_atomic_t got_io;
static int lease_fd = -1;
static void on_io(int s) {
    (void)s;
    got_io = 1;
    fcntl(lease_fd, F_SETLEASE, F_UNLCK);
}

/* A writer's open breaks a read lease: the holder gets SIGIO, gives the lease up, and
 * the open goes through. */
static void lease_break(void) {
    MUST(close(MUST(open(spath("lb"), O_CREAT | O_WRONLY, 0644))));
    struct sigaction sa = {.sa_handler = on_io, .sa_flags = SA_RESTART};
    sigaction(SIGIO, &sa, 0);
    lease_fd = MUST(open(spath("lb"), O_RDONLY));
    CHECK(fcntl(lease_fd, F_SETLEASE, F_RDLCK) == 0, "read lease");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        int w = open(spath("lb"), O_WRONLY);
        CHECK(w >= 0, "the writer's open completes once the lease is gone");
        _exit(t_failed);
    }
    say("child: %s", wait_child(c));
    CHECK(got_io, "the holder got SIGIO");
    CHECK(fcntl(lease_fd, F_GETLEASE) == F_UNLCK, "and has no lease left");
}

/* ---- inotify ---- */

static const char *mask_names(uint32_t m) {
    static char b[256];
    static const struct { uint32_t bit; const char *n; } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
        {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
        {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"},
        {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
        {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
        {IN_ISDIR, "ISDIR"}};
    b[0] = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit) {
            strcat(b, b[0] ? "|" : "");
            strcat(b, names[i].n);
        }
    return b;
}

/* Prints every queued event (non-blocking fd): "wdN MASK [cookie] [name]". Cookies
 * print as "c" plus whether they equal the previous one. */
static void drain(int in) {
    char buf[65536] __attribute__((aligned(8)));
    static uint32_t last_cookie;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) {
            if (errno != EAGAIN) say("read: %s", ename(errno));
            return;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            char ck[32] = "";
            if (e->cookie) {
                snprintf(ck, sizeof ck, " cookie%s", e->cookie == last_cookie ? "=prev" : "");
                last_cookie = e->cookie;
            }
            say("  wd%d %s%s%s%s len=%u", e->wd, mask_names(e->mask), ck, e->len ? " " : "",
                e->len ? e->name : "", e->len);
            p += sizeof *e + e->len;
        }
    }
}

static void inotify_events(void) {
    MUST(chdir(sdir()));
    int in = MUST(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    CHECK(fcntl(in, F_GETFD) == FD_CLOEXEC, "IN_CLOEXEC");
    int wd = MUST(inotify_add_watch(in, ".", IN_ALL_EVENTS));
    int fd = MUST(open("f", O_CREAT | O_WRONLY | O_TRUNC, 0644));
    int wf = MUST(inotify_add_watch(in, "f", IN_ALL_EVENTS));
    say("wd %d wf %d", wd, wf);
    MUST(write(fd, "x", 1));
    MUST(write(fd, "x", 1));
    close(fd);
    say("create, write twice, close:");
    drain(in);
    fd = MUST(open("f", O_WRONLY | O_TRUNC));
    close(fd);
    say("open O_TRUNC:");
    drain(in);
    fd = MUST(open("f", O_RDONLY));
    char b[16];
    MUST(read(fd, b, sizeof b));
    MUST(read(fd, b, sizeof b));
    close(fd);
    say("read to EOF:");
    drain(in);
    fd = MUST(open("f", O_PATH));
    close(fd);
    say("O_PATH: nothing");
    drain(in);
    int dfd = MUST(open(".", O_RDONLY | O_DIRECTORY));
    char db[4096];
    syscall(SYS_getdents64, dfd, db, sizeof db);
    syscall(SYS_getdents64, dfd, db, sizeof db);
    close(dfd);
    say("getdents:");
    drain(in);
    MUST(chmod("f", 0600));
    MUST(utimensat(AT_FDCWD, "f", NULL, 0));
    MUST(truncate("f", 1));
    MUST(setxattr("f", "user.k", "v", 1, 0));
    say("chmod, utimensat, truncate, setxattr:");
    drain(in);
    MUST(link("f", "hard"));
    say("link:");
    drain(in);
    MUST(unlink("hard"));
    say("unlink one of two links:");
    drain(in);
    MUST(rename("f", "g"));
    say("rename:");
    drain(in);
    MUST(close(MUST(open("h", O_CREAT | O_WRONLY, 0644))));
    MUST(rename("g", "h"));
    say("rename over an existing file:");
    drain(in);
    MUST(unlink("h"));
    say("unlink:");
    drain(in);
    fd = MUST(open("open", O_CREAT | O_WRONLY, 0644));
    int wo = MUST(inotify_add_watch(in, "open", IN_ALL_EVENTS));
    say("wo %d", wo);
    MUST(unlink("open"));
    say("unlink an open file:");
    drain(in);
    MUST(write(fd, "a", 1));
    close(fd);
    say("write and close it:");
    drain(in);
    MUST(mkdir("sub", 0755));
    int ws = MUST(inotify_add_watch(in, "sub", IN_ALL_EVENTS));
    MUST(close(MUST(open("sub/inner", O_CREAT | O_WRONLY, 0644))));
    MUST(unlink("sub/inner"));
    MUST(rmdir("sub"));
    say("ws %d; mkdir, file inside, rmdir:", ws);
    drain(in);
    MUST(mkdir("d1", 0755));
    MUST(mkdir("d2", 0755));
    MUST(inotify_add_watch(in, "d2", IN_ALL_EVENTS));
    MUST(inotify_add_watch(in, "d1", IN_ALL_EVENTS));
    MUST(rename("d1", "d2/d1"));
    MUST(chmod("d2", 0700));
    MUST(symlink("target", "sl"));
    MUST(mkfifo("fifo", 0644));
    say("dirs, move into another dir, symlink, mkfifo:");
    drain(in);
    chdir("/");
}

static void inotify_flags(void) {
    MUST(chdir(sdir()));
    int in = MUST(inotify_init1(IN_NONBLOCK));
    MUST(close(MUST(open("a", O_CREAT | O_WRONLY, 0644))));
    MUST(symlink("a", "ln"));
    MUST(mkdir("dir", 0755));
    int w1 = MUST(inotify_add_watch(in, "a", IN_OPEN | IN_ONESHOT));
    MUST(close(MUST(open("a", O_RDONLY))));
    MUST(close(MUST(open("a", O_RDONLY))));
    say("oneshot:");
    drain(in);
    int w2 = MUST(inotify_add_watch(in, "a", IN_OPEN));
    CHECK(w2 != w1, "a new wd after the oneshot went");
    CHECK(inotify_add_watch(in, "a", IN_CLOSE_NOWRITE | IN_MASK_ADD) == w2, "MASK_ADD returns the wd");
    MUST(close(MUST(open("a", O_RDONLY))));
    say("after MASK_ADD:");
    drain(in);
    CHECK(inotify_add_watch(in, "a", IN_CLOSE_NOWRITE) == w2, "replace the mask");
    MUST(close(MUST(open("a", O_RDONLY))));
    say("after replacing:");
    drain(in);
    CHECK_ERR(inotify_add_watch(in, "a", IN_OPEN | IN_MASK_CREATE), EEXIST, "MASK_CREATE on a watched file");
    CHECK_ERR(inotify_add_watch(in, "a", IN_OPEN | IN_MASK_CREATE | IN_MASK_ADD), EINVAL, "MASK_CREATE|MASK_ADD");
    CHECK_ERR(inotify_add_watch(in, "a", IN_OPEN | IN_ONLYDIR), ENOTDIR, "ONLYDIR on a file");
    CHECK(inotify_add_watch(in, "dir", IN_OPEN | IN_ONLYDIR) > 0, "ONLYDIR on a directory");
    int wl = MUST(inotify_add_watch(in, "ln", IN_OPEN | IN_DONT_FOLLOW));
    CHECK(wl != w2, "DONT_FOLLOW watches the link itself");
    CHECK(inotify_add_watch(in, "ln", IN_OPEN) == w2, "following reaches the file's watch");
    CHECK(inotify_rm_watch(in, w2) == 0, "rm_watch");
    say("rm_watch:");
    drain(in);
    CHECK_ERR(inotify_rm_watch(in, w2), EINVAL, "rm_watch twice");
    CHECK_ERR(inotify_rm_watch(in, 12345), EINVAL, "unknown wd");
    CHECK_ERR(inotify_add_watch(in, "missing", IN_OPEN), ENOENT, "missing path");
    CHECK_ERR(inotify_add_watch(in, "a", 0), EINVAL, "empty mask");
    CHECK_ERR(inotify_add_watch(1000, "a", IN_OPEN), EBADF, "bad fd");
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(inotify_add_watch(p[0], "a", IN_OPEN), EINVAL, "not an inotify fd");
    CHECK_ERR(inotify_rm_watch(p[0], 1), EINVAL, "rm_watch on a non-inotify fd");
    CHECK_ERR(inotify_init1(IN_NONBLOCK | 1), EINVAL, "bad init flags");
    CHECK_ERR(inotify_add_watch(in, (char *)8, IN_OPEN), EFAULT, "bad path pointer");
    /* EXCL_UNLINK: events of a file unlinked from the watched directory stop. */
    int in2 = MUST(inotify_init1(IN_NONBLOCK));
    MUST(inotify_add_watch(in2, ".", IN_MODIFY | IN_EXCL_UNLINK));
    int fd = MUST(open("ex", O_CREAT | O_WRONLY, 0644));
    MUST(write(fd, "1", 1));
    MUST(unlink("ex"));
    MUST(write(fd, "2", 1));
    close(fd);
    say("EXCL_UNLINK:");
    drain(in2);
    /* Reads: a buffer too small for the event, FIONREAD, poll, blocking. */
    int in3 = MUST(inotify_init());
    MUST(inotify_add_watch(in3, ".", IN_CREATE));
    struct pollfd pf = {.fd = in3, .events = POLLIN};
    CHECK(poll(&pf, 1, 0) == 0, "nothing to read: not readable");
    MUST(close(MUST(open("longer-name", O_CREAT | O_WRONLY, 0644))));
    CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "an event: readable");
    int avail = -1;
    CHECK(ioctl(in3, FIONREAD, &avail) == 0 && avail == 32, "FIONREAD %d", avail);
    char small[20];
    CHECK_ERR(read(in3, small, sizeof small), EINVAL, "buffer smaller than the event");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(100000);
        MUST(close(MUST(open("from-child", O_CREAT | O_WRONLY, 0644))));
        _exit(0);
    }
    char big[4096] __attribute__((aligned(8)));
    ssize_t n = read(in3, big, sizeof big);
    CHECK(n == 32, "first event");
    n = read(in3, big, sizeof big);
    struct inotify_event *e = (struct inotify_event *)big;
    CHECK(n == 32 && !strcmp(e->name, "from-child"), "a blocking read waits for the child's event");
    say("child: %s", wait_child(c));
    int nb = MUST(inotify_init1(IN_NONBLOCK));
    CHECK_ERR(read(nb, big, sizeof big), EAGAIN, "non-blocking read of an empty queue");
    /* epoll sees an instance become readable. */
    MUST(inotify_add_watch(nb, ".", IN_CREATE));
    int ep = MUST(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN}, got;
    MUST(epoll_ctl(ep, EPOLL_CTL_ADD, nb, &ev));
    CHECK(epoll_wait(ep, &got, 1, 0) == 0, "epoll: nothing yet");
    MUST(close(MUST(open("for-epoll", O_CREAT | O_WRONLY, 0644))));
    CHECK(epoll_wait(ep, &got, 1, 1000) == 1 && got.events == EPOLLIN, "epoll: readable after an event");
    chdir("/");
}

static void inotify_overflow(void) {
    MUST(chdir(sdir()));
    int in = MUST(inotify_init1(IN_NONBLOCK));
    MUST(close(MUST(open("o", O_CREAT | O_WRONLY, 0644))));
    MUST(inotify_add_watch(in, "o", IN_OPEN | IN_CLOSE_NOWRITE));
    for (int i = 0; i < 8300; i++) close(open("o", O_RDONLY));
    int avail = 0;
    MUST(ioctl(in, FIONREAD, &avail));
    say("queued bytes %d", avail);
    static char buf[1 << 20] __attribute__((aligned(8)));
    ssize_t n = read(in, buf, sizeof buf);
    long events = n / 16, last = 0;
    struct inotify_event *e = (struct inotify_event *)(buf + n - 16);
    last = e->mask;
    say("read %zd bytes, %ld events, last %s wd %d", n, events, mask_names(last), e->wd);
    chdir("/");
}

static void inotify_host(void) {
    int in = MUST(inotify_init1(IN_NONBLOCK));
    MUST(inotify_add_watch(in, "/etc/passwd", IN_ALL_EVENTS));
    int fd = MUST(open("/etc/passwd", O_RDONLY));
    char b[16];
    MUST(read(fd, b, sizeof b));
    close(fd);
    say("host file open, read, close:");
    drain(in);
    int p[2];
    MUST(pipe(p));
    char pr[64];
    snprintf(pr, sizeof pr, "/proc/self/fd/%d", p[0]);
    MUST(inotify_add_watch(in, pr, IN_ACCESS | IN_MODIFY));
    MUST(write(p[1], "x", 1));
    MUST(read(p[0], b, 1));
    say("pipe write, read:");
    drain(in);
}

/* fdinfo shows a file's locks and an inotify instance's watches. */
static void fdinfo_extra(void) {
    int fd = MUST(open(spath("fi"), O_CREAT | O_RDWR, 0644));
    struct stat st;
    MUST(fstat(fd, &st));
    MUST(flock(fd, LOCK_EX));
    MUST(setlk(fd, F_SETLK, F_RDLCK, 0, 10));
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    char *b = slurp(p);
    int locks = 0;
    for (char *l = strtok(b, "\n"); l; l = strtok(NULL, "\n")) {
        if (strncmp(l, "lock:\t", 6)) continue;
        locks++;
        int n;
        char kind[16], adv[16], type[16], dev[64];
        long pid;
        if (sscanf(l + 6, "%d: %15s %15s %15s %ld %63s", &n, kind, adv, type, &pid, dev) == 6)
            say("lock %s %s %s %s", kind, adv, type, pid == getpid() ? "me" : "?");
    }
    CHECK(locks == 2, "two lock lines");
    int in = MUST(inotify_init1(0));
    MUST(inotify_add_watch(in, spath("fi"), IN_MODIFY | IN_OPEN));
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", in);
    b = slurp(p);
    char *w = strstr(b, "inotify wd:");
    unsigned wd, sdev, mask;
    unsigned long ino;
    CHECK(w && sscanf(w, "inotify wd:%x ino:%lx sdev:%x mask:%x", &wd, &ino, &sdev, &mask) == 4 &&
              wd == 1 && ino == st.st_ino && mask == (IN_MODIFY | IN_OPEN),
          "inotify watch line");
}

/* ---- data movement ---- */

static int file_with(const char *name, const char *data) {
    int fd = MUST(open(spath(name), O_CREAT | O_RDWR | O_TRUNC, 0644));
    MUST(write(fd, data, strlen(data)));
    MUST(lseek(fd, 0, SEEK_SET));
    return fd;
}

static void show_file(const char *name) {
    char b[256] = {0};
    int fd = MUST(open(spath(name), O_RDONLY));
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    say("%s = \"%s\" (%zd)", name, b, n);
}

static void splice_case(void) {
    signal(SIGPIPE, SIG_IGN);
    int f = file_with("src", "0123456789abcdef");
    int p[2];
    MUST(pipe(p));
    loff_t off = 4;
    CHECK(splice(f, &off, p[1], NULL, 6, 0) == 6 && off == 10, "file to pipe at an offset");
    CHECK(lseek(f, 0, SEEK_CUR) == 0, "the file offset did not move");
    CHECK(splice(f, NULL, p[1], NULL, 3, SPLICE_F_MORE) == 3 && lseek(f, 0, SEEK_CUR) == 3,
          "file to pipe at the file offset, which moves");
    int avail = 0;
    CHECK(ioctl(p[0], FIONREAD, &avail) == 0 && avail == 9, "9 bytes in the pipe");
    int out = MUST(open(spath("dst"), O_CREAT | O_RDWR | O_TRUNC, 0644));
    loff_t oo = 2;
    CHECK(splice(p[0], NULL, out, &oo, 4, 0) == 4 && oo == 6, "pipe to file at an offset");
    CHECK(splice(p[0], NULL, out, NULL, 100, 0) == 5, "pipe to file: what the pipe has");
    show_file("dst");
    CHECK_ERR(splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN, "empty pipe, non-blocking");
    CHECK_ERR(splice(f, NULL, out, NULL, 10, 0), EINVAL, "file to file");
    CHECK_ERR(splice(p[0], &off, out, NULL, 10, 0), ESPIPE, "offset on the pipe side");
    CHECK_ERR(splice(f, NULL, p[1], &off, 10, 0), ESPIPE, "offset on the output pipe");
    CHECK_ERR(splice(p[0], NULL, p[1], NULL, 10, 0), EINVAL, "a pipe to itself");
    CHECK_ERR(splice(f, NULL, p[1], NULL, 10, 0x10), EINVAL, "unknown flag");
    CHECK(splice(1000, NULL, 1001, NULL, 0, 0) == 0, "length 0 returns before looking at fds");
    CHECK_ERR(splice(1000, NULL, p[1], NULL, 1, 0), EBADF, "bad fd");
    CHECK_ERR(splice(p[1], NULL, out, NULL, 1, 0), EBADF, "reading the write end");
    int ap = MUST(open(spath("dst"), O_WRONLY | O_APPEND));
    MUST(write(p[1], "z", 1));
    CHECK_ERR(splice(p[0], NULL, ap, NULL, 1, 0), EINVAL, "O_APPEND output");
    CHECK_ERR(splice(f, (loff_t *)8, p[1], NULL, 1, 0), EFAULT, "bad offset pointer");
    loff_t neg = -1;
    CHECK_ERR(splice(f, &neg, p[1], NULL, 1, 0), EINVAL, "negative offset");
    int q[2];
    MUST(pipe(q));
    CHECK(splice(p[0], NULL, q[1], NULL, 10, 0) == 1, "pipe to pipe");
    MUST(write(p[1], "more", 4));
    close(p[1]);
    CHECK(splice(p[0], NULL, q[1], NULL, 2, 0) == 2, "pipe to pipe, part");
    CHECK(splice(p[0], NULL, q[1], NULL, 10, 0) == 2, "the rest");
    CHECK(splice(p[0], NULL, q[1], NULL, 10, 0) == 0, "no writers and empty: 0");
    char b[16] = {0};
    CHECK(read(q[0], b, sizeof b) == 5 && !strcmp(b, "zmore"), "moved in order");
    close(q[0]);
    CHECK_ERR(splice(f, NULL, q[1], NULL, 1, 0), EPIPE, "no readers: EPIPE");
    /* A full pipe with SPLICE_F_NONBLOCK. */
    int r[2];
    MUST(pipe(r));
    MUST(fcntl(r[1], F_SETPIPE_SZ, 4096));
    static char big[4096];
    MUST(write(r[1], big, sizeof big));
    CHECK_ERR(splice(f, NULL, r[1], NULL, 1, SPLICE_F_NONBLOCK), EAGAIN, "full pipe, non-blocking");
    /* A blocked splice waits for data. */
    int s[2];
    MUST(pipe(s));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(100000);
        MUST(write(s[1], "late", 4));
        _exit(0);
    }
    int o2 = MUST(open(spath("late"), O_CREAT | O_RDWR | O_TRUNC, 0644));
    CHECK(splice(s[0], NULL, o2, NULL, 100, 0) == 4, "a blocking splice waits for the writer");
    say("child: %s", wait_child(c));
}

static void tee_vmsplice(void) {
    int p[2], q[2];
    MUST(pipe(p));
    MUST(pipe(q));
    MUST(write(p[1], "hello", 5));
    CHECK(tee(p[0], q[1], 3, 0) == 3, "tee copies");
    char b[16] = {0};
    CHECK(read(q[0], b, sizeof b) == 3 && !memcmp(b, "hel", 3), "copy arrived");
    memset(b, 0, sizeof b);
    CHECK(read(p[0], b, sizeof b) == 5 && !strcmp(b, "hello"), "source kept its bytes");
    CHECK_ERR(tee(p[0], q[1], 3, SPLICE_F_NONBLOCK), EAGAIN, "empty source, non-blocking");
    CHECK_ERR(tee(p[0], p[1], 3, 0), EINVAL, "to itself");
    int f = file_with("tf", "abc");
    CHECK_ERR(tee(f, q[1], 3, 0), EINVAL, "from a file");
    CHECK_ERR(tee(p[0], q[1], 3, 0x20), EINVAL, "bad flags");
    CHECK(tee(p[0], q[1], 0, 0) == 0, "length 0");
    close(p[1]);
    CHECK(tee(p[0], q[1], 3, 0) == 0, "empty source without writers: 0");
    /* vmsplice */
    int v[2];
    MUST(pipe(v));
    char x[] = "abc", y[] = "defg";
    struct iovec iov[2] = {{x, 3}, {y, 4}};
    CHECK(vmsplice(v[1], iov, 2, 0) == 7, "vmsplice into a pipe");
    char r1[4] = {0}, r2[10] = {0};
    struct iovec riov[2] = {{r1, 2}, {r2, 10}};
    CHECK(vmsplice(v[0], riov, 2, 0) == 7 && !memcmp(r1, "ab", 2) && !strcmp(r2, "cdefg"),
          "vmsplice out of a pipe");
    CHECK_ERR(vmsplice(v[0], riov, 2, SPLICE_F_NONBLOCK), EAGAIN, "empty, non-blocking");
    CHECK(vmsplice(v[1], iov, 0, 0) == 0, "no segments");
    CHECK_ERR(vmsplice(f, iov, 1, 0), EBADF, "not a pipe");
    CHECK_ERR(vmsplice(v[1], iov, 1, 0x40), EINVAL, "bad flags");
    CHECK_ERR(vmsplice(v[1], iov, 2000, 0), EINVAL, "too many segments");
    CHECK_ERR(vmsplice(v[1], (struct iovec *)8, 1, 0), EFAULT, "bad iovec");
}

static void copy_range(void) {
    int a = file_with("ca", "0123456789");
    int b = MUST(open(spath("cb"), O_CREAT | O_RDWR | O_TRUNC, 0644));
    loff_t oi = 2, oo = 0;
    CHECK(copy_file_range(a, &oi, b, &oo, 5, 0) == 5 && oi == 7 && oo == 5, "offsets move");
    CHECK(lseek(a, 0, SEEK_CUR) == 0 && lseek(b, 0, SEEK_CUR) == 0, "file offsets unchanged");
    CHECK(copy_file_range(a, NULL, b, NULL, 3, 0) == 3 && lseek(a, 0, SEEK_CUR) == 3 &&
              lseek(b, 0, SEEK_CUR) == 3,
          "without offsets the file offsets move");
    show_file("cb");
    oi = 8;
    CHECK(copy_file_range(a, &oi, b, NULL, 100, 0) == 2, "stops at the source's end");
    oi = 10;
    CHECK(copy_file_range(a, &oi, b, NULL, 100, 0) == 0, "at EOF: 0");
    oi = 0;
    oo = 20;
    CHECK(copy_file_range(a, &oi, a, &oo, 5, 0) == 5, "within one file, apart");
    oi = 0;
    oo = 3;
    CHECK_ERR(copy_file_range(a, &oi, a, &oo, 5, 0), EINVAL, "overlapping ranges");
    CHECK_ERR(copy_file_range(a, NULL, b, NULL, 5, 1), EINVAL, "flags");
    int ro = MUST(open(spath("cb"), O_RDONLY));
    CHECK_ERR(copy_file_range(a, NULL, ro, NULL, 5, 0), EBADF, "read-only output");
    int wo = MUST(open(spath("ca"), O_WRONLY));
    CHECK_ERR(copy_file_range(wo, NULL, b, NULL, 5, 0), EBADF, "write-only input");
    int ap = MUST(open(spath("cb"), O_WRONLY | O_APPEND));
    CHECK_ERR(copy_file_range(a, NULL, ap, NULL, 5, 0), EBADF, "O_APPEND output");
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(copy_file_range(p[0], NULL, b, NULL, 5, 0), EINVAL, "from a pipe");
    CHECK_ERR(copy_file_range(a, NULL, p[1], NULL, 5, 0), EINVAL, "to a pipe");
    int d = MUST(open(sdir(), O_RDONLY | O_DIRECTORY));
    CHECK_ERR(copy_file_range(d, NULL, b, NULL, 5, 0), EISDIR, "from a directory");
    oi = -1;
    CHECK_ERR(copy_file_range(a, &oi, b, NULL, 5, 0), EOVERFLOW, "negative offset");
    CHECK_ERR(copy_file_range(a, (loff_t *)8, b, NULL, 5, 0), EFAULT, "bad offset pointer");
    int host = MUST(open("/etc/passwd", O_RDONLY));
    CHECK_ERR(copy_file_range(host, NULL, b, NULL, 5, 0), EXDEV, "across file systems");
    CHECK_ERR(copy_file_range(host, NULL, b, NULL, 0, 0), EXDEV, "across file systems, length 0");
    CHECK(copy_file_range(a, NULL, b, NULL, 0, 0) == 0, "length 0");
}

static void sendfile_misc(void) {
    int a = file_with("sa", "sendfile data");
    int p[2];
    MUST(pipe(p));
    off_t o = 4;
    CHECK(sendfile(p[1], a, &o, 4) == 4 && o == 8 && lseek(a, 0, SEEK_CUR) == 0, "sendfile with an offset");
    CHECK(sendfile(p[1], a, NULL, 4) == 4 && lseek(a, 0, SEEK_CUR) == 4, "sendfile at the file offset");
    int b = MUST(open(spath("sb"), O_CREAT | O_RDWR | O_TRUNC, 0644));
    o = 0;
    CHECK(sendfile(b, a, &o, 100) == 13, "file to file");
    show_file("sb");
    int ap = MUST(open(spath("sb"), O_WRONLY | O_APPEND));
    CHECK_ERR(sendfile(ap, a, NULL, 1), EINVAL, "O_APPEND output");
    CHECK_ERR(sendfile(b, p[0], &o, 1), ESPIPE, "offset with a pipe input");
    /* fadvise, readahead, sync_file_range, syncfs. */
    CHECK(posix_fadvise(a, 0, 0, POSIX_FADV_WILLNEED) == 0, "fadvise WILLNEED");
    CHECK(posix_fadvise(a, 0, 0, POSIX_FADV_DONTNEED) == 0, "fadvise DONTNEED");
    CHECK(posix_fadvise(a, 0, 0, 99) == EINVAL, "fadvise bad advice");
    CHECK(posix_fadvise(a, 0, -1, POSIX_FADV_NORMAL) == EINVAL, "fadvise negative length");
    CHECK(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE, "fadvise on a pipe");
    CHECK(posix_fadvise(1000, 0, 0, POSIX_FADV_NORMAL) == EBADF, "fadvise bad fd");
    CHECK(readahead(a, 0, 4096) == 0, "readahead");
    CHECK_ERR(readahead(p[0], 0, 10), EINVAL, "readahead on a pipe");
    int wo = MUST(open(spath("sa"), O_WRONLY));
    CHECK_ERR(readahead(wo, 0, 10), EBADF, "readahead on a write-only fd");
    CHECK(sync_file_range(a, 0, 0, SYNC_FILE_RANGE_WRITE) == 0, "sync_file_range");
    CHECK_ERR(sync_file_range(a, 0, 0, 8), EINVAL, "sync_file_range flags");
    CHECK_ERR(sync_file_range(a, -1, 0, 0), EINVAL, "sync_file_range negative offset");
    CHECK_ERR(sync_file_range(p[0], 0, 0, 0), ESPIPE, "sync_file_range on a pipe");
    CHECK_ERR(sync_file_range(1000, 0, 0, 8), EBADF, "sync_file_range bad fd before flags");
    CHECK(syncfs(a) == 0, "syncfs");
    CHECK_ERR(syncfs(1000), EBADF, "syncfs bad fd");
    CHECK(fdatasync(a) == 0 && fsync(a) == 0, "fsync, fdatasync");
    CHECK_ERR(fsync(p[0]), EINVAL, "fsync on a pipe");
}

/* ---- procfs ---- */

static char *slurp(const char *path) {
    static char buf[1 << 20];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(fd);
    buf[n] = 0;
    return buf;
}

/* The field names of a "Name:   value" file, in order, up to `max`. */
static void field_names(const char *path, int skip, int max) {
    char *b = slurp(path);
    if (!b) {
        say("%s: %s", path, ename(errno));
        return;
    }
    char out[4096] = "";
    int n = 0;
    for (char *l = strtok(b, "\n"); l && n < max; l = strtok(NULL, "\n"), n++) {
        if (skip > 0) {
            skip--;
            n--;
            continue;
        }
        char *c = strchr(l, ':');
        if (c) *c = 0;
        strcat(out, l);
        strcat(out, " ");
    }
    say("%s: %s", path, out);
}

static void procfs_mem(void) {
    /* Touch some anonymous memory so there is something resident. */
    char *m = MUSTP(mmap(0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (int i = 0; i < 64; i++) m[i * 4096] = 1;
    char *maps = strdup(slurp("/proc/self/maps"));
    char *sm = strdup(slurp("/proc/self/smaps"));
    /* Every maps line heads a block of smaps with the same fields. */
    int vmas = 0, bad = 0;
    long rss_sum = 0, mine = -1;
    char *save = NULL;
    char expect[2048] = "";
    int block_fields = 0;
    for (char *l = strtok_r(sm, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strchr(l, '-') && l[0] != 'V' && strncmp(l, "THP", 3) && strncmp(l, "Prot", 4) &&
            (l[0] >= '0' && l[0] <= '9' || (l[0] >= 'a' && l[0] <= 'f')) && strchr(l, ' ') &&
            strchr(l, ' ') - l > 8) {
            if (!strstr(maps, l)) bad++;
            if (vmas == 1 && !expect[0]) {}
            vmas++;
            block_fields = 0;
            continue;
        }
        char name[64];
        long v;
        if (sscanf(l, "%63[^:]: %ld", name, &v) >= 1) {
            if (vmas == 1) {
                strcat(expect, name);
                strcat(expect, " ");
            }
            block_fields++;
            if (!strcmp(name, "Rss")) rss_sum += v;
        }
    }
    say("smaps fields: %s", expect);
    CHECK(vmas > 3 && bad == 0, "every smaps header is a maps line");
    (void)mine;
    char *ro = slurp("/proc/self/smaps_rollup");
    CHECK(ro && strstr(ro, "[rollup]"), "rollup header");
    long rr = -1;
    char *p = ro ? strstr(ro, "\nRss:") : NULL;
    if (p) sscanf(p + 5, "%ld", &rr);
    CHECK(rr >= 256 && rr > rss_sum / 2 && rr < rss_sum * 2, "rollup Rss is about the sum of Rss");
    field_names("/proc/self/smaps_rollup", 1, 40);
    char *st = slurp("/proc/self/statm");
    long sz, res;
    CHECK(st && sscanf(st, "%ld %ld", &sz, &res) == 2 && res >= 64 && sz > res, "statm size and resident");
    char *status = slurp("/proc/self/status");
    CHECK(strstr(status, "\nVmRSS:") && strstr(status, "\nThreads:\t1\n") && strstr(status, "\nSigBlk:"),
          "status fields");
    field_names("/proc/meminfo", 0, 18);
    char *mi = slurp("/proc/meminfo");
    long total = 0, freem = 0, avail = 0;
    sscanf(strstr(mi, "MemTotal:"), "MemTotal: %ld", &total);
    sscanf(strstr(mi, "MemFree:"), "MemFree: %ld", &freem);
    sscanf(strstr(mi, "MemAvailable:"), "MemAvailable: %ld", &avail);
    CHECK(total > 0 && freem > 0 && freem <= total && avail <= total, "meminfo totals are sane");
}

static void procfs_pid_more(void) {
    char l[256];
    ssize_t n = readlink("/proc/self/ns/mnt", l, sizeof l - 1);
    l[n > 0 ? n : 0] = 0;
    CHECK(!strncmp(l, "mnt:[", 5) && l[n - 1] == ']', "ns/mnt link text");
    const char *ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                        "time_for_children", "user", "uts"};
    int ok = 1;
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
        struct stat a, b;
        if (lstat(p, &a) || !S_ISLNK(a.st_mode) || stat(p, &b)) ok = 0;
        n = readlink(p, l, sizeof l - 1);
        l[n > 0 ? n : 0] = 0;
        unsigned long id = 0;
        char kind[32];
        if (sscanf(l, "%31[a-z]:[%lu]", kind, &id) != 2 || id != b.st_ino) ok = 0;
    }
    CHECK(ok, "every ns link names its namespace's inode");
    struct stat a, b;
    MUST(stat("/proc/self/ns/pid", &a));
    MUST(stat("/proc/self/ns/pid_for_children", &b));
    CHECK(a.st_ino == b.st_ino, "pid and pid_for_children are one namespace");
    char *sch = slurp("/proc/self/sched");
    char comm[32];
    int pid, th;
    CHECK(sch && sscanf(sch, "%31s (%d, #threads: %d)", comm, &pid, &th) == 3 && pid == getpid() &&
              th == 1,
          "sched header");
    CHECK(strstr(sch, "\n---") && strstr(sch, "\nse.sum_exec_runtime ") && strstr(sch, "\nprio "),
          "sched fields");
    /* oom_score_adj: kept, range-checked, inherited. */
    int fd = MUST(open("/proc/self/oom_score_adj", O_RDWR));
    CHECK(write(fd, "500\n", 4) == 4, "write 500");
    char *v = slurp("/proc/self/oom_score_adj");
    CHECK(!strcmp(v, "500\n"), "read back %s", v);
    v = slurp("/proc/self/oom_adj");
    CHECK(!strcmp(v, "8\n"), "oom_adj view %s", v);
    CHECK_ERR(write(fd, "1001", 4), EINVAL, "out of range");
    CHECK_ERR(write(fd, "abc", 3), EINVAL, "not a number");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        char *w = slurp("/proc/self/oom_score_adj");
        CHECK(!strcmp(w, "500\n"), "a child inherits it");
        _exit(t_failed);
    }
    say("child: %s", wait_child(c));
    close(fd);
    /* /proc/sys values that are the same on every Linux. */
    const char *same[] = {"kernel/ostype", "kernel/shmmax", "vm/overcommit_memory", "vm/max_map_count",
                          "fs/nr_open", "fs/pipe-max-size", "fs/inotify/max_queued_events",
                          "fs/inotify/max_user_instances", "fs/lease-break-time", "fs/leases-enable"};
    for (unsigned i = 0; i < sizeof same / sizeof same[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "/proc/sys/%s", same[i]);
        char *x = slurp(p);
        say("%s = %s", same[i], x ? strtok(x, "\n") : ename(errno));
    }
    const char *nums[] = {"kernel/pid_max", "fs/file-max"};
    for (unsigned i = 0; i < 2; i++) {
        char p[128];
        snprintf(p, sizeof p, "/proc/sys/%s", nums[i]);
        char *x = slurp(p);
        char *end;
        long long val = x ? strtoll(x, &end, 10) : -1;
        CHECK(x && val > 0 && *end == '\n', "%s is a number", nums[i]);
    }
    char *u1 = strdup(slurp("/proc/sys/kernel/random/uuid"));
    char *u2 = slurp("/proc/sys/kernel/random/uuid");
    CHECK(strlen(u1) == 37 && u1[8] == '-' && u1[14] == '4' && strcmp(u1, u2), "uuid: fresh v4 each read");
    char *b1 = strdup(slurp("/proc/sys/kernel/random/boot_id"));
    CHECK(!strcmp(b1, slurp("/proc/sys/kernel/random/boot_id")) && strlen(b1) == 37, "boot_id: stable");
    double up, idle;
    CHECK(sscanf(slurp("/proc/uptime"), "%lf %lf", &up, &idle) == 2 && up >= 0, "uptime");
    double l1, l5, l15;
    int run, tot, last;
    CHECK(sscanf(slurp("/proc/loadavg"), "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &run, &tot, &last) == 6 &&
              run >= 1 && tot >= run,
          "loadavg");
    CHECK(!strncmp(slurp("/proc/version"), "Linux version ", 14), "version");
    char *fs = slurp("/proc/filesystems");
    CHECK(strstr(fs, "nodev\ttmpfs\n") && strstr(fs, "nodev\tproc\n"), "filesystems");
    char *ps = slurp("/proc/stat");
    CHECK(!strncmp(ps, "cpu  ", 5) && strstr(ps, "\nbtime ") && strstr(ps, "\nprocesses "), "stat");
    field_names("/proc/self/io", 0, 10);
    field_names("/proc/self/limits", 0, 1);
    char *au = slurp("/proc/self/auxv");
    CHECK(au != NULL, "auxv readable");
    char *tk = slurp("/proc/self/task/self");
    (void)tk;
    char tp[64];
    snprintf(tp, sizeof tp, "/proc/self/task/%d/stat", getpid());
    char *ts = slurp(tp);
    CHECK(ts && atoi(ts) == getpid(), "task/TID/stat");
}

static const struct tcase cases[] = {
    CASE(tmpfs_sparse), CASE(tmpfs_statfs), CASE(tmpfs_tmpfile), CASE(tmpfs_chattr),
    CASE(memfd_basic),  CASE(memfd_seals),  CASE(xattr_tmpfs),   CASE(xattr_other),
    CASE(flock_case),   CASE(posix_locks),  CASE(posix_wait_deadlock), CASE(ofd_locks),
    CASE(proc_locks),   CASE(leases),       CASE(lease_break),       CASE(tmpfs_punch_mapped),       CASE(inotify_events), CASE(inotify_flags),
    CASE(inotify_overflow), CASE(inotify_host), CASE(fdinfo_extra), CASE(splice_case), CASE(tee_vmsplice),
    CASE(copy_range),   CASE(sendfile_misc), CASE(procfs_mem), CASE(procfs_pid_more),
    {0, 0}};

int main(int argc, char **argv) { return run_cases(cases, argc, argv); }
