/* File-system semantics on a prepared tree in the current directory (the fixture the
 * Rust test makes: see crates/moat/tests/overlay.rs). Natively the tree is a plain
 * directory; under moat it is the lower layer of the overlay (or a writable volume), so
 * every change copies up, leaves whiteouts, or goes to the host through hostfs.
 *
 * Fixture: file1 "hello\n" (0644), file2 "world\n", big (256 KiB pattern), sparse
 * (1 MiB, data at 0 and 512 KiB), hl1 = hl2 (hard links, "linked\n"), dir1/{a, b,
 * sub/c}, dir2/ (empty), ro.txt (0444), link -> file1.
 *
 * The escape cases take paths as arguments and never run natively on the host's files.
 */
#include "t.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

static int cmpstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char tchar(unsigned char dt) {
    switch (dt) {
    case DT_REG: return 'f';
    case DT_DIR: return 'd';
    case DT_LNK: return 'l';
    case DT_FIFO: return 'p';
    case DT_SOCK: return 's';
    case DT_CHR: return 'c';
    default: return '?';
    }
}

/* Prints the sorted entries of D with their types, and checks that every d_ino is what
 * lstat reports. */
static void list(const char *d) {
    DIR *dp = opendir(d);
    if (!dp) {
        say("ls %s: %s", d, ename(errno));
        return;
    }
    char *names[256];
    int n = 0, bad_ino = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && n < 256) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[512], *s = malloc(300);
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && st.st_ino != e->d_ino) bad_ino++;
        snprintf(s, 300, "%s(%c)", e->d_name, tchar(e->d_type));
        names[n++] = s;
    }
    closedir(dp);
    qsort(names, n, sizeof names[0], cmpstr);
    char line[4096] = "";
    for (int i = 0; i < n; i++) {
        strcat(line, " ");
        strcat(line, names[i]);
        free(names[i]);
    }
    say("ls %s:%s", d, line);
    CHECK(bad_ino == 0, "d_ino of %s matches lstat", d);
}

static void cat(const char *p) {
    char buf[256];
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        say("cat %s: %s", p, ename(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n') buf[i] = '|';
    say("cat %s: [%s]", p, buf);
}

static ino_t ino_of(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0 ? st.st_ino : 0;
}

static nlink_t nlink_of(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0 ? st.st_nlink : 0;
}

static void trunc_lower(void) {
    ino_t before = ino_of("file1");
    int fd = MUST(open("file1", O_WRONLY | O_TRUNC));
    struct stat st;
    MUST(fstat(fd, &st));
    CHECK(st.st_size == 0, "O_TRUNC empties a lower file");
    CHECK(st.st_ino == before, "st_ino stays across copy-up");
    CHECK(write(fd, "new\n", 4) == 4, "write after O_TRUNC");
    close(fd);
    cat("file1");
    CHECK(ino_of("file1") == before, "st_ino still the same by path");
    /* O_TRUNC|O_RDONLY truncates too (Linux). */
    fd = MUST(open("file2", O_RDONLY | O_TRUNC));
    MUST(fstat(fd, &st));
    CHECK(st.st_size == 0, "O_RDONLY|O_TRUNC truncates");
    close(fd);
    CHECK_ERR(open("file1", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST, "O_EXCL on a lower file");
    CHECK_ERR(open("dir1", O_WRONLY), EISDIR, "write-open of a lower directory");
}

static void append_lower(void) {
    int fd = MUST(open("file2", O_WRONLY | O_APPEND));
    CHECK(write(fd, "more\n", 5) == 5, "append to a lower file");
    close(fd);
    cat("file2");
    struct stat st;
    MUST(stat("file2", &st));
    say("size %lld", (long long)st.st_size);
}

static void unlink_lower(void) {
    CHECK_OK(unlink("file1"), "unlink a lower file");
    CHECK_ERR(open("file1", O_RDONLY), ENOENT, "gone after unlink");
    CHECK_ERR(unlink("file1"), ENOENT, "second unlink");
    list(".");
    int fd = MUST(open("file1", O_CREAT | O_EXCL | O_WRONLY, 0600));
    close(fd);
    cat("file1");
    struct stat st;
    MUST(stat("file1", &st));
    say("recreated mode %o size %lld nlink %ld", st.st_mode, (long long)st.st_size, (long)st.st_nlink);
    CHECK_OK(unlink("link"), "unlink a lower symlink");
    cat("file1");
    CHECK_ERR(unlink("dir1"), EISDIR, "unlink of a lower directory");
    CHECK_ERR(rmdir("file2"), ENOTDIR, "rmdir of a lower file");
    list(".");
}

static void rename_lower_file(void) {
    ino_t i1 = ino_of("file1");
    CHECK_OK(rename("file1", "file3"), "rename a lower file");
    CHECK(ino_of("file3") == i1, "st_ino follows the rename");
    cat("file3");
    cat("file1");
    CHECK_OK(rename("file3", "file2"), "rename over a lower file");
    cat("file2");
    CHECK_OK(rename("file2", "dir2/moved"), "rename into a lower directory");
    list(".");
    list("dir2");
    CHECK_ERR(rename("ro.txt", "dir1"), EISDIR, "file over a directory");
    CHECK_ERR(rename("nothing", "x"), ENOENT, "missing source");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "big", AT_FDCWD, "sparse", 1), EEXIST,
              "RENAME_NOREPLACE onto a lower file");
    CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, "big", AT_FDCWD, "dir1", 2), "RENAME_EXCHANGE file and directory");
    struct stat st;
    MUST(lstat("big", &st));
    CHECK(S_ISDIR(st.st_mode), "exchanged: big is the directory");
    MUST(lstat("dir1", &st));
    CHECK(S_ISREG(st.st_mode) && st.st_size == 262144, "exchanged: dir1 is the file");
    list("big");
    list(".");
}

