/* Files: I/O calls, stat family, directories, fd table, pipes, namespace
 * operations in /tmp, permissions and times, devices, /proc, bad input. */
#include "t.h"
#include <dirent.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <termios.h>
#include <sched.h>
#include <time.h>
#include <sys/sysmacros.h>

static void rw(void) {
    const char *p = tpath("f");
    int fd = MUST(open(p, O_CREAT | O_RDWR | O_TRUNC, 0644));
    CHECK(write(fd, "hello world", 11) == 11, "write 11 bytes");
    CHECK(lseek(fd, 0, SEEK_CUR) == 11, "offset advanced to 11");
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "SEEK_SET 0");
    char b[64] = {0};
    CHECK(read(fd, b, 5) == 5 && !memcmp(b, "hello", 5), "read 5");
    CHECK(lseek(fd, -3, SEEK_END) == 8, "SEEK_END -3");
    CHECK(read(fd, b, 64) == 3 && !memcmp(b, "rld", 3), "read to EOF");
    CHECK(read(fd, b, 64) == 0, "read at EOF returns 0");
    CHECK(pwrite(fd, "HELLO", 5, 0) == 5 && lseek(fd, 0, SEEK_CUR) == 11, "pwrite does not move the offset");
    memset(b, 0, sizeof b);
    CHECK(pread(fd, b, 64, 0) == 11 && !strcmp(b, "HELLO world"), "pread");
    struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
    CHECK(writev(fd, iov, 3) == 5, "writev");
    char x1[4] = {0}, x2[20] = {0};
    struct iovec riov[2] = {{x1, 3}, {x2, 20}};
    lseek(fd, 0, SEEK_SET);
    CHECK(readv(fd, riov, 2) == 16 && !memcmp(x1, "HEL", 3) && !memcmp(x2, "LO worldabcde", 13), "readv");
    struct iovec piov[1] = {{"XY", 2}};
    CHECK(pwritev(fd, piov, 1, 1) == 2, "pwritev");
    char y[4] = {0};
    struct iovec pr[1] = {{y, 3}};
    CHECK(preadv(fd, pr, 1, 0) == 3 && !memcmp(y, "HXY", 3), "preadv");
    lseek(fd, 2, SEEK_SET);
    CHECK(preadv2(fd, pr, 1, -1, 0) == 3 && !memcmp(y, "YLO", 3) && lseek(fd, 0, SEEK_CUR) == 5,
          "preadv2 with offset -1 uses and moves the file offset");
    CHECK(pwritev2(fd, piov, 1, 0, 0) == 2, "pwritev2");
    CHECK_ERR(preadv2(fd, pr, 1, 0, 0x1000), EOPNOTSUPP, "preadv2 with unknown flags");
    /* Holes. */
    CHECK(lseek(fd, 100, SEEK_SET) == 100 && write(fd, "Z", 1) == 1, "write past EOF");
    char h[100];
    CHECK(pread(fd, h, 100, 0) == 100 && h[50] == 0 && h[20] == 0, "hole reads as zeros");
    struct stat st;
    fstat(fd, &st);
    CHECK(st.st_size == 101, "size 101");
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL, "negative offset");
    CHECK_ERR(lseek(fd, 0, 7), EINVAL, "bad whence");
    CHECK_ERR(pread(fd, b, 1, -1), EINVAL, "pread negative offset");
    /* O_APPEND */
    int a = MUST(open(p, O_WRONLY | O_APPEND));
    lseek(a, 0, SEEK_SET);
    CHECK(write(a, "END", 3) == 3 && lseek(a, 0, SEEK_CUR) == 104, "O_APPEND writes at the end");
    close(a);
    /* Large offset, sparse. */
    off_t big = (off_t)5 << 30;
    CHECK(pwrite(fd, "!", 1, big) == 1, "pwrite at 5 GiB");
    fstat(fd, &st);
    CHECK(st.st_size == big + 1, "size 5 GiB + 1");
    CHECK(ftruncate(fd, 10) == 0, "truncate back");
    close(fd);
    /* O_TRUNC, O_EXCL, O_CREAT modes. */
    CHECK_ERR(open(p, O_CREAT | O_EXCL | O_WRONLY, 0600), EEXIST, "O_EXCL on an existing file");
    fd = MUST(open(p, O_RDWR | O_TRUNC));
    fstat(fd, &st);
    CHECK(st.st_size == 0, "O_TRUNC empties");
    CHECK_ERR(write(MUST(open(p, O_RDONLY)), "x", 1), EBADF, "write to an O_RDONLY fd");
    CHECK_ERR(read(MUST(open(p, O_WRONLY)), b, 1), EBADF, "read from an O_WRONLY fd");
    int c = MUST(creat(tpath("creat"), 0600));
    CHECK(write(c, "c", 1) == 1, "creat gives a writable fd");
    CHECK_ERR(read(c, b, 1), EBADF, "creat's fd is write-only");
    /* Zero-length I/O. */
    CHECK(read(fd, b, 0) == 0 && write(fd, b, 0) == 0, "zero-length read and write");
}

static const char *ftype(mode_t m) {
    return S_ISREG(m) ? "reg" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "lnk" : S_ISCHR(m) ? "chr" : S_ISFIFO(m) ? "fifo"
         : S_ISSOCK(m) ? "sock" : S_ISBLK(m) ? "blk" : "?";
}

