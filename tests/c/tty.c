/* Terminals: pty pairs (posix_openpt, grantpt, unlockpt, ptsname, TIOCGPTN,
 * TIOCSPTLCK, TIOCGPTPEER), the line discipline (canonical and raw input, echo and
 * its variants, VMIN/VTIME, output processing), signals from the terminal, job
 * control (sessions, controlling terminals, foreground groups, SIGTTIN/SIGTTOU),
 * window sizes and SIGWINCH, hang-up, /dev/tty.
 *
 * Echoes are read with exact lengths (the native kernel moves them asynchronously),
 * and everything that depends on a session runs in a child that called setsid(), so
 * that the runner's own terminal (if any) never matters. */
#include "t.h"
#include <dirent.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

static int pty_pair(int *slave, int sflags) {
    int m = MUST(posix_openpt(O_RDWR | O_NOCTTY));
    MUST(grantpt(m));
    MUST(unlockpt(m));
    *slave = MUST(open(ptsname(m), O_RDWR | sflags));
    return m;
}

static const char *esc(const char *b, int n) {
    static char out[4096];
    int o = 0;
    for (int i = 0; i < n && o < (int)sizeof out - 8; i++) {
        unsigned char c = b[i];
        if (c >= 32 && c < 127 && c != '\\')
            out[o++] = c;
        else
            o += snprintf(out + o, 8, "\\%o", c);
    }
    out[o] = 0;
    return out;
}

/* Read exactly strlen(want) bytes (the guard alarm kills a case that would hang)
 * and compare. */
static void expect(int fd, const char *want, const char *what) {
    char b[1024];
    int n = strlen(want), got = 0;
    alarm(10);
    while (got < n) {
        int r = read(fd, b + got, n - got);
        if (r <= 0) break;
        got += r;
    }
    alarm(0);
    if (got == n && !memcmp(b, want, n))
        say("ok %s: \"%s\"", what, esc(b, n));
    else {
        t_failed = 1;
        char g[4096];
        snprintf(g, sizeof g, "%s", esc(b, got));
        say("FAIL %s: got \"%s\" want \"%s\"", what, g, esc(want, n));
    }
}

/* Nothing more arrives (a short wait: only used where the native kernel has long
 * finished moving data). */
static void quiet(int fd, const char *what) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r == 0)
        say("ok %s: nothing more", what);
    else {
        char b[256];
        int n = read(fd, b, sizeof b);
        t_failed = 1;
        say("FAIL %s: more: \"%s\"", what, esc(b, n > 0 ? n : 0));
    }
}

/* One read, printed. */
static void rd(int fd, int max, const char *what) {
    char b[1024];
    alarm(10);
    int n = read(fd, b, max);
    int e = errno;
    alarm(0);
    if (n < 0)
        say("%s: -1 %s", what, ename(e));
    else
        say("%s: %d \"%s\"", what, n, esc(b, n));
}

static void put(int fd, const char *s) {
    MUST(write(fd, s, strlen(s)));
}

/* Types `in` on the master, reads one line from the slave (printed as `what`) and
 * checks the echo. */
static void typed(int m, int s, const char *in, const char *what, const char *echo) {
    put(m, in);
    rd(s, 100, what);
    expect(m, echo, "echo");
}

/* Lets the native kernel finish processing input written to the master (poll on
 * the slave flushes the pending work). */
static void settle(int s) {
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 0);
}

static void set_lflag(int s, tcflag_t on, tcflag_t off) {
    struct termios t;
    MUST(tcgetattr(s, &t));
    t.c_lflag = (t.c_lflag | on) & ~off;
    MUST(tcsetattr(s, TCSANOW, &t));
}

static void pty_basics(void) {
    int m = MUST(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK(isatty(m), "master is a tty");
    struct stat st;
    MUST(fstat(m, &st));
    CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 2,
          "master is 5:2");
    say("master mode %o", st.st_mode & 07777);
    unsigned n;
    CHECK(ioctl(m, TIOCGPTN, &n) == 0, "TIOCGPTN");
    int lk = -1;
    CHECK(ioctl(m, TIOCGPTLCK, &lk) == 0 && lk == 1, "locked at first");
    char name[64];
    snprintf(name, sizeof name, "/dev/pts/%u", n);
    CHECK(!strcmp(ptsname(m), name), "ptsname is /dev/pts/N");
    CHECK_ERR(open(name, O_RDWR | O_NOCTTY), EIO, "slave locked");
    CHECK(grantpt(m) == 0, "grantpt");
    CHECK(unlockpt(m) == 0, "unlockpt");
    CHECK(ioctl(m, TIOCGPTLCK, &lk) == 0 && lk == 0, "unlocked");
    int s = MUST(open(name, O_RDWR | O_NOCTTY));
    CHECK(isatty(s), "slave is a tty");
    MUST(fstat(s, &st));
    CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 136 && minor(st.st_rdev) == n,
          "slave is 136:N");
    say("slave mode %o uid-is-me %d", st.st_mode & 07777, st.st_uid == geteuid());
    char *tn = ttyname(s);
    CHECK(tn && !strcmp(tn, name), "ttyname(slave)");
    tn = ttyname(m);
    say("ttyname(master) %s", tn ? tn : ename(errno));
    struct stat a, b;
    MUST(stat("/dev/ptmx", &a));
    MUST(stat("/dev/pts/ptmx", &b));
    say("/dev/ptmx %o %u:%u, /dev/pts/ptmx %o %u:%u", a.st_mode, major(a.st_rdev),
        minor(a.st_rdev), b.st_mode, major(b.st_rdev), minor(b.st_rdev));
    MUST(stat(name, &b));
    CHECK(b.st_rdev == st.st_rdev && b.st_ino == st.st_ino, "stat(name) is the slave");
    int found = 0, ptmx = 0;
    DIR *d = opendir("/dev/pts");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, name + 9)) found = 1;
        if (!strcmp(e->d_name, "ptmx")) ptmx = 1;
    }
    if (d) closedir(d);
    CHECK(found && ptmx, "readdir /dev/pts");

    CHECK_ERR(ioctl(s, TIOCGPTN, &n), ENOTTY, "TIOCGPTN on slave");
    CHECK_ERR(grantpt(s), EINVAL, "grantpt(slave)");
    CHECK_ERR(unlockpt(s), EINVAL, "unlockpt(slave)");
    CHECK_ERR(ioctl(s, TIOCSPTLCK, &lk), ENOTTY, "TIOCSPTLCK on slave");
    errno = 0;
    CHECK(ptsname(s) == NULL, "ptsname(slave) fails: %s", ename(errno));
    int nul = MUST(open("/dev/null", O_RDWR));
    CHECK_ERR(grantpt(nul), EINVAL, "grantpt(/dev/null)");
    CHECK_ERR(ioctl(nul, TCGETS, &a), ENOTTY, "TCGETS on /dev/null");
    CHECK(!isatty(nul) && errno == ENOTTY, "isatty(/dev/null)");

    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    CHECK(peer >= 0, "TIOCGPTPEER");
    MUST(fstat(peer, &b));
    CHECK(b.st_rdev == st.st_rdev, "peer is the slave");
    tn = ttyname(peer);
    CHECK(tn && !strcmp(tn, name), "ttyname(peer)");
    CHECK_ERR(ioctl(s, TIOCGPTPEER, O_RDWR), EIO, "TIOCGPTPEER on slave");
    int m2 = MUST(open("/dev/pts/ptmx", O_RDWR | O_NOCTTY));
    unsigned n2;
    MUST(ioctl(m2, TIOCGPTN, &n2));
    CHECK(n2 != n, "a second pair has its own number");
    MUST(fstat(m2, &b));
    say("pts/ptmx master mode %o", b.st_mode & 07777);
    CHECK_ERR(ioctl(m2, TIOCGPTPEER, O_RDWR), EIO, "TIOCGPTPEER while locked");
    lk = 0;
    MUST(ioctl(m2, TIOCSPTLCK, &lk));
    int p2 = ioctl(m2, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(p2 >= 0 && (fcntl(p2, F_GETFD) & FD_CLOEXEC), "TIOCGPTPEER with O_CLOEXEC");
    close(p2);
    close(m2);
    close(m);
    CHECK_ERR(open(name, O_RDWR | O_NOCTTY), ENOENT, "slave name gone with the master");
    CHECK_ERR(stat(name, &b), ENOENT, "stat after master close");
    CHECK(fstat(s, &b) == 0, "open slave still fstat()s");
}

