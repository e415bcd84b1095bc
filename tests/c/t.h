/* Shared helpers for moat's differential C test programs.
 *
 * Every program is a list of cases.  `prog CASE` runs one case in the
 * current process; `prog` alone (or `prog all`) runs every case, each in a
 * forked child, with a "== CASE" header; `prog --list` prints the case names.
 *
 * Output must be deterministic: the same bytes natively and under moat.
 * Never print pids, addresses, times or temporary names.  Checks print
 * "ok WHAT" or "FAIL WHAT ..." on stdout; a case that printed a FAIL makes
 * the process exit with status 1.
 */
#ifndef MOAT_T_H
#define MOAT_T_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int t_failed;

__attribute__((unused)) static const char *ename(int e) {
    if (e == 0) return "0";
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Print a line and flush, so that output order survives fork and death. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        int e_ = errno;                                                   \
        if (cond) {                                                       \
            printf("ok ");                                                \
            say(__VA_ARGS__);                                             \
        } else {                                                          \
            t_failed = 1;                                                 \
            printf("FAIL line %d (%s) errno=%s: ", __LINE__, #cond, ename(e_)); \
            say(__VA_ARGS__);                                             \
        }                                                                 \
        errno = e_;                                                       \
    } while (0)

/* Check that EXPR (a syscall-style call) fails with ERR. */
#define CHECK_ERR(expr, err, ...)                                         \
    do {                                                                  \
        errno = 0;                                                        \
        long r_ = (long)(expr);                                           \
        int e_ = errno;                                                   \
        if (r_ == -1 && e_ == (err)) {                                    \
            printf("ok ");                                                \
            say(__VA_ARGS__);                                             \
        } else {                                                          \
            t_failed = 1;                                                 \
            printf("FAIL line %d: %s = %ld errno=%s, want %s: ", __LINE__, #expr, r_, ename(e_), ename(err)); \
            say(__VA_ARGS__);                                             \
        }                                                                 \
    } while (0)

/* Check that EXPR succeeds (returns something other than -1). */
#define CHECK_OK(expr, ...)                                               \
    do {                                                                  \
        errno = 0;                                                        \
        long r_ = (long)(expr);                                           \
        int e_ = errno;                                                   \
        if (r_ != -1) {                                                   \
            printf("ok ");                                                \
            say(__VA_ARGS__);                                             \
        } else {                                                          \
            t_failed = 1;                                                 \
            printf("FAIL line %d: %s errno=%s: ", __LINE__, #expr, ename(e_)); \
            say(__VA_ARGS__);                                             \
        }                                                                 \
    } while (0)

/* Abort the case when a setup step fails. */
#define MUST(expr)                                                        \
    ({                                                                    \
        errno = 0;                                                        \
        long r_ = (long)(expr);                                           \
        if (r_ == -1) {                                                   \
            printf("FAIL setup line %d: %s errno=%s\n", __LINE__, #expr, ename(errno)); \
            fflush(stdout);                                               \
            _exit(1);                                                     \
        }                                                                 \
        r_;                                                               \
    })

#define MUSTP(expr)                                                       \
    ({                                                                    \
        errno = 0;                                                        \
        void *p_ = (void *)(expr);                                        \
        if (p_ == NULL || p_ == (void *)-1) {                             \
            printf("FAIL setup line %d: %s errno=%s\n", __LINE__, #expr, ename(errno)); \
            fflush(stdout);                                               \
            _exit(1);                                                     \
        }                                                                 \
        p_;                                                               \
    })

/* A fresh private directory under /tmp; its name is never printed. It is
 * made by the process that runs the case (so forked children share it) and
 * removed when that process exits normally. */
static char t_dir[64];
static pid_t t_dir_owner;
/* A program's own cleanup, run where the private directory is removed. */
static void (*t_cleanup_hook)(void);
__attribute__((unused)) static void rm_rf(const char *p);
__attribute__((unused)) static void tmpdir_cleanup(void) {
    if (t_dir[0] && getpid() == t_dir_owner) rm_rf(t_dir);
    if (t_cleanup_hook) t_cleanup_hook();
}
__attribute__((unused)) static const char *tmpdir(void) {
    if (!t_dir[0]) {
        strcpy(t_dir, "/tmp/moat-t-XXXXXX");
        MUSTP(mkdtemp(t_dir));
        t_dir_owner = getpid();
        atexit(tmpdir_cleanup);
    }
    return t_dir;
}

__attribute__((unused)) static char *tpath(const char *name) {
    static char buf[8][256];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, 256, "%s/%s", tmpdir(), name);
    return b;
}

/* Remove a tree. */
#include <dirent.h>
__attribute__((unused)) static void rm_rf(const char *p) {
    struct stat st;
    if (lstat(p, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        chmod(p, 0700);
        DIR *d = opendir(p);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s", p, de->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(p);
    } else {
        unlink(p);
    }
}

/* Write a whole file. */
__attribute__((unused)) static void put_file(const char *path, const char *data, size_t len, int mode) {
    int fd = MUST(open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode));
    size_t off = 0;
    while (off < len) off += MUST(write(fd, data + off, len - off));
    MUST(close(fd));
}

/* Wait for a child and describe how it ended: "exit N" or "signal NAME". */
__attribute__((unused)) static const char *wdesc(int st) {
    static char b[64];
    if (WIFEXITED(st))
        snprintf(b, sizeof b, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(b, sizeof b, "signal %s", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
    else if (WIFSTOPPED(st))
        snprintf(b, sizeof b, "stopped %s", sigabbrev_np(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        snprintf(b, sizeof b, "continued");
    else
        snprintf(b, sizeof b, "status %#x", st);
    return b;
}

__attribute__((unused)) static const char *wait_child(pid_t pid) {
    int st;
    pid_t r;
    do r = waitpid(pid, &st, 0);
    while (r == -1 && errno == EINTR);
    if (r != pid) {
        t_failed = 1;
        return "FAIL waitpid";
    }
    return wdesc(st);
}

/* Run FN in a forked child and report how the child ended. */
__attribute__((unused)) static const char *in_child(void (*fn)(void)) {
    fflush(stdout);
    pid_t p = MUST(fork());
    if (p == 0) {
        fn();
        fflush(stdout);
        _exit(t_failed);
    }
    return wait_child(p);
}

struct tcase {
    const char *name;
    void (*fn)(void);
};

#define CASE(n) {#n, n}

__attribute__((unused)) static const char *t_prog;
__attribute__((unused)) static int t_argc;
__attribute__((unused)) static char **t_argv;

__attribute__((unused)) static int run_cases(const struct tcase *cases, int argc, char **argv) {
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    t_prog = argv[0];
    t_argc = argc;
    t_argv = argv;
    /* No core files: a death by signal must be quick and leave nothing. */
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    if (argc >= 2 && !strcmp(argv[1], "--list")) {
        for (const struct tcase *c = cases; c->name; c++) say("%s", c->name);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "all")) {
        int bad = 0;
        for (const struct tcase *c = cases; c->name; c++) {
            say("== %s", c->name);
            pid_t p = fork();
            if (p == 0) {
                if (strncmp(c->name, "die_", 4)) tmpdir();
                c->fn();
                tmpdir_cleanup();
                fflush(stdout);
                _exit(t_failed);
            }
            int st;
            waitpid(p, &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                say("-- %s ended with %s", c->name, wdesc(st));
                bad = 1;
            }
        }
        return bad;
    }
    for (const struct tcase *c = cases; c->name; c++) {
        if (!strcmp(argv[1], c->name)) {
            if (strncmp(c->name, "die_", 4)) tmpdir();
            c->fn();
            tmpdir_cleanup();
            fflush(stdout);
            return t_failed;
        }
    }
    fprintf(stderr, "%s: unknown case %s\n", argv[0], argv[1]);
    return 2;
}

#endif