static void stat_family(void) {
    umask(022);
    const char *f = tpath("file");
    put_file(f, "0123456789", 10, 0666);
    struct stat st, st2;
    CHECK(stat(f, &st) == 0, "stat");
    say("file: %s mode %o size %ld nlink %ld blksize>0 %d", ftype(st.st_mode), st.st_mode & 07777, (long)st.st_size,
        (long)st.st_nlink, st.st_blksize > 0);
    CHECK(st.st_uid == getuid() && st.st_gid == getgid(), "owned by us");
    MUST(symlink("file", tpath("link")));
    CHECK(lstat(tpath("link"), &st2) == 0, "lstat");
    say("link: %s size %ld", ftype(st2.st_mode), (long)st2.st_size);
    CHECK(stat(tpath("link"), &st2) == 0 && st2.st_ino == st.st_ino, "stat follows the link");
    int fd = MUST(open(f, O_RDONLY));
    CHECK(fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, "fstat");
    CHECK(fstatat(AT_FDCWD, tpath("link"), &st2, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st2.st_mode),
          "newfstatat AT_SYMLINK_NOFOLLOW");
    CHECK(fstatat(fd, "", &st2, AT_EMPTY_PATH) == 0 && st2.st_ino == st.st_ino, "newfstatat AT_EMPTY_PATH");
    int dfd = MUST(open(tmpdir(), O_RDONLY | O_DIRECTORY));
    CHECK(fstatat(dfd, "file", &st2, 0) == 0 && st2.st_ino == st.st_ino, "fstatat relative to a dir fd");
    struct statx sx;
    CHECK(statx(AT_FDCWD, f, 0, STATX_ALL, &sx) == 0, "statx");
    CHECK((sx.stx_mask & (STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO)) == (STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO),
          "statx mask has type, mode, size, ino");
    CHECK(sx.stx_size == 10 && sx.stx_ino == st.st_ino && (sx.stx_mode & 07777) == 0644, "statx values");
    CHECK(stat(tmpdir(), &st2) == 0 && S_ISDIR(st2.st_mode), "directory");
    CHECK(stat("/dev/null", &st2) == 0 && S_ISCHR(st2.st_mode), "/dev/null is a char device");
    say("/dev/null rdev %u:%u", major(st2.st_rdev), minor(st2.st_rdev));
    CHECK(stat("/dev/zero", &st2) == 0, "/dev/zero");
    say("/dev/zero rdev %u:%u", major(st2.st_rdev), minor(st2.st_rdev));
    int pfd[2];
    MUST(pipe(pfd));
    CHECK(fstat(pfd[0], &st2) == 0 && S_ISFIFO(st2.st_mode), "pipe is a fifo");
    CHECK(stat("/", &st2) == 0 && S_ISDIR(st2.st_mode), "stat /");
    CHECK(stat("/bin/sh", &st2) == 0, "stat /bin/sh");
    CHECK_ERR(stat(tpath("missing"), &st2), ENOENT, "missing file");
    CHECK_ERR(stat("", &st2), ENOENT, "empty path");
    CHECK_ERR(stat(tpath("file/x"), &st2), ENOTDIR, "file used as a directory");
    CHECK_ERR(stat((char *)8, &st2), EFAULT, "bad path pointer");
    CHECK_ERR(stat(f, (struct stat *)8), EFAULT, "bad buffer");
    CHECK_ERR(fstat(999, &st2), EBADF, "fstat of a bad fd");
    CHECK_ERR(statx(AT_FDCWD, f, 0x80000000, STATX_ALL, &sx), EINVAL, "statx with unknown flags");
    /* access */
    CHECK(access(f, F_OK) == 0 && access(f, R_OK | W_OK) == 0, "access F_OK, R_OK|W_OK");
    CHECK_ERR(access(f, X_OK), EACCES, "access X_OK on a 0644 file (even as root)");
    CHECK(faccessat(AT_FDCWD, "/bin/sh", X_OK, 0) == 0, "faccessat X_OK on /bin/sh");
    CHECK(syscall(SYS_faccessat2, dfd, "file", R_OK, AT_EACCESS) == 0, "faccessat2 AT_EACCESS");
    CHECK_ERR(access(tpath("missing"), F_OK), ENOENT, "access of a missing file");
    CHECK_ERR(access(f, 0x40), EINVAL, "access with a bad mode");
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_dir(const char *what, int bufsize) {
    int fd = MUST(open(tmpdir(), O_RDONLY | O_DIRECTORY));
    char *buf = malloc(bufsize);
    char *names[64];
    int n = 0, calls = 0;
    for (;;) {
        long r = syscall(SYS_getdents64, fd, buf, bufsize);
        if (r < 0) {
            say("%s: getdents64 failed %s", what, ename(errno));
            break;
        }
        if (r == 0) break;
        calls++;
        for (long off = 0; off < r;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            char *e = malloc(300);
            snprintf(e, 300, "%s:%s", d->d_name,
                     d->d_type == DT_REG ? "reg" : d->d_type == DT_DIR ? "dir" : d->d_type == DT_LNK ? "lnk" : d->d_type == DT_FIFO ? "fifo" : "other");
            if (n < 64) names[n++] = e;
            off += d->d_reclen;
        }
    }
    qsort(names, n, sizeof names[0], cmpstr);
    char line[2048] = {0};
    for (int i = 0; i < n; i++) sprintf(line + strlen(line), "%s ", names[i]);
    say("%s: %s", what, line);
    if (bufsize < 100) CHECK(calls > 1, "small buffer needed several calls");
    close(fd);
}

static void getdents(void) {
    for (int i = 0; i < 12; i++) {
        char n[32];
        snprintf(n, sizeof n, "file-%02d-%s", i, i % 2 ? "odd" : "even");
        put_file(tpath(n), "x", 1, 0644);
    }
    MUST(mkdir(tpath("subdir"), 0755));
    MUST(symlink("file-00-even", tpath("symlink")));
    MUST(mkfifo(tpath("fifo"), 0644));
    list_dir("listing", 4096);
    list_dir("listing with a 64-byte buffer", 64);
    int fd = MUST(open(tmpdir(), O_RDONLY | O_DIRECTORY));
    char tiny[8];
    CHECK_ERR(syscall(SYS_getdents64, fd, tiny, sizeof tiny), EINVAL, "buffer too small for one entry");
    CHECK_ERR(syscall(SYS_getdents64, fd, (void *)8, 4096), EFAULT, "bad buffer");
    int f = MUST(open(tpath("file-00-even"), O_RDONLY));
    CHECK_ERR(syscall(SYS_getdents64, f, tiny, sizeof tiny), ENOTDIR, "getdents64 on a file");
    CHECK_ERR(syscall(SYS_getdents64, 999, tiny, sizeof tiny), EBADF, "bad fd");
    /* Entries removed while listing: rewind with lseek and list again. */
    unlink(tpath("file-03-odd"));
    lseek(fd, 0, SEEK_SET);
    list_dir("after unlink", 4096);
    /* readdir on /, names only sorted, should include the usual. */
    DIR *d = opendir("/");
    int saw_usr = 0, saw_etc = 0, saw_tmp = 0, saw_proc = 0, saw_dev = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        saw_usr |= !strcmp(de->d_name, "usr");
        saw_etc |= !strcmp(de->d_name, "etc");
        saw_tmp |= !strcmp(de->d_name, "tmp");
        saw_proc |= !strcmp(de->d_name, "proc");
        saw_dev |= !strcmp(de->d_name, "dev");
    }
    closedir(d);
    CHECK(saw_usr && saw_etc && saw_tmp && saw_proc && saw_dev, "/ lists usr, etc, tmp, proc, dev");
    CHECK_ERR(read(fd, tiny, 1), EISDIR, "read on a directory");
}