static void termios_defaults(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    struct termios t;
    MUST(tcgetattr(s, &t));
    say("slave iflag %o oflag %o cflag %o lflag %o", t.c_iflag, t.c_oflag, t.c_cflag,
        t.c_lflag);
    printf("cc");
    for (int i = 0; i < 17; i++) printf(" %d", t.c_cc[i]);
    say(" speed %d %d", (int)cfgetispeed(&t), (int)cfgetospeed(&t));
    struct termios mt;
    MUST(tcgetattr(m, &mt));
    CHECK(mt.c_iflag == t.c_iflag && mt.c_oflag == t.c_oflag && mt.c_cflag == t.c_cflag &&
              mt.c_lflag == t.c_lflag && !memcmp(mt.c_cc, t.c_cc, NCCS),
          "master's termios request shows the slave's");
    /* Changes through the master apply to the slave; a pty is always CS8 no parity. */
    t.c_cflag = (t.c_cflag & ~CSIZE) | CS7 | PARENB;
    cfsetspeed(&t, B9600);
    t.c_lflag &= ~ECHO;
    MUST(tcsetattr(m, TCSANOW, &t));
    MUST(tcgetattr(s, &t));
    say("after set: cflag %o lflag %o speed %d", t.c_cflag, t.c_lflag, (int)cfgetospeed(&t));
    struct termio tio;
    MUST(ioctl(s, TCGETA, &tio));
    say("termio iflag %o oflag %o cflag %o lflag %o vmin %d", tio.c_iflag, tio.c_oflag,
        tio.c_cflag, tio.c_lflag, tio.c_cc[VMIN]);
    tio.c_lflag |= ECHO;
    MUST(ioctl(s, TCSETA, &tio));
    MUST(tcgetattr(s, &t));
    say("after TCSETA: lflag %o", t.c_lflag);
    CHECK_ERR(ioctl(s, TCGETS, (void *)8), EFAULT, "TCGETS to a bad pointer");
    CHECK_ERR(ioctl(s, TCSETS, (void *)8), EFAULT, "TCSETS from a bad pointer");
    CHECK_ERR(tcsetattr(s, 99, &t), EINVAL, "tcsetattr bad action");
    int d;
    CHECK(ioctl(s, TIOCGETD, &d) == 0 && d == 0, "line discipline N_TTY");
    struct winsize w;
    MUST(ioctl(s, TIOCGWINSZ, &w));
    say("winsize %d %d %d %d", w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel);
    close(m);
    close(s);
}

static void canonical(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    typed(m, s, "hello\nworld", "read line", "hello\r\nworld");
    int n = -1;
    settle(s);
    MUST(ioctl(s, FIONREAD, &n));
    say("inq with a partial line: %d", n);
    struct pollfd p = {s, POLLIN, 0};
    say("poll partial line: %d", poll(&p, 1, 0));
    typed(m, s, "\n", "read rest", "\r\n");
    put(m, "abcdef\n");
    rd(s, 3, "read 3");
    rd(s, 100, "read remainder");
    expect(m, "abcdef\r\n", "echo");
    put(m, "a\nbb\nccc\n");
    settle(s);
    MUST(ioctl(s, FIONREAD, &n));
    say("inq with lines: %d", n);
    rd(s, 100, "line 1");
    rd(s, 100, "line 2");
    rd(s, 100, "line 3");
    expect(m, "a\r\nbb\r\nccc\r\n", "echo");
    put(m, "xy\004");
    rd(s, 100, "read before EOF");
    put(m, "\004");
    rd(s, 100, "read at EOF");
    /* An EOF that ends a line already partly read is dropped (no empty read). */
    put(m, "abc\004");
    rd(s, 3, "read 3 of a line ended by EOF");
    typed(m, s, "more\n", "then", "xyabcmore\r\n");
    struct termios t;
    MUST(tcgetattr(s, &t));
    t.c_cc[VEOL] = ';';
    t.c_cc[VEOL2] = '|';
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "a;b|c\n");
    rd(s, 100, "EOL");
    rd(s, 100, "EOL2");
    rd(s, 100, "newline");
    expect(m, "a;b|c\r\n", "echo");
    put(m, "r\rn\n");
    rd(s, 100, "CR is a newline (ICRNL)");
    rd(s, 100, "then");
    expect(m, "r\r\nn\r\n", "echo");
    /* Output processing. */
    put(s, "x\ny\r\tz\n");
    expect(m, "x\r\ny\r\tz\r\n", "output ONLCR");
    quiet(m, "master");
    close(m);
    close(s);
}