static void rename_lower_dir(void) {
    ino_t i1 = ino_of("dir1");
    CHECK_OK(rename("dir1", "dir3"), "rename a lower directory");
    CHECK(ino_of("dir3") == i1, "directory keeps its st_ino");
    list("dir3");
    list("dir3/sub");
    cat("dir3/a");
    CHECK_ERR(stat("dir1", &(struct stat){0}), ENOENT, "old name gone");
    list(".");
    CHECK_OK(mkdir("dir1", 0755), "mkdir at the old name");
    list("dir1");
    CHECK_OK(rename("dir3", "dir2"), "rename over an empty lower directory");
    list("dir2");
    CHECK_ERR(rename("dir2", "file2"), ENOTDIR, "directory over a file");
    CHECK_ERR(rename("dir2", "dir2/sub/x"), EINVAL, "into its own subtree");
    CHECK_ERR(rename("dir1", "dir2"), ENOTEMPTY, "over a non-empty directory");
    CHECK_ERR(rmdir("dir2"), ENOTEMPTY, "rmdir of a non-empty directory");
    CHECK_OK(rename("dir2/sub", "subtop"), "move a subdirectory up");
    list("subtop");
    list("dir2");
}

static void rmdir_lower(void) {
    CHECK_ERR(rmdir("dir1"), ENOTEMPTY, "rmdir of a non-empty lower directory");
    CHECK_OK(unlink("dir1/sub/c"), "unlink deep lower file");
    CHECK_OK(rmdir("dir1/sub"), "rmdir emptied lower directory");
    CHECK_ERR(rmdir("dir1"), ENOTEMPTY, "still not empty");
    CHECK_OK(unlink("dir1/a"), "unlink a");
    CHECK_OK(unlink("dir1/b"), "unlink b");
    list("dir1");
    CHECK_OK(rmdir("dir1"), "rmdir the emptied lower directory");
    CHECK_ERR(rmdir("dir1"), ENOENT, "gone");
    CHECK_OK(mkdir("dir1", 0700), "mkdir where a lower directory was");
    list("dir1");
    CHECK_ERR(stat("dir1/a", &(struct stat){0}), ENOENT, "the new directory is opaque");
    put_file("dir1/new", "n\n", 2, 0644);
    list("dir1");
    CHECK_OK(rmdir("dir2"), "rmdir an empty lower directory");
    CHECK_OK(mkdir("dir2", 0755), "and make it again");
    list(".");
}