static void dup_fcntl(void) {
    int fd = MUST(open(tpath("d"), O_CREAT | O_RDWR, 0644));
    int lowest = 3;
    while (fcntl(lowest, F_GETFD) != -1) lowest++;
    int d = dup(fd);
    CHECK(d == lowest || d < fd, "dup returns the lowest free fd");
    write(fd, "abc", 3);
    CHECK(lseek(d, 0, SEEK_CUR) == 3, "dup shares the offset");
    CHECK(dup2(fd, 50) == 50, "dup2 to 50");
    CHECK(dup2(50, 50) == 50, "dup2 to itself returns it");
    CHECK_ERR(dup2(999, 51), EBADF, "dup2 of a bad fd");
    CHECK_ERR(dup3(50, 50, 0), EINVAL, "dup3 to itself");
    CHECK_ERR(dup3(50, 52, O_RDONLY | 0x40000), EINVAL, "dup3 with bad flags");
    CHECK(dup3(fd, 52, O_CLOEXEC) == 52 && fcntl(52, F_GETFD) == FD_CLOEXEC, "dup3 O_CLOEXEC");
    CHECK(fcntl(50, F_GETFD) == 0, "dup2 clears FD_CLOEXEC");
    int f100 = fcntl(fd, F_DUPFD, 100);
    CHECK(f100 == 100, "F_DUPFD at 100");
    CHECK(fcntl(fd, F_DUPFD, 100) == 101, "next F_DUPFD at 101");
    CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 100) == 102 && fcntl(102, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC");
    CHECK(fcntl(100, F_SETFD, FD_CLOEXEC) == 0 && fcntl(100, F_GETFD) == FD_CLOEXEC, "F_SETFD");
    int fl = fcntl(fd, F_GETFL);
    say("F_GETFL access mode %s", (fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other");
    CHECK(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK) == 0, "F_SETFL O_APPEND|O_NONBLOCK");
    fl = fcntl(d, F_GETFL);
    CHECK((fl & O_APPEND) && (fl & O_NONBLOCK), "status flags shared through dup");
    CHECK(fcntl(fd, F_SETFL, O_RDONLY) == 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR,
          "F_SETFL cannot change the access mode");
    CHECK_ERR(fcntl(fd, 9999), EINVAL, "unknown command");
    CHECK_ERR(fcntl(999, F_GETFD), EBADF, "bad fd");
    CHECK_ERR(fcntl(fd, F_DUPFD, -1), EINVAL, "F_DUPFD negative");
    CHECK(close(d) == 0, "close");
    CHECK_ERR(close(d), EBADF, "double close");
    CHECK_ERR(close(-1), EBADF, "close(-1)");
    /* close_range */
    for (int i = 200; i < 206; i++) dup2(fd, i);
    CHECK(syscall(SYS_close_range, 201, 203, 0) == 0, "close_range 201..203");
    char open_[16] = {0};
    for (int i = 200; i < 206; i++) open_[i - 200] = fcntl(i, F_GETFD) == -1 ? 'c' : 'o';
    say("fds 200..205: %s", open_);
    CHECK(syscall(SYS_close_range, 204, 205, 4 /* CLOSE_RANGE_CLOEXEC */) == 0 && fcntl(204, F_GETFD) == FD_CLOEXEC,
          "close_range CLOSE_RANGE_CLOEXEC");
    CHECK_ERR(syscall(SYS_close_range, 10, 5, 0), EINVAL, "close_range with first > last");
    CHECK(syscall(SYS_close_range, 200, ~0U, 0) == 0 && fcntl(200, F_GETFD) == -1, "close_range to ~0");
}

static void pipes(void) {
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "flags applied to both ends");
    char b[128];
    CHECK_ERR(read(p[0], b, 1), EAGAIN, "empty non-blocking read");
    CHECK(write(p[1], "ping", 4) == 4, "write");
    int n = -1;
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 4, "FIONREAD 4");
    CHECK(read(p[0], b, sizeof b) == 4 && !memcmp(b, "ping", 4), "read");
    long total = 0;
    char chunk[4096] = {0};
    for (;;) {
        ssize_t w = write(p[1], chunk, sizeof chunk);
        if (w < 0) break;
        total += w;
    }
    CHECK(errno == EAGAIN, "full pipe: EAGAIN");
    say("default pipe capacity %ld", total);
    say("F_GETPIPE_SZ %d", fcntl(p[1], F_GETPIPE_SZ));
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= (1 << 20), "F_SETPIPE_SZ 1 MiB");
    close(p[0]);
    close(p[1]);
    CHECK(pipe(p) == 0, "pipe");
    close(p[1]);
    CHECK(read(p[0], b, 1) == 0, "read with no writers: EOF");
    close(p[0]);
    MUST(pipe(p));
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "write with no readers: EPIPE");
    close(p[1]);
    CHECK_ERR(pipe2(p, 0x1234), EINVAL, "bad pipe2 flags");
    CHECK_ERR(syscall(SYS_pipe, 8), EFAULT, "bad pipe pointer");
    MUST(pipe(p));
    CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
    /* A pipe between processes, with a large transfer. */
    int q[2];
    MUST(pipe(q));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        close(q[0]);
        static char big[1 << 20];
        for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 31);
        size_t off = 0;
        while (off < sizeof big) off += write(q[1], big + off, sizeof big - off);
        _exit(0);
    }
    close(q[1]);
    unsigned long sum = 0, got = 0;
    ssize_t r;
    while ((r = read(q[0], b, sizeof b)) > 0) {
        for (ssize_t i = 0; i < r; i++) sum = sum * 31 + (unsigned char)b[i];
        got += r;
    }
    say("child wrote 1 MiB through a pipe: got %lu bytes, hash %lu, %s", got, sum, wait_child(c));
    /* poll on a pipe */
    MUST(pipe(q));
    struct pollfd pf[2] = {{q[0], POLLIN, 0}, {q[1], POLLOUT, 0}};
    CHECK(poll(pf, 2, 0) == 1 && pf[1].revents == POLLOUT && pf[0].revents == 0, "poll: writable, not readable");
    write(q[1], "x", 1);
    CHECK(poll(pf, 2, 0) == 2 && pf[0].revents == POLLIN, "poll: readable after a write");
    close(q[1]);
    read(q[0], b, 1);
    CHECK(poll(pf, 1, 0) == 1 && (pf[0].revents & POLLHUP), "poll: POLLHUP after the writer closed");
}