static void echo_modes(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    typed(m, s, "abc\177\177d\n", "erase", "abc\b \b\b \bd\r\n");
    typed(m, s, "x\ty\001\177\177\177\177z\025q\027w\n", "tab, ctl, kill, werase", "x\ty^A\b \b\b \b\b \b\b\b\b\b\b\b\b\b \bz\b \bq\b \bw\r\n");
    typed(m, s, "foo bar\027baz\n", "werase", "foo bar\b \b\b \b\b \bbaz\r\n");
    typed(m, s, "ab\001\002\n", "control characters", "ab^A^B\r\n");
    set_lflag(s, 0, ECHOCTL);
    typed(m, s, "ab\001\n", "without ECHOCTL", "ab\001\r\n");
    set_lflag(s, ECHOCTL, ECHOE);
    typed(m, s, "ab\177c\n", "erase without ECHOE", "ab^?c\r\n");
    set_lflag(s, ECHOE, ECHOKE);
    typed(m, s, "abc\025d\n", "kill without ECHOKE", "abc^U\r\nd\r\n");
    set_lflag(s, ECHOKE, 0);
    set_lflag(s, ECHOPRT, 0);
    typed(m, s, "abc\177\177d\n", "ECHOPRT", "abc\\cb/d\r\n");
    set_lflag(s, 0, ECHOPRT);
    typed(m, s, "a\026\003b\n", "LNEXT", "a^\b^Cb\r\n");
    typed(m, s, "ab\022c\n", "REPRINT", "ab^R\r\nabc\r\n");
    set_lflag(s, 0, IEXTEN);
    typed(m, s, "ab\027c\n", "no IEXTEN: ^W is plain", "ab^Wc\r\n");
    set_lflag(s, IEXTEN, ECHO);
    put(m, "quiet\n");
    rd(s, 100, "no ECHO");
    set_lflag(s, ECHONL, 0);
    typed(m, s, "nl\n", "ECHONL", "\r\n");
    quiet(m, "master");
    close(m);
    close(s);
}

static void raw_mode(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    struct termios t, orig;
    MUST(tcgetattr(s, &orig));
    t = orig;
    cfmakeraw(&t);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    MUST(tcsetattr(s, TCSANOW, &t));
    rd(s, 10, "MIN 0 TIME 0, nothing");
    put(m, "ab\r\003\n");
    settle(s);
    rd(s, 1, "one byte");
    rd(s, 10, "the rest");
    t.c_cc[VTIME] = 2;
    MUST(tcsetattr(s, TCSANOW, &t));
    rd(s, 10, "MIN 0 TIME 2, nothing");
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 0;
    MUST(tcsetattr(s, TCSANOW, &t));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        rd(s, 10, "MIN 3 reader");
        _exit(0);
    }
    put(m, "ab");
    put(m, "cd");
    say("reader: %s", wait_child(c));
    put(m, "xy");
    int fl = fcntl(s, F_GETFL);
    MUST(fcntl(s, F_SETFL, fl | O_NONBLOCK));
    settle(s);
    rd(s, 10, "MIN 3 non-blocking with 2");
    rd(s, 10, "non-blocking empty");
    MUST(fcntl(s, F_SETFL, fl));
    t.c_cc[VMIN] = 5;
    t.c_cc[VTIME] = 1;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "abc");
    rd(s, 10, "MIN 5 TIME 1 gets 3 after the timer");
    struct pollfd p = {s, POLLIN, 0};
    t.c_cc[VTIME] = 0;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "12");
    settle(s);
    say("poll MIN 5 with 2 bytes: %d", poll(&p, 1, 0));
    put(m, "345");
    settle(s);
    say("poll MIN 5 with 5 bytes: %d", poll(&p, 1, 0));
    rd(s, 10, "read");
    quiet(m, "no echo in raw mode");
    /* Echo without canonical mode: a newline is a control character like others. */
    t = orig;
    t.c_lflag &= ~ICANON;
    t.c_cc[VMIN] = 1;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "a\n\001");
    settle(s);
    rd(s, 10, "non-canonical with ECHO");
    expect(m, "a^J^A", "echo");
    /* Input mapping without canonical mode. */
    t = orig;
    t.c_lflag &= ~(ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_iflag = INLCR;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "a\nb\r");
    settle(s);
    rd(s, 10, "INLCR");
    t.c_iflag = IGNCR;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "a\rb\n");
    settle(s);
    rd(s, 10, "IGNCR");
    t.c_iflag = ICRNL | ISTRIP;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "a\r\xe1");
    settle(s);
    rd(s, 10, "ICRNL ISTRIP");
    /* Output flags. */
    t.c_oflag = 0;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(s, "a\nb\r");
    expect(m, "a\nb\r", "no OPOST");
    t.c_oflag = OPOST | OCRNL;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(s, "a\rb\n");
    expect(m, "a\nb\n", "OCRNL");
    t.c_oflag = OPOST | ONLCR | ONOCR;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(s, "\rab\r\n\r");
    expect(m, "\rab\r\r\n", "ONOCR (the column was not 0)");
    t.c_oflag = OPOST | ONLCR | XTABS;
    MUST(tcsetattr(s, TCSANOW, &t));
    put(s, "a\tbc\t|\n");
    expect(m, "a       bc      |\r\n", "XTABS");
    quiet(m, "master");
    /* Switching to canonical mode turns what is buffered into a line. */
    t = orig;
    t.c_lflag &= ~(ICANON | ECHO);
    MUST(tcsetattr(s, TCSANOW, &t));
    put(m, "partial");
    settle(s);
    t.c_lflag |= ICANON;
    MUST(tcsetattr(s, TCSANOW, &t));
    rd(s, 100, "buffered input after ICANON on");
    close(m);
    close(s);
}

static volatile sig_atomic_t got_sig[65];
static volatile sig_atomic_t sig_code[65];
static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig[sig]++;
    sig_code[sig] = si->si_code;
}
static void catch_sig(int sig) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    MUST(sigaction(sig, &sa, NULL));
}

/* Waits (signals blocked meanwhile) until `sig` was caught. */
static void await_sig(int sig) {
    sigset_t none;
    sigemptyset(&none);
    alarm(10);
    while (!got_sig[sig]) sigsuspend(&none);
    alarm(0);
}

static void block(int sig, int how) {
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, sig);
    sigprocmask(how, &ss, NULL);
}

/* A child in the caller's process group with default dispositions: it tells `ready`
 * and then waits for signals. */