static void hardlinks(void) {
    ino_t a = ino_of("hl1");
    CHECK(a == ino_of("hl2"), "two names, one inode");
    say("nlink %ld", (long)nlink_of("hl1"));
    int fd = MUST(open("hl1", O_WRONLY | O_APPEND));
    CHECK(write(fd, "via hl1\n", 8) == 8, "write through one name");
    close(fd);
    cat("hl2");
    CHECK(ino_of("hl1") == a && ino_of("hl2") == a, "still one inode after copy-up");
    say("nlink %ld %ld", (long)nlink_of("hl1"), (long)nlink_of("hl2"));
    CHECK_OK(link("hl2", "hl3"), "a third name");
    CHECK(ino_of("hl3") == a, "third name same inode");
    say("nlink %ld %ld %ld", (long)nlink_of("hl1"), (long)nlink_of("hl2"), (long)nlink_of("hl3"));
    CHECK_OK(unlink("hl1"), "unlink the first name");
    say("nlink %ld %ld", (long)nlink_of("hl2"), (long)nlink_of("hl3"));
    CHECK_OK(chmod("hl3", 0600), "chmod through the third name");
    struct stat st;
    MUST(stat("hl2", &st));
    say("hl2 mode %o", st.st_mode);
    cat("hl3");
    CHECK_OK(link("file1", "f1link"), "link a lower file");
    CHECK(ino_of("f1link") == ino_of("file1"), "link shares the inode");
    say("nlink %ld", (long)nlink_of("file1"));
    CHECK_ERR(link("dir1", "dirlink"), EPERM, "link of a directory");
    CHECK_ERR(link("file2", "file1"), EEXIST, "link onto an existing name");
    list(".");
}