static void namespace_ops(void) {
    CHECK(mkdir(tpath("a"), 0755) == 0, "mkdir");
    CHECK_ERR(mkdir(tpath("a"), 0755), EEXIST, "mkdir existing");
    CHECK_ERR(mkdir(tpath("nope/b"), 0755), ENOENT, "mkdir under a missing parent");
    put_file(tpath("a/f"), "data", 4, 0644);
    CHECK_ERR(rmdir(tpath("a")), ENOTEMPTY, "rmdir non-empty");
    CHECK_ERR(rmdir(tpath("a/f")), ENOTDIR, "rmdir a file");
    CHECK_ERR(unlink(tpath("a")), EISDIR, "unlink a directory");
    CHECK_ERR(open(tpath("a"), O_WRONLY), EISDIR, "open a directory for writing");
    CHECK_ERR(open(tpath("a/f"), O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");
    CHECK_ERR(open(tpath("a/f/g"), O_RDONLY), ENOTDIR, "path through a file");
    CHECK_ERR(open(tpath("missing"), O_RDONLY), ENOENT, "missing");
    CHECK(rename(tpath("a/f"), tpath("a/g")) == 0, "rename");
    CHECK_ERR(access(tpath("a/f"), F_OK), ENOENT, "old name gone");
    put_file(tpath("a/h"), "other", 5, 0644);
    CHECK(rename(tpath("a/g"), tpath("a/h")) == 0, "rename over an existing file");
    char b[16] = {0};
    int fd = MUST(open(tpath("a/h"), O_RDONLY));
    read(fd, b, sizeof b);
    close(fd);
    CHECK(!strcmp(b, "data"), "target replaced");
    CHECK(mkdir(tpath("a/sub"), 0755) == 0, "mkdir sub");
    CHECK_ERR(rename(tpath("a"), tpath("a/sub/x")), EINVAL, "rename a dir into itself");
    CHECK_ERR(rename(tpath("a/h"), tpath("a/sub")), EISDIR, "rename a file over a dir");
    CHECK_ERR(rename(tpath("a/sub"), tpath("a/h")), ENOTDIR, "rename a dir over a file");
    put_file(tpath("a/sub/inner"), "", 0, 0644);
    MUST(mkdir(tpath("e"), 0755));
    CHECK(rename(tpath("e"), tpath("a/sub2")) == 0, "rename a dir over nothing");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, tpath("a/h"), AT_FDCWD, tpath("a/sub2"), RENAME_NOREPLACE), EEXIST,
              "RENAME_NOREPLACE");
    put_file(tpath("x1"), "one", 3, 0644);
    put_file(tpath("x2"), "two", 3, 0644);
    CHECK(syscall(SYS_renameat2, AT_FDCWD, tpath("x1"), AT_FDCWD, tpath("x2"), RENAME_EXCHANGE) == 0, "RENAME_EXCHANGE");
    fd = MUST(open(tpath("x1"), O_RDONLY));
    memset(b, 0, sizeof b);
    read(fd, b, sizeof b);
    close(fd);
    CHECK(!strcmp(b, "two"), "exchanged");
    /* link */
    CHECK(link(tpath("x1"), tpath("x1-link")) == 0, "link");
    struct stat st;
    stat(tpath("x1"), &st);
    CHECK(st.st_nlink == 2, "nlink 2");
    CHECK_ERR(link(tpath("x1"), tpath("x2")), EEXIST, "link onto an existing name");
    CHECK_ERR(link(tpath("a"), tpath("a-link")), EPERM, "hard link to a directory");
    unlink(tpath("x1"));
    stat(tpath("x1-link"), &st);
    CHECK(st.st_nlink == 1, "nlink back to 1 after unlink");
    /* symlinks */
    CHECK(symlink("x1-link", tpath("sym")) == 0, "symlink");
    char t[64] = {0};
    CHECK(readlink(tpath("sym"), t, sizeof t) == 7 && !strcmp(t, "x1-link"), "readlink");
    CHECK(readlink(tpath("sym"), t, 3) == 3, "readlink truncates");
    CHECK_ERR(readlink(tpath("x2"), t, sizeof t), EINVAL, "readlink of a regular file");
    CHECK_ERR(readlink(tpath("sym"), t, 0), EINVAL, "readlink with size 0");
    int dfd = MUST(open(tmpdir(), O_RDONLY | O_DIRECTORY));
    CHECK(readlinkat(dfd, "sym", t, sizeof t) == 7, "readlinkat");
    CHECK(symlinkat("/nonexistent/target", dfd, "dangling") == 0, "dangling symlink");
    CHECK_ERR(open(tpath("dangling"), O_RDONLY), ENOENT, "open through a dangling link");
    MUST(symlink("loop2", tpath("loop1")));
    MUST(symlink("loop1", tpath("loop2")));
    CHECK_ERR(open(tpath("loop1"), O_RDONLY), ELOOP, "symlink loop");
    CHECK_ERR(open(tpath("sym"), O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink");
    CHECK(open(tpath("sym"), O_PATH | O_NOFOLLOW) >= 0, "O_PATH|O_NOFOLLOW opens the link itself");
    MUST(symlink(tmpdir(), tpath("dirlink")));
    CHECK(access(tpath("dirlink/x2"), F_OK) == 0, "walk through a directory symlink");
    CHECK(access(tpath("a/sub/../h"), F_OK) == 0, "walk with ..");
    CHECK(unlinkat(dfd, "sym", 0) == 0, "unlinkat");
    CHECK(unlinkat(dfd, "a/sub2", AT_REMOVEDIR) == 0, "unlinkat AT_REMOVEDIR");
    CHECK_ERR(unlinkat(dfd, "a/sub", 0), EISDIR, "unlinkat a dir without AT_REMOVEDIR");
    CHECK(mkdirat(dfd, "m", 0700) == 0, "mkdirat");
    CHECK(linkat(dfd, "x2", dfd, "m/x2", 0) == 0, "linkat");
    CHECK(renameat(dfd, "m/x2", dfd, "m/y2") == 0, "renameat");
    char name[300];
    memset(name, 'n', 299);
    name[299] = 0;
    CHECK_ERR(open(name, O_RDONLY), ENAMETOOLONG, "a 299-byte name");
    CHECK_ERR(mkdir("", 0755), ENOENT, "mkdir \"\"");
    CHECK_ERR(rmdir(tpath("a/.")), EINVAL, "rmdir of .");
}

static void perms_times(void) {
    mode_t old = umask(027);
    CHECK(umask(027) == 027, "umask returns the previous mask");
    int fd = MUST(open(tpath("u"), O_CREAT | O_RDWR, 0666));
    struct stat st;
    fstat(fd, &st);
    say("file created 0666 under umask 027: %o", st.st_mode & 0777);
    MUST(mkdir(tpath("ud"), 0777));
    stat(tpath("ud"), &st);
    say("dir created 0777 under umask 027: %o", st.st_mode & 0777);
    umask(old);
    CHECK(chmod(tpath("u"), 04751) == 0, "chmod");
    stat(tpath("u"), &st);
    say("after chmod 4751: %o", st.st_mode & 07777);
    CHECK(fchmod(fd, 0600) == 0, "fchmod");
    fstat(fd, &st);
    say("after fchmod 600: %o", st.st_mode & 07777);
    CHECK(fchmodat(AT_FDCWD, tpath("u"), 0644, 0) == 0, "fchmodat");
    CHECK_ERR(chmod(tpath("missing"), 0644), ENOENT, "chmod a missing file");
    if (getuid() == 0) {
        CHECK(chown(tpath("u"), 1000, 1001) == 0, "chown as root");
        stat(tpath("u"), &st);
        say("owner %d:%d", st.st_uid, st.st_gid);
        CHECK(fchown(fd, -1, 1002) == 0, "fchown group only");
        MUST(symlink("u", tpath("ul")));
        CHECK(lchown(tpath("ul"), 1003, 1003) == 0, "lchown");
        struct stat ls;
        lstat(tpath("ul"), &ls);
        stat(tpath("u"), &st);
        say("link owner %d:%d target owner %d:%d", ls.st_uid, ls.st_gid, st.st_uid, st.st_gid);
        CHECK(fchownat(AT_FDCWD, tpath("u"), 0, 0, 0) == 0, "fchownat");
    }
    /* truncate */
    CHECK(ftruncate(fd, 5000) == 0, "ftruncate grow");
    char b[5000];
    CHECK(pread(fd, b, 5000, 0) == 5000 && b[4999] == 0, "grown part reads zero");
    CHECK(truncate(tpath("u"), 3) == 0, "truncate shrink");
    fstat(fd, &st);
    CHECK(st.st_size == 3, "size 3");
    CHECK_ERR(ftruncate(fd, -1), EINVAL, "negative length");
    int ro = MUST(open(tpath("u"), O_RDONLY));
    CHECK_ERR(ftruncate(ro, 0), EINVAL, "ftruncate on a read-only fd");
    CHECK_ERR(truncate(tmpdir(), 0), EISDIR, "truncate a directory");
    /* utimensat */
    struct timespec ts[2] = {{1000000000, 5}, {1234567890, 123456789}};
    CHECK(utimensat(AT_FDCWD, tpath("u"), ts, 0) == 0, "utimensat");
    stat(tpath("u"), &st);
    say("atime %ld.%09ld mtime %ld.%09ld", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec,
        st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
    CHECK(utimensat(AT_FDCWD, tpath("u"), omit, 0) == 0, "utimensat UTIME_OMIT");
    stat(tpath("u"), &st);
    say("atime %ld mtime %ld", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec before;
    clock_gettime(CLOCK_REALTIME, &before);
    CHECK(utimensat(AT_FDCWD, tpath("u"), NULL, 0) == 0, "utimensat NULL: now");
    stat(tpath("u"), &st);
    CHECK(st.st_mtim.tv_sec >= before.tv_sec - 1 && st.st_mtim.tv_sec <= before.tv_sec + 5, "mtime is now");
    CHECK(futimens(fd, ts) == 0, "futimens");
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, tpath("u"), bad, 0), EINVAL, "bad nanoseconds");
    /* Writing updates mtime and ctime. */
    MUST(utimensat(AT_FDCWD, tpath("u"), ts, 0));
    int w = MUST(open(tpath("u"), O_WRONLY));
    write(w, "x", 1);
    fstat(w, &st);
    CHECK(st.st_mtim.tv_sec >= before.tv_sec - 1, "write updated mtime");
    CHECK(fsync(w) == 0 && fdatasync(w) == 0, "fsync and fdatasync");
    int p[2];
    MUST(pipe(p));
    CHECK_ERR(fsync(p[0]), EINVAL, "fsync on a pipe");
    CHECK(syncfs(w) == 0, "syncfs");
}

static void cloexec(void) {
    int a = MUST(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int b = MUST(open("/dev/null", O_RDONLY));
    /* dash only redirects single-digit fds */
    MUST(dup2(a, 5));
    MUST(fcntl(5, F_SETFD, FD_CLOEXEC));
    MUST(dup2(b, 6));
    int p[2];
    MUST(pipe2(p, O_CLOEXEC));
    MUST(dup2(p[1], 7)); /* no CLOEXEC on the dup */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        execl("/bin/sh", "sh", "-c",
              "for fd in 5 6 7; do if (: <&$fd) 2>/dev/null || (: >&$fd) 2>/dev/null; then echo \"fd $fd open\"; "
              "else echo \"fd $fd closed\"; fi; done",
              (char *)NULL);
        _exit(127);
    }
    say("sh %s", wait_child(c));
    CHECK(fcntl(a, F_GETFD) == FD_CLOEXEC && fcntl(b, F_GETFD) == 0, "flags in the parent unchanged");
    /* FIOCLEX / FIONCLEX */
    CHECK(ioctl(b, FIOCLEX) == 0 && fcntl(b, F_GETFD) == FD_CLOEXEC, "FIOCLEX");
    CHECK(ioctl(b, FIONCLEX) == 0 && fcntl(b, F_GETFD) == 0, "FIONCLEX");
}

static void devices(void) {
    char b[256];
    int n = MUST(open("/dev/null", O_RDWR));
    CHECK(read(n, b, sizeof b) == 0, "/dev/null reads EOF");
    CHECK(write(n, b, sizeof b) == sizeof b, "/dev/null swallows writes");
    CHECK(lseek(n, 100, SEEK_SET) >= 0, "/dev/null seeks");
    int z = MUST(open("/dev/zero", O_RDWR));
    memset(b, 1, sizeof b);
    CHECK(read(z, b, sizeof b) == sizeof b, "/dev/zero read");
    int allz = 1;
    for (unsigned i = 0; i < sizeof b; i++) allz &= b[i] == 0;
    CHECK(allz, "/dev/zero gives zeros");
    CHECK(write(z, b, 10) == 10, "/dev/zero accepts writes");
    int f = MUST(open("/dev/full", O_RDWR));
    CHECK_ERR(write(f, "x", 1), ENOSPC, "/dev/full write: ENOSPC");
    memset(b, 1, sizeof b);
    CHECK(read(f, b, 16) == 16 && b[0] == 0 && b[15] == 0, "/dev/full reads zeros");
    int u = MUST(open("/dev/urandom", O_RDONLY));
    unsigned char r1[64] = {0}, r2[64] = {0};
    CHECK(read(u, r1, 64) == 64 && read(u, r2, 64) == 64, "/dev/urandom reads");
    CHECK(memcmp(r1, r2, 64) != 0, "two reads differ");
    int rnd = MUST(open("/dev/random", O_RDONLY));
    CHECK(read(rnd, r1, 32) == 32, "/dev/random reads");
    int uw = MUST(open("/dev/urandom", O_WRONLY));
    CHECK(write(uw, "seed", 4) == 4, "/dev/urandom accepts writes");
    /* Big read from /dev/zero into a fresh mapping. */
    size_t len = 8 << 20;
    char *m = MUSTP(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    memset(m, 7, len);
    CHECK(read(z, m, len) == (ssize_t)len && m[len - 1] == 0, "8 MiB read from /dev/zero");
    /* ioctls */
    struct termios tio;
    CHECK_ERR(ioctl(n, TCGETS, &tio), ENOTTY, "TCGETS on /dev/null");
    struct winsize ws;
    CHECK_ERR(ioctl(n, TIOCGWINSZ, &ws), ENOTTY, "TIOCGWINSZ on /dev/null");
    int reg = MUST(open(tpath("r"), O_CREAT | O_RDWR, 0644));
    write(reg, "12345", 5);
    lseek(reg, 1, SEEK_SET);
    int avail = -1;
    CHECK(ioctl(reg, FIONREAD, &avail) == 0 && avail == 4, "FIONREAD on a regular file: bytes after the offset");
    CHECK_ERR(ioctl(reg, TCGETS, &tio), ENOTTY, "TCGETS on a regular file");
    CHECK_ERR(ioctl(reg, 0x12345678, 0), ENOTTY, "unknown ioctl on a regular file");
    int nb = 1;
    CHECK(ioctl(reg, FIONBIO, &nb) == 0 && (fcntl(reg, F_GETFL) & O_NONBLOCK), "FIONBIO sets O_NONBLOCK");
    CHECK_ERR(ioctl(999, FIONREAD, &avail), EBADF, "ioctl on a bad fd");
    CHECK(isatty(n) == 0, "/dev/null is not a tty");
}

static void efault_ebadf(void) {
    int fd = MUST(open(tpath("e"), O_CREAT | O_RDWR, 0644));
    write(fd, "0123456789", 10);
    lseek(fd, 0, SEEK_SET);
    void *volatile bad8 = (void *)8;
    CHECK_ERR(read(fd, bad8, 10), EFAULT, "read into an unmapped address");
    CHECK_ERR(write(fd, bad8, 10), EFAULT, "write from an unmapped address");
    char *ro = MUSTP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_ERR(read(fd, ro, 10), EFAULT, "read into a read-only page");
    CHECK(lseek(fd, 0, SEEK_CUR) == 0, "failed read did not move the offset");
    char *none = MUSTP(mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_ERR(write(fd, none, 1), EFAULT, "write from a PROT_NONE page");
    CHECK_ERR(open((char *)8, O_RDONLY), EFAULT, "open with a bad path");
    CHECK_ERR(open((char *)-1, O_RDONLY), EFAULT, "open with path -1");
    struct iovec bad[1] = {{(void *)8, 10}};
    CHECK_ERR(readv(fd, bad, 1), EFAULT, "readv with a bad buffer");
    CHECK_ERR(readv(fd, bad8, 1), EFAULT, "readv with a bad iovec array");
    CHECK_ERR(syscall(SYS_readv, fd, bad, -1), EINVAL, "readv with a negative count");
    CHECK_ERR(syscall(SYS_readv, fd, bad, 2000), EINVAL, "readv with more than IOV_MAX");
    /* A buffer that ends in an unmapped page: partial read. */
    char *two = MUSTP(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    munmap(two + 4096, 4096);
    lseek(fd, 0, SEEK_SET);
    ssize_t r = read(fd, two + 4096 - 4, 10);
    say("read of 10 bytes into a buffer with 4 mapped bytes: %zd", r);
    int p[2];
    MUST(pipe(p));
    write(p[1], "abcdef", 6);
    r = read(p[0], two + 4096 - 2, 6);
    say("pipe read of 6 into 2 mapped bytes: %zd", r);
    CHECK_ERR(read(-1, two, 1), EBADF, "read(-1)");
    CHECK_ERR(write(9999, two, 1), EBADF, "write(9999)");
    CHECK_ERR(lseek(9999, 0, SEEK_SET), EBADF, "lseek(9999)");
    CHECK_ERR(dup(9999), EBADF, "dup(9999)");
    int o = MUST(open(tpath("e"), O_PATH));
    CHECK_ERR(read(o, two, 1), EBADF, "read on an O_PATH fd");
    CHECK_ERR(syscall(SYS_getcwd, 8, 100), EFAULT, "getcwd with a bad buffer");
    CHECK_ERR(syscall(SYS_write, fd, two, -1L), EFAULT, "write with a huge length");
    CHECK_ERR(open(tpath("e"), O_RDONLY | O_CREAT | O_DIRECTORY, 0644), EINVAL, "O_CREAT|O_DIRECTORY");
}

static void cwd(void) {
    char buf[PATH_MAX], real[PATH_MAX];
    CHECK(getcwd(buf, sizeof buf) != NULL, "getcwd");
    CHECK(chdir(tmpdir()) == 0, "chdir");
    realpath(tmpdir(), real);
    CHECK(getcwd(buf, sizeof buf) && !strcmp(buf, real), "getcwd after chdir");
    MUST(mkdir("sub", 0755));
    put_file("rel", "r", 1, 0644);
    CHECK(access("rel", F_OK) == 0, "relative path resolved against the new cwd");
    int d = MUST(open("sub", O_RDONLY | O_DIRECTORY));
    CHECK(fchdir(d) == 0, "fchdir");
    CHECK(access("../rel", F_OK) == 0, "../ from sub");
    CHECK_ERR(syscall(SYS_getcwd, buf, 3), ERANGE, "getcwd with a small buffer");
    CHECK_ERR(chdir(tpath("rel")), ENOTDIR, "chdir to a file");
    CHECK_ERR(chdir(tpath("nope")), ENOENT, "chdir to a missing dir");
    int f = MUST(open(tpath("rel"), O_RDONLY));
    CHECK_ERR(fchdir(f), ENOTDIR, "fchdir to a file");
    CHECK(chdir("/") == 0 && getcwd(buf, sizeof buf) && !strcmp(buf, "/"), "chdir /");
    CHECK(chdir("..") == 0 && getcwd(buf, sizeof buf) && !strcmp(buf, "/"), "/.. is /");
    /* cwd is per process after fork */
    MUST(chdir(tmpdir()));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        chdir("/");
        _exit(0);
    }
    wait_child(c);
    CHECK(getcwd(buf, sizeof buf) && !strcmp(buf, real), "child's chdir does not affect us");
    /* Removing the cwd. */
    MUST(mkdir(tpath("gone"), 0755));
    MUST(chdir(tpath("gone")));
    MUST(rmdir(tpath("gone")));
    char *g = getcwd(buf, sizeof buf);
    CHECK(g == NULL && errno == ENOENT, "getcwd in a removed directory: ENOENT");
    CHECK_ERR(open("newfile", O_CREAT | O_WRONLY, 0644), ENOENT, "create in a removed directory");
    chdir("/");
}

static void openat2_case(void) {
    int d = MUST(open(tmpdir(), O_RDONLY | O_DIRECTORY));
    MUST(mkdir(tpath("in"), 0755));
    put_file(tpath("in/f"), "f", 1, 0644);
    MUST(symlink("/etc/passwd", tpath("in/abs")));
    MUST(symlink("../..", tpath("in/up")));
    struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
    long r = syscall(SYS_openat2, d, "in/f", &how, sizeof how);
    CHECK(r >= 0, "openat2 RESOLVE_BENEATH inside");
    CHECK_ERR(syscall(SYS_openat2, d, "../x", &how, sizeof how), EXDEV, "RESOLVE_BENEATH with ..");
    CHECK_ERR(syscall(SYS_openat2, d, "in/abs", &how, sizeof how), EXDEV, "RESOLVE_BENEATH through an absolute link");
    CHECK_ERR(syscall(SYS_openat2, d, "/etc/passwd", &how, sizeof how), EXDEV, "RESOLVE_BENEATH with an absolute path");
    how.resolve = RESOLVE_NO_SYMLINKS;
    CHECK_ERR(syscall(SYS_openat2, d, "in/abs", &how, sizeof how), ELOOP, "RESOLVE_NO_SYMLINKS");
    how.resolve = RESOLVE_IN_ROOT;
    r = syscall(SYS_openat2, d, "in/up/in/f", &how, sizeof how);
    CHECK(r >= 0, "RESOLVE_IN_ROOT clamps .. at the root");
    how.resolve = 0;
    how.flags = O_RDONLY;
    CHECK_ERR(syscall(SYS_openat2, d, "in/f", &how, 8), EINVAL, "too-small size");
    how.resolve = 0x100000;
    CHECK_ERR(syscall(SYS_openat2, d, "in/f", &how, sizeof how), EINVAL, "unknown resolve flag");
    how.resolve = 0;
    how.mode = 0644;
    CHECK_ERR(syscall(SYS_openat2, d, "in/f", &how, sizeof how), EINVAL, "mode without O_CREAT");
    how.mode = 0;
    how.flags = 1ULL << 40;
    CHECK_ERR(syscall(SYS_openat2, d, "in/f", &how, sizeof how), EINVAL, "unknown open flag bits");
}

static void procfs(void) {
    char buf[4096], exe[PATH_MAX], want[PATH_MAX];
    int fd = MUST(open("/proc/self/cmdline", O_RDONLY));
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    int ok = n > 0;
    char *p = buf;
    for (int i = 0; ok && i < t_argc; i++) {
        ok = !strcmp(p, t_argv[i]);
        p += strlen(p) + 1;
    }
    CHECK(ok && p == buf + n, "/proc/self/cmdline is argv, NUL-separated");
    extern char **environ;
    const char *first = environ[0] ? strdup(environ[0]) : "";
    setenv("MOAT_PROC_ENV_TEST", "1", 1); /* not visible: environ file is the initial env */
    fd = MUST(open("/proc/self/environ", O_RDONLY));
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    CHECK(n > 0, "/proc/self/environ readable");
    CHECK(memmem(buf, n, first, strlen(first)) != NULL && !memmem(buf, n, "MOAT_PROC_ENV_TEST", 18),
          "environ holds the initial environment");
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    realpath(t_prog, want);
    CHECK(el > 0 && !strcmp(exe, want), "/proc/self/exe");
    MUST(chdir(tmpdir()));
    realpath(tmpdir(), want);
    el = readlink("/proc/self/cwd", exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    CHECK(!strcmp(exe, want), "/proc/self/cwd");
    el = readlink("/proc/self/root", exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    CHECK(!strcmp(exe, "/"), "/proc/self/root is /");
    int f = MUST(open("file-in-fd-dir", O_CREAT | O_RDWR, 0644));
    MUST(dup2(f, 40));
    char lp[64];
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", 40);
    el = readlink(lp, exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    strcat(want, "/file-in-fd-dir");
    CHECK(!strcmp(exe, want), "/proc/self/fd/40 links to the file");
    int via = open(lp, O_RDONLY);
    CHECK(via >= 0, "open through /proc/self/fd/N");
    DIR *dd = opendir("/proc/self/fd");
    int saw0 = 0, saw40 = 0;
    struct dirent *de;
    while (dd && (de = readdir(dd))) {
        saw0 |= !strcmp(de->d_name, "0");
        saw40 |= !strcmp(de->d_name, "40");
    }
    if (dd) closedir(dd);
    CHECK(saw0 && saw40, "/proc/self/fd lists 0 and 40");
    fd = MUST(open("/proc/self/stat", O_RDONLY));
    n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    int spid = 0;
    char comm[64] = {0}, state = 0;
    sscanf(buf, "%d (%63[^)]) %c", &spid, comm, &state);
    CHECK(spid == getpid() && state == 'R', "/proc/self/stat: pid and state R");
    say("stat comm %s", comm);
    fd = MUST(open("/proc/self/status", O_RDONLY));
    n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    char *pl = strstr(buf, "\nPid:");
    CHECK(!strncmp(buf, "Name:\t", 6) && pl && atoi(pl + 5) == getpid(), "/proc/self/status Name and Pid");
    char *tl = strstr(buf, "\nTgid:");
    CHECK(tl && atoi(tl + 6) == getpid(), "/proc/self/status Tgid");
    fd = MUST(open("/proc/self/comm", O_RDONLY));
    n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    say("comm %s", strtok(buf, "\n"));
    /* Another process's entry. */
    int pp[2], ex[2];
    MUST(pipe(pp));
    MUST(pipe2(ex, O_CLOEXEC));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        close(pp[1]);
        close(ex[0]);
        dup2(pp[0], 0);
        execl("/bin/sh", "sh", "-c", "read x", (char *)NULL);
        _exit(1);
    }
    close(pp[0]);
    close(ex[1]);
    char exb;
    CHECK(read(ex[0], &exb, 1) == 0, "exec closed the CLOEXEC pipe");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", c);
    fd = open(path, O_RDONLY);
    n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    if (fd >= 0) close(fd);
    CHECK(n == 13 && !memcmp(buf, "sh\0-c\0read x\0", 13), "/proc/PID/cmdline of a child");
    snprintf(path, sizeof path, "/proc/%d/stat", c);
    fd = open(path, O_RDONLY);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    buf[n > 0 ? n : 0] = 0;
    int ppid = 0;
    sscanf(buf, "%*d (%*[^)]) %*c %d", &ppid);
    CHECK(ppid == getpid(), "/proc/PID/stat ppid is us");
    close(pp[1]);
    wait_child(c);
    snprintf(path, sizeof path, "/proc/%d", c);
    struct stat st;
    CHECK_ERR(stat(path, &st), ENOENT, "/proc/PID gone after reaping");
    CHECK(stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode), "/proc/self is a directory");
    char self[32];
    el = readlink("/proc/self", self, sizeof self - 1);
    self[el > 0 ? el : 0] = 0;
    CHECK(atoi(self) == getpid(), "/proc/self links to our pid");
}

int main(int argc, char **argv) {
    static const struct tcase cases[] = {
        CASE(rw),      CASE(stat_family), CASE(getdents),     CASE(dup_fcntl), CASE(pipes),
        CASE(namespace_ops), CASE(perms_times), CASE(cloexec), CASE(devices), CASE(efault_ebadf),
        CASE(cwd),     CASE(openat2_case), CASE(procfs),      {0, 0}};
    return run_cases(cases, argc, argv);
}