static pid_t pauser(int ready) {
    pid_t g = MUST(fork());
    if (g == 0) {
        for (int i = 1; i < 32; i++) signal(i, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        MUST(write(ready, "r", 1));
        for (;;) pause();
    }
    return g;
}

static void wait_ready(int fd) {
    char c;
    alarm(10);
    MUST(read(fd, &c, 1));
    alarm(0);
}

/* ^C, ^\ and ^Z in a session whose controlling terminal is the slave. */
static void in_isig(void) {
    MUST(setsid());
    int s, m = pty_pair(&s, 0);
    CHECK(tcgetpgrp(s) == getpgrp(), "foreground group is the leader's");
    CHECK(tcgetsid(s) == getsid(0), "tcgetsid");
    int ready[2];
    MUST(pipe(ready));
    catch_sig(SIGINT);
    catch_sig(SIGQUIT);
    catch_sig(SIGTSTP);
    block(SIGINT, SIG_BLOCK);
    block(SIGQUIT, SIG_BLOCK);
    block(SIGTSTP, SIG_BLOCK);
    pid_t g = pauser(ready[1]);
    wait_ready(ready[0]);
    put(m, "abc\003");
    say("child: %s", wait_child(g));
    await_sig(SIGINT);
    say("leader got SIGINT, si_code %d", sig_code[SIGINT]);
    expect(m, "^C", "echo");
    typed(m, s, "after\n", "input before ^C was flushed", "after\r\n");
    g = pauser(ready[1]);
    wait_ready(ready[0]);
    put(m, "\034");
    say("child: %s", wait_child(g));
    await_sig(SIGQUIT);
    expect(m, "^\\", "echo");
    /* ^Z: the leader's group is orphaned (no parent in another group of the session),
     * so the stop is discarded; ^C then ends the child. */
    g = pauser(ready[1]);
    wait_ready(ready[0]);
    put(m, "\032");
    await_sig(SIGTSTP);
    expect(m, "^Z", "echo");
    put(m, "\003");
    say("child in an orphaned group after ^Z, ^C: %s", wait_child(g));
    expect(m, "^C", "echo");
    /* A job in a group of its own, in the foreground, stops. */
    g = pauser(ready[1]);
    setpgid(g, g);
    wait_ready(ready[0]);
    MUST(tcsetpgrp(s, g));
    put(m, "\032");
    int st;
    alarm(10);
    MUST(waitpid(g, &st, WUNTRACED));
    alarm(0);
    say("job: %s", wdesc(st));
    expect(m, "^Z", "echo");
    block(SIGTTOU, SIG_BLOCK);
    MUST(tcsetpgrp(s, getpgrp()));
    MUST(kill(g, SIGKILL));
    say("job: %s", wait_child(g));
    /* NOFLSH keeps the input; without ISIG the characters are plain input. */
    set_lflag(s, NOFLSH, 0);
    got_sig[SIGINT] = 0;
    put(m, "keep\003me\n");
    await_sig(SIGINT);
    rd(s, 100, "NOFLSH");
    expect(m, "keep^Cme\r\n", "echo");
    set_lflag(s, 0, ISIG);
    typed(m, s, "x\003\034\032\n", "no ISIG", "x^C^\\^Z\r\n");
    /* TIOCSIG from the master. */
    got_sig[SIGINT] = 0;
    CHECK(ioctl(m, TIOCSIG, SIGINT) == 0, "TIOCSIG");
    await_sig(SIGINT);
    say("TIOCSIG si_code %d", sig_code[SIGINT]);
    CHECK_ERR(ioctl(m, TIOCSIG, SIGTERM), EINVAL, "TIOCSIG only INT/QUIT/TSTP");
    quiet(m, "master");
}

static void isig_signals(void) {
    say("session: %s", in_child(in_isig));
}

static void in_jobctl(void) {
    MUST(setsid());
    int s, m = pty_pair(&s, 0);
    int ready[2];
    MUST(pipe(ready));
    /* A background group reading: SIGTTIN stops it. */
    fflush(stdout);
    pid_t b = MUST(fork());
    if (b == 0) {
        setpgid(0, 0);
        char buf[16];
        int n = read(s, buf, sizeof buf);
        say("bg reader got %d \"%s\"", n, esc(buf, n > 0 ? n : 0));
        _exit(0);
    }
    setpgid(b, b);
    int st;
    alarm(10);
    MUST(waitpid(b, &st, WUNTRACED));
    alarm(0);
    say("bg reader: %s", wdesc(st));
    /* Bring it to the foreground: its read restarts and gets input. */
    CHECK(tcsetpgrp(s, b) == 0, "tcsetpgrp(bg group)");
    CHECK(tcgetpgrp(s) == b, "tcgetpgrp");
    MUST(kill(b, SIGCONT));
    alarm(10);
    MUST(waitpid(b, &st, WCONTINUED));
    alarm(0);
    put(m, "hi\n");
    say("reader: %s", wait_child(b));
    expect(m, "hi\r\n", "echo");
    /* Now the leader is in the background: SIGTTOU blocked lets it take the terminal
     * back. */
    block(SIGTTOU, SIG_BLOCK);
    CHECK(tcsetpgrp(s, getpgrp()) == 0, "tcsetpgrp from the background, SIGTTOU blocked");
    block(SIGTTOU, SIG_UNBLOCK);
    CHECK(tcgetpgrp(s) == getpgrp(), "back in the foreground");
    /* A background writer: fine without TOSTOP, SIGTTOU with it. */
    fflush(stdout);
    b = MUST(fork());
    if (b == 0) {
        setpgid(0, 0);
        int r = write(s, "bg\n", 3);
        say("bg writer wrote %d", r);
        struct termios t;
        MUST(tcgetattr(s, &t));
        r = tcsetattr(s, TCSANOW, &t);
        say("bg tcsetattr: %d", r);
        _exit(0);
    }
    setpgid(b, b);
    alarm(10);
    MUST(waitpid(b, &st, WUNTRACED));
    alarm(0);
    say("bg writer: %s", wdesc(st));
    expect(m, "bg\r\n", "its output");
    MUST(kill(b, SIGKILL));
    say("then: %s", wait_child(b));
    set_lflag(s, TOSTOP, 0);
    fflush(stdout);
    b = MUST(fork());
    if (b == 0) {
        setpgid(0, 0);
        int r = write(s, "no\n", 3);
        say("bg writer under TOSTOP wrote %d", r);
        _exit(0);
    }
    setpgid(b, b);
    alarm(10);
    MUST(waitpid(b, &st, WUNTRACED));
    alarm(0);
    say("bg writer under TOSTOP: %s", wdesc(st));
    MUST(kill(b, SIGKILL));
    say("then: %s", wait_child(b));
    /* Ignored signals: SIGTTIN gives EIO, SIGTTOU lets the write through. */
    fflush(stdout);
    b = MUST(fork());
    if (b == 0) {
        setpgid(0, 0);
        signal(SIGTTIN, SIG_IGN);
        signal(SIGTTOU, SIG_IGN);
        char buf[4];
        CHECK_ERR(read(s, buf, 4), EIO, "bg read with SIGTTIN ignored");
        CHECK(write(s, "ok\n", 3) == 3, "bg write with SIGTTOU ignored");
        struct termios t;
        MUST(tcgetattr(s, &t));
        CHECK(tcsetattr(s, TCSANOW, &t) == 0, "bg tcsetattr with SIGTTOU ignored");
        CHECK(tcgetpgrp(s) == getppid(), "bg tcgetpgrp works");
        _exit(t_failed);
    }
    setpgid(b, b);
    say("ignoring: %s", wait_child(b));
    expect(m, "ok\r\n", "its output");
    /* An orphaned background group gets EIO instead of being stopped. */
    int done[2];
    MUST(pipe(done));
    fflush(stdout);
    b = MUST(fork());
    if (b == 0) {
        setpgid(0, 0);
        pid_t y = MUST(fork());
        if (y == 0) {
            char c;
            MUST(read(ready[0], &c, 1));
            char buf[4];
            CHECK_ERR(read(s, buf, 4), EIO, "orphaned bg read");
            CHECK_ERR(write(s, "x", 1), EIO, "orphaned bg write under TOSTOP");
            fflush(stdout);
            MUST(write(done[1], "d", 1));
            _exit(0);
        }
        _exit(0);
    }
    say("orphan's parent: %s", wait_child(b));
    MUST(write(ready[1], "g", 1));
    wait_ready(done[0]);
    /* tcsetpgrp errors. */
    CHECK_ERR(tcsetpgrp(s, -1), EINVAL, "tcsetpgrp(-1)");
    CHECK_ERR(tcsetpgrp(s, getpgid(getppid())), EPERM, "tcsetpgrp(group of another session)");
    int s2, m2 = pty_pair(&s2, O_NOCTTY);
    CHECK_ERR(tcsetpgrp(s2, getpgrp()), ENOTTY, "tcsetpgrp on another terminal");
    CHECK_ERR(tcgetpgrp(s2), ENOTTY, "tcgetpgrp on another terminal");
    pid_t pg = -1;
    CHECK(ioctl(m2, TIOCGPGRP, &pg) == 0 && pg == 0, "TIOCGPGRP on a master: no group");
    CHECK_ERR(ioctl(m2, TIOCGSID, &pg), ENOTTY, "TIOCGSID on a master: no session");
    CHECK(ioctl(m, TIOCGPGRP, &pg) == 0 && pg == getpgrp(), "TIOCGPGRP on our master");
    CHECK(ioctl(m, TIOCGSID, &pg) == 0 && pg == getsid(0), "TIOCGSID on our master");
    close(m2);
    close(s2);
    quiet(m, "master");
}

static void job_control(void) {
    say("session: %s", in_child(in_jobctl));
}

static void in_winsize(void) {
    MUST(setsid());
    int s, m = pty_pair(&s, 0);
    catch_sig(SIGWINCH);
    struct winsize w = {24, 80, 0, 0};
    CHECK(ioctl(m, TIOCSWINSZ, &w) == 0, "TIOCSWINSZ on the master");
    await_sig(SIGWINCH);
    say("SIGWINCH %d, si_code %d", got_sig[SIGWINCH], sig_code[SIGWINCH]);
    struct winsize r;
    MUST(ioctl(s, TIOCGWINSZ, &r));
    say("slave sees %d %d", r.ws_row, r.ws_col);
    CHECK(ioctl(m, TIOCSWINSZ, &w) == 0, "same size again");
    CHECK(got_sig[SIGWINCH] == 1, "no SIGWINCH when nothing changed");
    w.ws_col = 132;
    CHECK(ioctl(s, TIOCSWINSZ, &w) == 0, "TIOCSWINSZ on the slave");
    await_sig(SIGWINCH);
    say("SIGWINCH %d", got_sig[SIGWINCH]);
    MUST(ioctl(m, TIOCGWINSZ, &r));
    say("master sees %d %d", r.ws_row, r.ws_col);
    CHECK_ERR(ioctl(s, TIOCSWINSZ, (void *)8), EFAULT, "bad pointer");
}

static void winsize(void) {
    say("session: %s", in_child(in_winsize));
}

static int hup_m;
static void in_hangup(void) {
    MUST(setsid());
    int s, m = pty_pair(&s, 0);
    hup_m = m;
    catch_sig(SIGHUP);
    catch_sig(SIGCONT);
    int ready[2];
    MUST(pipe(ready));
    fflush(stdout);
    /* A member of the foreground group blocked in read: no signal, end of file. */
    pid_t g = MUST(fork());
    if (g == 0) {
        close(m);
        char buf[8];
        MUST(write(ready[1], "r", 1));
        int n = read(s, buf, sizeof buf);
        /* Reported by the exit status (printing here would race the leader). */
        _exit(n < 0 && errno == EIO ? 5 : n == 0 ? 0 : 9);
    }
    wait_ready(ready[0]);
    /* A read asleep at the hang-up fails with EIO (one started after it reads end of
     * file, below): give the reader time to fall asleep (nothing to wait on). */
    usleep(500000);
    block(SIGHUP, SIG_BLOCK);
    close(m);
    await_sig(SIGHUP);
    say("leader: SIGHUP %d si_code %d, SIGCONT %d", got_sig[SIGHUP], sig_code[SIGHUP],
        got_sig[SIGCONT]);
    say("blocked reader (exit 5: EIO): %s", wait_child(g));
    char buf[8];
    int n = read(s, buf, sizeof buf);
    say("read after hang-up: %d", n);
    CHECK_ERR(write(s, "x", 1), EIO, "write after hang-up");
    struct termios t;
    CHECK_ERR(tcgetattr(s, &t), EIO, "tcgetattr after hang-up");
    CHECK_ERR(tcsetpgrp(s, getpgrp()), ENOTTY, "tcsetpgrp after hang-up");
    CHECK_ERR(ioctl(s, TIOCGPGRP, &n), EIO, "TIOCGPGRP after hang-up");
    struct pollfd p = {s, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM, 0};
    MUST(poll(&p, 1, 0));
    say("poll after hang-up: %#x", p.revents);
    CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "/dev/tty after hang-up");
    CHECK(fcntl(s, F_GETFL) != -1, "the file stays open");
}