static void attrs_lower(void) {
    ino_t i = ino_of("ro.txt");
    CHECK_OK(chmod("ro.txt", 0640), "chmod a lower file");
    CHECK_OK(chown("ro.txt", 1000, 1001), "chown a lower file");
    struct timespec ts[2] = {{1000000000, 5}, {1200000000, 7}};
    CHECK_OK(utimensat(AT_FDCWD, "ro.txt", ts, 0), "utimensat a lower file");
    struct stat st;
    MUST(stat("ro.txt", &st));
    say("ro.txt mode %o uid %d gid %d atime %ld.%ld mtime %ld.%ld", st.st_mode, st.st_uid, st.st_gid,
        (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    CHECK(st.st_ino == i, "same inode after attribute copy-up");
    cat("ro.txt");
    CHECK_OK(chmod("dir2", 0700), "chmod a lower directory");
    MUST(stat("dir2", &st));
    say("dir2 mode %o", st.st_mode);
    CHECK_OK(lchown("link", 7, 8), "lchown a lower symlink");
    MUST(lstat("link", &st));
    say("link uid %d gid %d", st.st_uid, st.st_gid);
    CHECK_OK(truncate("big", 100), "truncate a lower file");
    MUST(stat("big", &st));
    say("big size %lld", (long long)st.st_size);
    CHECK_OK(truncate("big", 5000), "extend it");
    char buf[5000];
    int fd = MUST(open("big", O_RDONLY));
    CHECK(pread(fd, buf, 5000, 0) == 5000, "read extended");
    int zeros = 1;
    for (int k = 100; k < 5000; k++)
        if (buf[k]) zeros = 0;
    CHECK(zeros && buf[0] == 'A' && buf[99] == 'A' + 99 % 26, "data kept, extension zero");
    close(fd);
    fd = MUST(open("file2", O_RDONLY));
    CHECK_ERR(ftruncate(fd, 0), EINVAL, "ftruncate of a read-only fd");
    CHECK_OK(fchmod(fd, 0611), "fchmod through a read-only fd of a lower file");
    MUST(fstat(fd, &st));
    say("file2 mode %o", st.st_mode);
    close(fd);
}

static void symlinks(void) {
    char buf[64] = {0};
    CHECK(readlink("link", buf, sizeof buf) == 5 && !memcmp(buf, "file1", 5), "readlink lower");
    int fd = MUST(open("link", O_WRONLY | O_APPEND));
    CHECK(write(fd, "through link\n", 13) == 13, "write through a lower symlink");
    close(fd);
    cat("file1");
    CHECK_OK(symlink("dir1/sub", "newlink"), "new symlink");
    list("newlink");
    CHECK_ERR(symlink("x", "link"), EEXIST, "symlink over existing");
    CHECK_ERR(open("link", O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a lower symlink");
    CHECK_OK(unlink("file1"), "remove the target");
    CHECK_ERR(open("link", O_RDONLY), ENOENT, "dangling now");
    fd = MUST(open("link", O_CREAT | O_WRONLY, 0644));
    close(fd);
    struct stat st;
    CHECK(stat("file1", &st) == 0 && st.st_size == 0, "O_CREAT through a dangling symlink creates the target");
}

static void readdir_merge(void) {
    put_file("dir1/new1", "1", 1, 0644);
    CHECK_OK(mkdir("dir1/newdir", 0755), "mkdir in a lower directory");
    CHECK_OK(unlink("dir1/a"), "unlink in a lower directory");
    list("dir1");
    list("dir1/sub");
    /* Rewinding sees changes made meanwhile. */
    DIR *dp = MUSTP(opendir("dir1"));
    int n1 = 0, n2 = 0;
    while (readdir(dp)) n1++;
    CHECK_OK(unlink("dir1/b"), "unlink while open");
    rewinddir(dp);
    while (readdir(dp)) n2++;
    closedir(dp);
    say("entries %d then %d", n1, n2);
    /* seekdir/telldir inside a merged listing. */
    dp = MUSTP(opendir("."));
    struct dirent *e;
    long pos = -1;
    char want[256] = "";
    int i = 0;
    while ((e = readdir(dp))) {
        if (i++ == 3) {
            pos = telldir(dp);
            e = readdir(dp);
            if (e) snprintf(want, sizeof want, "%s", e->d_name);
            break;
        }
    }
    if (pos >= 0) {
        seekdir(dp, pos);
        e = readdir(dp);
        CHECK(e && !strcmp(e->d_name, want), "seekdir returns to the same entry");
    }
    closedir(dp);
    struct stat st;
    MUST(stat("dir1", &st));
    CHECK(S_ISDIR(st.st_mode), "dir1 is a directory");
}

static void mmap_shared(void) {
    int fd = MUST(open("big", O_RDWR));
    char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "MAP_SHARED of a lower file opened read-write");
    if (p == MAP_FAILED) return;
    CHECK(p[0] == 'A' && p[27] == 'B', "mapped data");
    memcpy(p + 100, "MAPPED", 6);
    char buf[16] = {0};
    CHECK(pread(fd, buf, 6, 100) == 6 && !memcmp(buf, "MAPPED", 6), "read() sees a store through the mapping");
    CHECK(pwrite(fd, "WRITTEN", 7, 200) == 7, "pwrite");
    CHECK(!memcmp(p + 200, "WRITTEN", 7), "the mapping sees write()");
    CHECK_OK(msync(p, 65536, MS_SYNC), "msync");
    int fd2 = MUST(open("big", O_RDONLY));
    char *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 0);
    CHECK(q != MAP_FAILED && !memcmp(q + 100, "MAPPED", 6), "a second mapping shares the pages");
    memcpy(p + 300, "LATER", 5);
    CHECK(!memcmp(q + 300, "LATER", 5), "stores show in the other mapping");
    munmap(q, 4096);
    close(fd2);
    CHECK_OK(munmap(p, 65536), "munmap");
    close(fd);
    fd = MUST(open("big", O_RDONLY));
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 5, 300) == 5 && !memcmp(buf, "LATER", 5), "stores reach the file after munmap");
    close(fd);
    /* A private mapping never writes to the file. */
    fd = MUST(open("file2", O_RDONLY));
    char *r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(r != MAP_FAILED, "MAP_PRIVATE writable of a read-only fd");
    if (r != MAP_FAILED) {
        r[0] = 'X';
        munmap(r, 4096);
    }
    close(fd);
    cat("file2");
    fd = MUST(open("file2", O_RDONLY));
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EACCES,
          "MAP_SHARED writable of a read-only fd is EACCES");
    close(fd);
    /* Extending by write() shows in a mapping made before. */
    fd = MUST(open("file2", O_RDWR));
    char *s = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(s != MAP_FAILED, "map file2");
    CHECK(pwrite(fd, "tail", 4, 4096) == 4, "extend past the first page");
    CHECK(s != MAP_FAILED && !memcmp(s + 4096, "tail", 4), "the mapping sees the extension");
    munmap(s, 8192);
    close(fd);
}

static void ro_fd_follows_copyup(void) {
    int r = MUST(open("file2", O_RDONLY));
    int w = MUST(open("file2", O_WRONLY | O_TRUNC));
    CHECK(write(w, "changed\n", 8) == 8, "write through the second fd");
    char buf[32] = {0};
    CHECK(pread(r, buf, sizeof buf - 1, 0) == 8 && !strcmp(buf, "changed\n"),
          "an fd opened before the copy-up reads the new data");
    struct stat a, b;
    MUST(fstat(r, &a));
    MUST(fstat(w, &b));
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "both fds are one file");
    close(r);
    close(w);
}