static void hangup(void) {
    say("session: %s", in_child(in_hangup));
}

static void in_vhangup(void) {
    MUST(setsid());
    int s, m = pty_pair(&s, 0);
    catch_sig(SIGHUP);
    block(SIGHUP, SIG_BLOCK);
    CHECK(ioctl(s, TIOCVHANGUP) == 0, "TIOCVHANGUP");
    await_sig(SIGHUP);
    say("leader got SIGHUP %d", got_sig[SIGHUP]);
    char b[8];
    say("read after vhangup: %d", (int)read(s, b, sizeof b));
    CHECK_ERR(write(s, "x", 1), EIO, "write after vhangup");
    CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "no controlling tty");
    int s2 = open(ptsname(m), O_RDWR | O_NOCTTY);
    CHECK(s2 >= 0, "the slave opens again");
    put(s2, "new\n");
    expect(m, "new\r\n", "through the new file");
    CHECK(ioctl(s2, TIOCSCTTY, 0) == 0, "the leader takes it again");
    got_sig[SIGHUP] = 0;
    CHECK(vhangup() == 0, "vhangup()");
    await_sig(SIGHUP);
    CHECK_ERR(write(s2, "x", 1), EIO, "write after vhangup()");
    CHECK(fcntl(s2, F_GETFD) == 0, "still open");
}

static void vhangup_case(void) {
    say("session: %s", in_child(in_vhangup));
}

static void master_eio(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    put(s, "bye");
    close(s);
    struct pollfd p = {m, POLLIN | POLLOUT, 0};
    MUST(poll(&p, 1, 0));
    say("poll master, slave closed: %#x", p.revents);
    rd(m, 100, "read what was left");
    rd(m, 100, "then");
    CHECK(write(m, "x", 1) == 1, "master writes still work");
    int s2 = MUST(open(ptsname(m), O_RDWR | O_NOCTTY));
    settle(s2);
    p.revents = 0;
    MUST(poll(&p, 1, 0));
    say("poll master, slave reopened (the x was echoed): %#x", p.revents);
    close(s2);
    close(m);
    /* A master whose slave was never opened blocks instead. */
    m = MUST(posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK));
    char b[4];
    CHECK_ERR(read(m, b, 4), EAGAIN, "master with no slave yet");
    close(m);
}

static void in_leader_exit(void) {
    /* The session leader exits while a member of its foreground group lives on. */
    MUST(prctl(PR_SET_CHILD_SUBREAPER, 1));
    int s, m = pty_pair(&s, O_NOCTTY);
    close(s);
    int ready[2];
    MUST(pipe(ready));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        MUST(setsid());
        int s2 = MUST(open(ptsname(m), O_RDWR));
        close(m);
        (void)s2;
        pauser(ready[1]);
        wait_ready(ready[0]);
        _exit(0);
    }
    say("leader: %s", wait_child(c));
    int st;
    alarm(10);
    pid_t w = wait(&st);
    alarm(0);
    say("orphaned member: %s", w > 0 ? wdesc(st) : ename(errno));
    close(m);
}

/* The session leader holds the master itself and exits: it lets the terminal go (the
 * foreground group gets SIGHUP) before its files close. */
static int note_fd;
static void note_sig(int sig) {
    MUST(write(note_fd, sig == SIGHUP ? "H" : "C", 1));
}

/* A member of the caller's group that notes the SIGHUP and SIGCONT it gets on `notes`
 * (after telling `ready` it is set). */
static void noting_member(int notes, int ready) {
    pid_t g = MUST(fork());
    if (g == 0) {
        note_fd = notes;
        signal(SIGHUP, note_sig);
        signal(SIGCONT, note_sig);
        block(SIGHUP, SIG_UNBLOCK);
        MUST(write(ready, "r", 1));
        for (;;) pause();
    }
}

/* Reads `n` notes, prints them (sorted), then ends the member left in group `pgid`. */
static void member_report(int notes, int n, pid_t pgid) {
    char b[2] = {0, 0};
    alarm(10);
    for (int i = 0; i < n; i++) MUST(read(notes, b + i, 1));
    alarm(0);
    if (n == 2 && b[0] > b[1]) {
        char x = b[0];
        b[0] = b[1];
        b[1] = x;
    }
    say("member got %s", esc(b, n));
    MUST(kill(-pgid, SIGKILL));
    int st;
    alarm(10);
    pid_t w = wait(&st);
    alarm(0);
    say("member: %s", w > 0 ? wdesc(st) : ename(errno));
}

/* The session leader holds the master itself and exits: it lets the terminal go (the
 * foreground group gets SIGHUP) before its files close. */
static void in_leader_exit_master(void) {
    MUST(prctl(PR_SET_CHILD_SUBREAPER, 1));
    int ready[2], notes[2];
    MUST(pipe(ready));
    MUST(pipe(notes));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        MUST(setsid());
        int s;
        pty_pair(&s, 0);
        noting_member(notes[1], ready[1]);
        wait_ready(ready[0]);
        _exit(0);
    }
    say("leader: %s", wait_child(c));
    member_report(notes[0], 1, c);
}

/* The terminal hangs up while the leader lives on; when the leader exits, the group
 * that was in the foreground then gets SIGHUP and SIGCONT. */
static void in_exit_after_hangup(void) {
    MUST(prctl(PR_SET_CHILD_SUBREAPER, 1));
    int ready[2], notes[2], leader[2];
    MUST(pipe(ready));
    MUST(pipe(notes));
    MUST(pipe(leader));
    int s, m = pty_pair(&s, O_NOCTTY);
    close(s);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        MUST(setsid());
        MUST(open(ptsname(m), O_RDWR));
        close(m);
        catch_sig(SIGHUP);
        block(SIGHUP, SIG_BLOCK);
        noting_member(notes[1], ready[1]);
        wait_ready(ready[0]);
        MUST(write(leader[1], "R", 1));
        await_sig(SIGHUP);
        _exit(0);
    }
    wait_ready(leader[0]);
    close(m);
    say("leader: %s", wait_child(c));
    member_report(notes[0], 2, c);
}

static void exit_after_hangup(void) {
    say("subreaper: %s", in_child(in_exit_after_hangup));
}

static void leader_exit_master(void) {
    say("subreaper: %s", in_child(in_leader_exit_master));
}

static void leader_exit(void) {
    say("subreaper: %s", in_child(in_leader_exit));
}

static void in_devtty(void) {
    MUST(setsid());
    CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "no controlling terminal yet");
    int s, m = pty_pair(&s, O_NOCTTY);
    CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "O_NOCTTY did not take it");
    CHECK_ERR(tcgetpgrp(s), ENOTTY, "not our terminal");
    int w = MUST(open(ptsname(m), O_WRONLY));
    CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "a write-only open did not take it");
    close(w);
    CHECK_ERR(ioctl(s, TIOCNOTTY), ENOTTY, "TIOCNOTTY on a non-controlling tty");
    CHECK(ioctl(s, TIOCSCTTY, 0) == 0, "TIOCSCTTY");
    int t = open("/dev/tty", O_RDWR);
    CHECK(t >= 0, "/dev/tty opens");
    struct stat st;
    MUST(fstat(t, &st));
    say("/dev/tty is %u:%u", major(st.st_rdev), minor(st.st_rdev));
    char *tn = ttyname(t);
    say("ttyname(/dev/tty fd) %s", tn ? tn : ename(errno));
    CHECK(tcgetpgrp(t) == getpgrp(), "tcgetpgrp through /dev/tty");
    put(t, "via tty\n");
    expect(m, "via tty\r\n", "written through /dev/tty");
    put(m, "typed\n");
    rd(t, 100, "read through /dev/tty");
    expect(m, "typed\r\n", "echo");
    CHECK(ioctl(s, TIOCSCTTY, 0) == 0, "TIOCSCTTY again on the same tty");
    int s2, m2 = pty_pair(&s2, 0);
    CHECK_ERR(ioctl(s2, TIOCSCTTY, 0), EPERM, "TIOCSCTTY with a controlling tty already");
    CHECK_ERR(tcgetpgrp(s2), ENOTTY, "a second tty opened without O_NOCTTY is not taken");
    /* A child inherits the terminal; its TIOCNOTTY only affects itself. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        int x = open("/dev/tty", O_RDWR);
        CHECK(x >= 0, "child opens /dev/tty");
        CHECK_ERR(ioctl(x, TIOCSCTTY, 0), EPERM, "child is no session leader");
        CHECK(ioctl(x, TIOCNOTTY) == 0, "child TIOCNOTTY");
        CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "child has none now");
        CHECK_ERR(tcgetpgrp(x), ENOTTY, "child: not its terminal any more");
        _exit(t_failed);
    }
    say("child: %s", wait_child(c));
    int t3 = open("/dev/tty", O_RDWR);
    CHECK(t3 >= 0, "leader keeps it");
    /* The leader's TIOCNOTTY: the foreground group gets SIGHUP and SIGCONT. */
    catch_sig(SIGHUP);
    catch_sig(SIGCONT);
    block(SIGHUP, SIG_BLOCK);
    CHECK(ioctl(t, TIOCNOTTY) == 0, "leader TIOCNOTTY");
    await_sig(SIGHUP);
    say("leader got SIGHUP %d SIGCONT %d", got_sig[SIGHUP], got_sig[SIGCONT]);
    CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "gone");
    CHECK_ERR(tcgetpgrp(s), ENOTTY, "released");
    pid_t pg = -1;
    CHECK(ioctl(m, TIOCGPGRP, &pg) == 0 && pg == 0, "the terminal has no group now");
    /* An open /dev/tty file stays usable. */
    put(t, "still\n");
    expect(m, "still\r\n", "old /dev/tty file");
    close(m2);
    close(s2);
}