static void sparse_copyup(void) {
    int fd = MUST(open("sparse", O_WRONLY | O_APPEND));
    CHECK(write(fd, "END", 3) == 3, "append to a sparse lower file");
    close(fd);
    struct stat st;
    MUST(stat("sparse", &st));
    say("sparse size %lld", (long long)st.st_size);
    fd = MUST(open("sparse", O_RDONLY));
    char buf[8];
    CHECK(pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "DATA", 4), "data at 0");
    CHECK(pread(fd, buf, 4, 524288) == 4 && !memcmp(buf, "DATA", 4), "data at 512 KiB");
    CHECK(pread(fd, buf, 4, 4096) == 4 && !memcmp(buf, "\0\0\0\0", 4), "hole reads zero");
    CHECK(pread(fd, buf, 3, 1048576) == 3 && !memcmp(buf, "END", 3), "appended tail");
    close(fd);
}

static void special_files(void) {
    CHECK_OK(mkfifo("fifo", 0600), "mkfifo");
    CHECK_OK(mknod("sock", S_IFSOCK | 0600, 0), "mknod a socket");
    struct stat st;
    MUST(lstat("fifo", &st));
    CHECK(S_ISFIFO(st.st_mode), "fifo type");
    int fd = MUST(open("fifo", O_RDWR));
    CHECK(write(fd, "pipe", 4) == 4, "write a fifo");
    char buf[8] = {0};
    CHECK(read(fd, buf, 4) == 4 && !memcmp(buf, "pipe", 4), "read it back");
    close(fd);
    CHECK_ERR(open("sock", O_RDONLY), ENXIO, "open a socket file");
    fd = MUST(open(".", O_TMPFILE | O_RDWR, 0600));
    CHECK(write(fd, "tmp\n", 4) == 4, "write an O_TMPFILE file");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    CHECK_OK(linkat(AT_FDCWD, path, AT_FDCWD, "named", AT_SYMLINK_FOLLOW), "give it a name");
    close(fd);
    cat("named");
    list(".");
}

static void creat_ops(void) {
    CHECK_OK(mkdir("dir2/n1", 0751), "mkdir in a lower directory");
    CHECK_OK(mkdir("dir2/n1/n2", 0700), "nested mkdir");
    put_file("dir2/n1/n2/f", "deep\n", 5, 0600);
    cat("dir2/n1/n2/f");
    struct stat st;
    MUST(stat("dir2/n1", &st));
    say("n1 mode %o nlink %ld", st.st_mode, (long)st.st_nlink);
    CHECK_ERR(mkdir("dir1", 0755), EEXIST, "mkdir over a lower directory");
    CHECK_ERR(mkdir("file1", 0755), EEXIST, "mkdir over a lower file");
    CHECK_ERR(mkdir("nodir/x", 0755), ENOENT, "mkdir under a missing directory");
    CHECK_ERR(mkdir("file1/x", 0755), ENOTDIR, "mkdir under a file");
    umask(077);
    int fd = MUST(open("masked", O_CREAT | O_WRONLY, 0666));
    close(fd);
    MUST(stat("masked", &st));
    say("masked mode %o", st.st_mode);
    list(".");
    list("dir2");
}

/* Under moat only: the root is read-only (--overlay=none). */
static void erofs(void) {
    CHECK_ERR(open("newfile", O_CREAT | O_WRONLY, 0644), EROFS, "create in a read-only root");
    CHECK_ERR(mkdir("newdir", 0755), EROFS, "mkdir");
    CHECK_ERR(unlink("file1"), EROFS, "unlink");
    CHECK_ERR(open("file1", O_WRONLY), EROFS, "open for write");
    CHECK_ERR(chmod("file1", 0600), EROFS, "chmod");
    struct statfs sf;
    MUST(statfs(".", &sf));
    CHECK(sf.f_flags & ST_RDONLY, "statfs says read-only");
}

/* Under moat only: statfs of the overlay. */
static void overlay_statfs(void) {
    struct statfs sf;
    MUST(statfs(".", &sf));
    CHECK(sf.f_type == 0x794c7630, "f_type is OVERLAYFS_SUPER_MAGIC");
    CHECK(!(sf.f_flags & ST_RDONLY), "writable");
    struct stat a, b;
    MUST(stat(".", &a));
    MUST(stat("file1", &b));
    CHECK(a.st_dev == b.st_dev, "one st_dev for the whole overlay");
    CHECK_ERR(mknod("wh", S_IFCHR | 0600, 0), EPERM, "no whiteouts made through the overlay");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "file1", AT_FDCWD, "file9", 4), EINVAL,
              "RENAME_WHITEOUT on the overlay");
}