static void devtty(void) {
    say("session: %s", in_child(in_devtty));
}

static int steal_s;
static void in_steal_other(void) {
    MUST(setsid());
    CHECK_ERR(ioctl(steal_s, TIOCSCTTY, 0), EPERM, "the tty controls another session");
    CHECK(ioctl(steal_s, TIOCSCTTY, 1) == 0, "root steals it");
    CHECK(tcgetsid(steal_s) == getsid(0), "now ours");
}

static void in_sctty(void) {
    CHECK_ERR(ioctl(steal_s, TIOCSCTTY, 0), EPERM, "not a session leader");
    MUST(setsid());
    CHECK(ioctl(steal_s, TIOCSCTTY, 0) == 0, "session leader takes it");
    say("other session: %s", in_child(in_steal_other));
    CHECK_ERR(open("/dev/tty", O_RDWR), ENXIO, "the first session lost it");
}

static void sctty_rules(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    steal_s = s;
    say("session: %s", in_child(in_sctty));
    close(m);
    close(s);
}

static void in_sctty_master(void) {
    MUST(setsid());
    int s, m = pty_pair(&s, O_NOCTTY);
    CHECK(ioctl(m, TIOCSCTTY, 0) == 0, "TIOCSCTTY on the master");
    CHECK(tcgetpgrp(s) == getpgrp(), "the slave became the controlling tty");
    CHECK_ERR(ioctl(m, TIOCNOTTY), ENOTTY, "TIOCNOTTY on the master");
    int fg = getpgrp();
    CHECK(ioctl(m, TIOCSPGRP, &fg) == 0, "TIOCSPGRP on the master");
    close(s);
    close(m);
}

static void sctty_master(void) {
    say("session: %s", in_child(in_sctty_master));
}

static void poll_pty(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    struct pollfd p[2] = {{m, POLLIN | POLLOUT, 0}, {s, POLLIN | POLLOUT, 0}};
    MUST(poll(p, 2, 0));
    say("idle: master %#x slave %#x", p[0].revents, p[1].revents);
    put(m, "ab");
    settle(s);
    MUST(poll(p, 2, 0));
    say("partial line: master %#x slave %#x", p[0].revents, p[1].revents);
    put(m, "\n");
    settle(s);
    MUST(poll(p, 2, 0));
    say("line: master %#x slave %#x", p[0].revents, p[1].revents);
    char b[64];
    MUST(read(s, b, sizeof b));
    expect(m, "ab\r\n", "echo");
    MUST(poll(p, 2, 0));
    say("drained: master %#x slave %#x", p[0].revents, p[1].revents);
    /* select sees the same. */
    put(s, "out");
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(m, &r);
    FD_SET(s, &r);
    FD_SET(s, &w);
    struct timeval tv = {0, 0};
    int n = select((m > s ? m : s) + 1, &r, &w, NULL, &tv);
    say("select: %d master-readable %d slave-readable %d slave-writable %d", n,
        FD_ISSET(m, &r), FD_ISSET(s, &r), FD_ISSET(s, &w));
    expect(m, "out", "output");
    /* A blocking poll wakes when the other side writes. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        struct pollfd q = {s, POLLIN, 0};
        alarm(10);
        int r2 = poll(&q, 1, -1);
        say("child poll: %d %#x", r2, q.revents);
        _exit(0);
    }
    put(m, "wake\n");
    say("poller: %s", wait_child(c));
    rd(s, 100, "line");
    expect(m, "wake\r\n", "echo");
    close(m);
    close(s);
}

/* Ready events of the master (tag 1) and the slave (tag 2) in an epoll set. */
static void epoll_show(int ep, int timeout, const char *what) {
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, timeout);
    unsigned m = 0, s = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u32 == 1) m = ev[i].events;
        if (ev[i].data.u32 == 2) s = ev[i].events;
    }
    say("%s: %d ready, master %#x slave %#x", what, n, m, s);
}

static void epoll_pty(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    int ep = MUST(epoll_create1(EPOLL_CLOEXEC));
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = 1};
    MUST(epoll_ctl(ep, EPOLL_CTL_ADD, m, &e));
    e.data.u32 = 2;
    MUST(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
    epoll_show(ep, 0, "idle");
    put(m, "ab");
    settle(s);
    epoll_show(ep, 0, "partial line (echo only)");
    char b[64];
    MUST(read(m, b, sizeof b));
    put(m, "\n");
    settle(s);
    epoll_show(ep, 0, "a line");
    MUST(read(s, b, sizeof b));
    MUST(read(m, b, sizeof b));
    epoll_show(ep, 0, "drained");
    /* A blocked epoll_wait wakes for input. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        struct epoll_event one;
        alarm(10);
        int n = epoll_wait(ep, &one, 1, -1);
        say("child epoll_wait: %d tag %u", n, n > 0 ? one.data.u32 : 0);
        _exit(0);
    }
    MUST(write(s, "out", 3));
    say("waiter: %s", wait_child(c));
    /* The slave's hang-up shows as EPOLLHUP on the master. */
    MUST(read(m, b, sizeof b));
    close(s);
    e.events = EPOLLIN | EPOLLOUT;
    e.data.u32 = 1;
    MUST(epoll_ctl(ep, EPOLL_CTL_MOD, m, &e));
    epoll_show(ep, 0, "slave closed");
    close(m);
    close(ep);
}

static void flush_flow(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    int n;
    put(m, "typed\nmore\n");
    settle(s);
    MUST(ioctl(s, TIOCINQ, &n));
    say("inq %d", n);
    expect(m, "typed\r\nmore\r\n", "echo");
    CHECK(tcflush(s, TCIFLUSH) == 0, "tcflush(slave, TCIFLUSH)");
    MUST(ioctl(s, TIOCINQ, &n));
    say("inq after flush %d", n);
    typed(m, s, "new\n", "after flush", "new\r\n");
    put(s, "unread");
    CHECK(tcflush(m, TCIFLUSH) == 0, "tcflush(master, TCIFLUSH)");
    MUST(ioctl(m, TIOCOUTQ, &n));
    say("outq %d", n);
    put(s, "seen");
    expect(m, "seen", "after master flush");
    CHECK_ERR(tcflush(s, 7), EINVAL, "tcflush bad queue");
    CHECK(tcdrain(s) == 0, "tcdrain");
    CHECK(tcsendbreak(s, 0) == 0, "tcsendbreak");
    /* Output stopped: by tcflow and by ^S (IXON), started by ^Q. */
    int fl = fcntl(s, F_GETFL);
    MUST(fcntl(s, F_SETFL, fl | O_NONBLOCK));
    CHECK(tcflow(s, TCOOFF) == 0, "tcflow TCOOFF");
    CHECK_ERR(write(s, "x", 1), EAGAIN, "stopped output");
    CHECK(tcflow(s, TCOON) == 0, "tcflow TCOON");
    CHECK(write(s, "y", 1) == 1, "output again");
    expect(m, "y", "output");
    put(m, "\023");
    settle(s);
    CHECK_ERR(write(s, "x", 1), EAGAIN, "stopped by ^S");
    struct pollfd p = {s, POLLOUT, 0};
    say("poll stopped: %d", poll(&p, 1, 0));
    put(m, "\021");
    settle(s);
    CHECK(write(s, "z", 1) == 1, "started by ^Q");
    expect(m, "z", "output");
    CHECK_ERR(tcflow(s, 9), EINVAL, "tcflow bad action");
    CHECK(tcflow(s, TCIOFF) == 0, "tcflow TCIOFF");
    expect(m, "\023", "STOP character sent");
    CHECK(tcflow(s, TCION) == 0, "tcflow TCION");
    expect(m, "\021", "START character sent");
    MUST(fcntl(s, F_SETFL, fl));
    /* TIOCSTI (root). */
    char c = 'q';
    CHECK(ioctl(s, TIOCSTI, &c) == 0, "TIOCSTI");
    c = '\n';
    CHECK(ioctl(s, TIOCSTI, &c) == 0, "TIOCSTI newline");
    rd(s, 100, "pushed input");
    expect(m, "q\r\n", "echo");
    quiet(m, "master");
    close(m);
    close(s);
}

static volatile int intr_m;
static void on_alrm(int sig) {
    (void)sig;
    got_sig[SIGALRM]++;
    if (got_sig[SIGALRM] == 2) MUST(write(intr_m, "late\n", 5));
}

static void interrupted(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    intr_m = m;
    struct sigaction sa = {0};
    sa.sa_handler = on_alrm;
    MUST(sigaction(SIGALRM, &sa, NULL));
    ualarm(100000, 0);
    char b[16];
    CHECK_ERR(read(s, b, sizeof b), EINTR, "slave read interrupted");
    sa.sa_flags = SA_RESTART;
    MUST(sigaction(SIGALRM, &sa, NULL));
    ualarm(100000, 0);
    int n = read(s, b, sizeof b);
    say("restarted read: %d \"%s\"", n, esc(b, n > 0 ? n : 0));
    expect(m, "late\r\n", "echo");
    /* A master read too. */
    sa.sa_flags = 0;
    MUST(sigaction(SIGALRM, &sa, NULL));
    ualarm(100000, 0);
    CHECK_ERR(read(m, b, sizeof b), EINTR, "master read interrupted");
    signal(SIGALRM, SIG_DFL);
    close(m);
    close(s);
}

static void packet_mode(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    int on = 1;
    CHECK(ioctl(m, TIOCPKT, &on) == 0, "TIOCPKT");
    int v = -1;
    CHECK(ioctl(m, TIOCGPKT, &v) == 0 && v == 1, "TIOCGPKT");
    CHECK_ERR(ioctl(s, TIOCPKT, &on), ENOTTY, "TIOCPKT on the slave");
    put(s, "hi");
    rd(m, 100, "packet data");
    put(m, "x\n");
    rd(s, 100, "slave");
    rd(m, 100, "echo packet");
    put(m, "y");
    settle(s);
    tcflush(s, TCIFLUSH);
    rd(m, 100, "echo packet");
    rd(m, 100, "flush status");
    on = 0;
    MUST(ioctl(m, TIOCPKT, &on));
    put(s, "plain");
    rd(m, 100, "packet mode off");
    close(m);
    close(s);
}

static void large_io(void) {
    int s, m = pty_pair(&s, O_NOCTTY);
    struct termios t;
    MUST(tcgetattr(s, &t));
    cfmakeraw(&t);
    MUST(tcsetattr(s, TCSANOW, &t));
    /* 64 KiB each way, with the other side reading in a child. */
    static char big[65536];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = 'a' + i % 26;
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        static char got[65536];
        int n = 0;
        alarm(20);
        while (n < (int)sizeof got) {
            int r = read(s, got + n, sizeof got - n);
            if (r <= 0) break;
            n += r;
        }
        say("slave read %d, same %d", n, !memcmp(got, big, sizeof big));
        _exit(0);
    }
    int w = 0;
    while (w < (int)sizeof big) w += MUST(write(m, big + w, sizeof big - w));
    say("reader: %s", wait_child(c));
    c = MUST(fork());
    if (c == 0) {
        int w2 = 0;
        while (w2 < (int)sizeof big) w2 += MUST(write(s, big + w2, sizeof big - w2));
        _exit(0);
    }
    static char got[65536];
    int n = 0;
    alarm(20);
    while (n < (int)sizeof got) {
        int r = read(m, got + n, sizeof got - n);
        if (r <= 0) break;
        n += r;
    }
    alarm(0);
    say("master read %d, same %d", n, !memcmp(got, big, sizeof big));
    say("writer: %s", wait_child(c));
    /* A full canonical line keeps taking characters (the last one is replaced). */
    MUST(tcsetattr(s, TCSANOW, &(struct termios){0}));
    t.c_lflag = ICANON;
    t.c_iflag = 0;
    t.c_oflag = 0;
    MUST(tcsetattr(s, TCSANOW, &t));
    static char line[5000];
    memset(line, 'x', sizeof line);
    line[sizeof line - 1] = '\n';
    MUST(write(m, line, sizeof line));
    n = read(s, got, sizeof got);
    say("long line read %d, ends with newline %d", n, n > 0 && got[n - 1] == '\n');
    close(m);
    close(s);
}

int main(int argc, char **argv) {
    struct tcase cases[] = {
        CASE(pty_basics),  CASE(termios_defaults), CASE(canonical),    CASE(echo_modes),
        CASE(raw_mode),    CASE(isig_signals),     CASE(job_control),  CASE(winsize),
        CASE(hangup),      CASE(vhangup_case),     CASE(master_eio),       CASE(leader_exit),  CASE(leader_exit_master), CASE(exit_after_hangup),  CASE(devtty),
        CASE(sctty_rules), CASE(sctty_master),     CASE(poll_pty),  CASE(epoll_pty),     CASE(flush_flow),
        CASE(interrupted), CASE(packet_mode),      CASE(large_io),     {0, 0},
    };
    return run_cases(cases, argc, argv);
}