/* Whiteouts on tmpfs and host directories (argv[2]: where; default a /tmp directory). */
static void whiteouts(void) {
    MUST(chdir(t_argc > 2 ? t_argv[2] : tmpdir()));
    put_file("wf", "x", 1, 0644);
    CHECK_OK(mknod("wh", S_IFCHR | 0600, 0), "mknod of a whiteout");
    struct stat st;
    MUST(lstat("wh", &st));
    say("whiteout mode %o rdev %lx", st.st_mode, (long)st.st_rdev);
    CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, "wf", AT_FDCWD, "wg", 4), "RENAME_WHITEOUT");
    MUST(lstat("wf", &st));
    say("left behind mode %o rdev %lx", st.st_mode, (long)st.st_rdev);
    cat("wg");
    CHECK_OK(syscall(SYS_renameat2, AT_FDCWD, "wg", AT_FDCWD, "wf", 4), "RENAME_WHITEOUT over a whiteout");
    cat("wf");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "wf", AT_FDCWD, "wg", 6), EINVAL, "WHITEOUT with EXCHANGE");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "wf", AT_FDCWD, "wg", 5), EEXIST,
              "WHITEOUT with NOREPLACE onto a whiteout");
    unlink("wf");
    unlink("wg");
    unlink("wh");
}

/* --- escape attempts (argv[2] = a writable volume, argv[3] = a host directory outside
 * it that must stay empty, argv[4] = a host file outside it) --- */

static const char *vol, *outside;
static volatile int stop;

static void *swapper(void *arg) {
    (void)arg;
    char a[512], b[512], l[512], d[512];
    snprintf(a, sizeof a, "%s/a", vol);
    snprintf(b, sizeof b, "%s/c", vol);
    snprintf(l, sizeof l, "%s/lnk", vol);
    snprintf(d, sizeof d, "%s/d", vol);
    for (int i = 0; !stop && i < 20000; i++) {
        /* Move directories around inside the volume, and swap a directory with a symlink
         * to the outside directory. */
        syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
        syscall(SYS_renameat2, AT_FDCWD, d, AT_FDCWD, l, 2);
    }
    return NULL;
}

static void escape(void) {
    if (t_argc < 5) {
        say("usage: overlay escape VOL OUTSIDE FILE");
        return;
    }
    vol = t_argv[2];
    outside = t_argv[3];
    char p[1024];
    /* A symlink planted on the host, inside the volume, pointing outside. */
    snprintf(p, sizeof p, "%s/planted/pwned", vol);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
    snprintf(p, sizeof p, "%s/planted-rel/pwned", vol);
    fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
    /* `..` out of the volume. */
    snprintf(p, sizeof p, "%s/../../../../../../../../%s/pwned-dotdot", vol, outside);
    fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
    /* A hard link from the volume to a file outside it. */
    snprintf(p, sizeof p, "%s/pw", vol);
    int r = link(t_argv[4], p);
    say("link %s", r == 0 ? "made" : ename(errno));
    /* Races: directories renamed and a directory swapped with a symlink to the outside
     * while this thread creates files through them. */
    char lnk[512];
    snprintf(p, sizeof p, "%s/lnk", vol);
    snprintf(lnk, sizeof lnk, "%s", outside);
    symlink(lnk, p);
    pthread_t th;
    pthread_create(&th, NULL, swapper, NULL);
    for (int i = 0; i < 3000; i++) {
        char q[1024];
        snprintf(q, sizeof q, "%s/d/race-%d", vol, i % 7);
        fd = open(q, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
        snprintf(q, sizeof q, "%s/a/b/../../a/b/race-%d", vol, i % 5);
        fd = open(q, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
        snprintf(q, sizeof q, "%s/c/b/../race-%d", vol, i % 5);
        fd = open(q, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
    }
    stop = 1;
    pthread_join(th, NULL);
    say("done");
}

int main(int argc, char **argv) {
    struct tcase cases[] = {
        CASE(trunc_lower), CASE(append_lower), CASE(unlink_lower), CASE(rename_lower_file),
        CASE(rename_lower_dir), CASE(rmdir_lower), CASE(hardlinks), CASE(attrs_lower),
        CASE(symlinks), CASE(readdir_merge), CASE(mmap_shared), CASE(ro_fd_follows_copyup),
        CASE(sparse_copyup), CASE(special_files), CASE(creat_ops), CASE(erofs),
        CASE(overlay_statfs), CASE(whiteouts), CASE(escape), {0, 0},
    };
    return run_cases(cases, argc, argv);
}
