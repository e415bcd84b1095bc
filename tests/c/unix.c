/* Unix domain sockets: socket/socketpair errors, stream, datagram and
 * seqpacket data paths, path-bound, abstract and autobound names, listen
 * backlogs and accept, SCM_RIGHTS and SCM_CREDENTIALS, socket options,
 * timeouts and signal restarts, poll readiness, send-buffer limits,
 * sendmmsg/recvmmsg, /proc/net/unix, bad pointers, and several processes
 * passing descriptors. */
#include "t.h"
#include <poll.h>
#include <stddef.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif
#ifndef SIOCINQ
#define SIOCINQ FIONREAD
#endif

static void ign_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

static socklen_t mkaddr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path, path, sizeof a->sun_path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

/* An abstract address: NUL then NAME (LEN bytes, may hold NULs). */
static socklen_t mkabs(struct sockaddr_un *a, const char *name, size_t len) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, len);
    return offsetof(struct sockaddr_un, sun_path) + 1 + len;
}

/* A unique abstract name per process (pids never reach the output). */
static socklen_t uabs(struct sockaddr_un *a, const char *tag) {
    char n[64];
    int len = snprintf(n, sizeof n, "moat-t-%d-%s", getpid(), tag);
    return mkabs(a, n, len);
}

static int sock_pair(int type, int sv[2]) { return socketpair(AF_UNIX, type, 0, sv); }

/* Sends DATA with N descriptors FDS attached. */
static ssize_t send_fds(int s, const int *fds, int n, const char *data, size_t len) {
    char cbuf[CMSG_SPACE(sizeof(int) * 16)];
    struct iovec iov = {(void *)data, len};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (n > 0) {
        memset(cbuf, 0, sizeof cbuf);
        m.msg_control = cbuf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    return sendmsg(s, &m, 0);
}

/* Receives into BUF and up to ROOM descriptors (control space for ROOM
 * ints); returns the byte count, fills FDS/NFDS and FLAGS. */
static ssize_t recv_fds(int s, char *buf, size_t len, int *fds, int room, int *nfds, int *flags,
                        int rflags) {
    char cbuf[CMSG_SPACE(sizeof(int) * 64)];
    struct iovec iov = {buf, len};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = room < 0 ? 0 : (room == 0 ? sizeof(struct cmsghdr) : CMSG_LEN(sizeof(int) * room));
    if (room < 0) m.msg_control = NULL;
    ssize_t r = recvmsg(s, &m, rflags);
    *nfds = 0;
    if (flags) *flags = m.msg_flags;
    if (r < 0) return r;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
            *nfds += k;
        }
    }
    return r;
}

static int open_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 256; fd++)
        if (fcntl(fd, F_GETFD) != -1) n++;
    return n;
}

static short pollev(int fd, short ev) {
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, 0);
    return r < 0 ? -1 : p.revents;
}

static const char *evs(short e) {
    static char b[128];
    b[0] = 0;
    if (e & POLLIN) strcat(b, "IN ");
    if (e & POLLOUT) strcat(b, "OUT ");
    if (e & POLLHUP) strcat(b, "HUP ");
    if (e & POLLERR) strcat(b, "ERR ");
    if (e & POLLRDHUP) strcat(b, "RDHUP ");
    if (e & POLLPRI) strcat(b, "PRI ");
    if (e & POLLNVAL) strcat(b, "NVAL ");
    if (!b[0]) strcpy(b, "none");
    return b;
}

#define ALLPOLL (POLLIN | POLLOUT | POLLRDHUP | POLLPRI)

/* ------------------------------------------------------------------ */

static void create_errors(void) {
    CHECK_ERR(socket(46, SOCK_STREAM, 0), EAFNOSUPPORT, "family past AF_MAX");
    CHECK_ERR(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT, "negative family");
    CHECK_ERR(socket(1000, SOCK_DGRAM, 0), EAFNOSUPPORT, "family 1000");
    CHECK_ERR(socket(AF_UNIX, 11, 0), EINVAL, "type past SOCK_MAX");
    CHECK_ERR(socket(AF_UNIX, 0, 0), ESOCKTNOSUPPORT, "type 0");
    CHECK_ERR(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT, "SOCK_RDM");
    CHECK_ERR(socket(AF_UNIX, SOCK_PACKET, 0), ESOCKTNOSUPPORT, "SOCK_PACKET");
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL, "unknown type flag");
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM, 2), EPROTONOSUPPORT, "protocol 2");
    CHECK_ERR(socket(AF_UNIX, SOCK_RDM, 2), EPROTONOSUPPORT, "protocol checked before type");
    int s = socket(AF_UNIX, SOCK_STREAM, PF_UNIX);
    CHECK(s >= 0, "protocol PF_UNIX accepted");
    close(s);
    s = MUST(socket(AF_UNIX, SOCK_RAW, 0));
    int v = 0;
    socklen_t l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_DGRAM, "SOCK_RAW becomes SOCK_DGRAM");
    close(s);

    s = MUST(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    CHECK(fcntl(s, F_GETFL) & O_NONBLOCK, "SOCK_NONBLOCK sets O_NONBLOCK");
    CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC, "SOCK_CLOEXEC sets FD_CLOEXEC");
    CHECK((fcntl(s, F_GETFL) & O_ACCMODE) == O_RDWR, "sockets are O_RDWR");
    struct stat st;
    MUST(fstat(s, &st));
    CHECK(S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0777, "fstat: S_IFSOCK 0777");
    CHECK(st.st_nlink == 1 && st.st_size == 0 && st.st_blksize == 4096, "fstat: nlink 1, size 0, blksize 4096");
    char link[64], want[64];
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", s);
    ssize_t n = readlink(p, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    CHECK(strcmp(link, want) == 0, "/proc/self/fd shows socket:[ino]");
    CHECK_ERR(open(p, O_RDWR), ENXIO, "reopening a socket through /proc is ENXIO");
    CHECK_ERR(lseek(s, 0, SEEK_SET), ESPIPE, "lseek on a socket");
    CHECK_ERR(pread(s, p, 1, 0), ESPIPE, "pread on a socket");
    CHECK_ERR(fsync(s), EINVAL, "fsync on a socket");
    close(s);

    int sv[2];
    CHECK_ERR(socketpair(46, SOCK_STREAM, 0, sv), EAFNOSUPPORT, "socketpair: bad family");
    CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM | 0x100000, 0, sv), EINVAL, "socketpair: bad flag");
    CHECK_ERR(socketpair(AF_UNIX, SOCK_RDM, 0, sv), ESOCKTNOSUPPORT, "socketpair: SOCK_RDM");
    CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM, 9, sv), EPROTONOSUPPORT, "socketpair: bad protocol");
    CHECK_ERR(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (int *)8), EFAULT, "socketpair: bad pointer");
    CHECK_ERR(syscall(SYS_socketpair, 46, SOCK_STREAM, 0, (int *)8), EFAULT, "socketpair: EFAULT comes before the family check");
    int before = open_fds();
    CHECK_ERR(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (int *)8), EFAULT, "again");
    CHECK(open_fds() == before, "a failed socketpair leaves no fds behind");
    MUST(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    CHECK((fcntl(sv[0], F_GETFD) & FD_CLOEXEC) && (fcntl(sv[1], F_GETFD) & FD_CLOEXEC), "socketpair SOCK_CLOEXEC on both");
    struct stat a, b;
    fstat(sv[0], &a);
    fstat(sv[1], &b);
    CHECK(a.st_ino != b.st_ino && a.st_dev == b.st_dev, "each end has its own inode");

    /* Socket calls on things that are not sockets. */
    int pfd[2];
    MUST(pipe(pfd));
    struct sockaddr_un ad;
    socklen_t al = mkaddr(&ad, "/tmp/x");
    CHECK_ERR(bind(pfd[0], (void *)&ad, al), ENOTSOCK, "bind on a pipe");
    CHECK_ERR(connect(pfd[0], (void *)&ad, al), ENOTSOCK, "connect on a pipe");
    CHECK_ERR(listen(pfd[0], 1), ENOTSOCK, "listen on a pipe");
    CHECK_ERR(accept(pfd[0], NULL, NULL), ENOTSOCK, "accept on a pipe");
    CHECK_ERR(getsockname(pfd[0], (void *)&ad, &al), ENOTSOCK, "getsockname on a pipe");
    CHECK_ERR(getpeername(pfd[0], (void *)&ad, &al), ENOTSOCK, "getpeername on a pipe");
    CHECK_ERR(send(pfd[1], "x", 1, 0), ENOTSOCK, "send on a pipe");
    CHECK_ERR(recv(pfd[0], p, 1, 0), ENOTSOCK, "recv on a pipe");
    CHECK_ERR(shutdown(pfd[0], SHUT_RD), ENOTSOCK, "shutdown on a pipe");
    l = sizeof v;
    CHECK_ERR(getsockopt(pfd[0], SOL_SOCKET, SO_TYPE, &v, &l), ENOTSOCK, "getsockopt on a pipe");
    CHECK_ERR(setsockopt(pfd[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), ENOTSOCK, "setsockopt on a pipe");
    CHECK_ERR(getsockopt(999, SOL_SOCKET, SO_TYPE, &v, &l), EBADF, "getsockopt on a closed fd");
    CHECK_ERR(bind(-1, (void *)&ad, al), EBADF, "bind on fd -1");
    CHECK_ERR(accept4(pfd[0], NULL, NULL, 0x7), EINVAL, "accept4 flags are checked before the fd");
    CHECK_ERR(accept4(999, NULL, NULL, 0), EBADF, "accept4 on a closed fd");
    struct msghdr m = {0};
    CHECK_ERR(sendmsg(pfd[1], &m, 0), ENOTSOCK, "sendmsg on a pipe");
    CHECK_ERR(recvmsg(pfd[0], &m, 0), ENOTSOCK, "recvmsg on a pipe");
    int opath = MUST(open("/tmp", O_PATH));
    CHECK_ERR(listen(opath, 1), EBADF, "listen on an O_PATH fd: EBADF");
}

static void stream_pair(void) {
    ign_sigpipe();
    int sv[2];
    MUST(sock_pair(SOCK_STREAM, sv));
    char b[64];
    CHECK(write(sv[0], "hello", 5) == 5, "write 5");
    CHECK(write(sv[0], " world", 6) == 6, "write 6");
    int n = 0;
    CHECK(ioctl(sv[1], FIONREAD, &n) == 0 && n == 11, "FIONREAD counts all queued bytes: %d", n);
    CHECK(ioctl(sv[0], SIOCINQ, &n) == 0 && n == 0, "nothing queued the other way");
    CHECK(recv(sv[1], b, 3, MSG_PEEK) == 3 && !memcmp(b, "hel", 3), "MSG_PEEK 3");
    CHECK(recv(sv[1], b, sizeof b, MSG_PEEK) == 11, "MSG_PEEK spans writes");
    CHECK(read(sv[1], b, 4) == 4 && !memcmp(b, "hell", 4), "read 4");
    CHECK(ioctl(sv[1], FIONREAD, &n) == 0 && n == 7, "FIONREAD after a partial read: %d", n);
    CHECK(read(sv[1], b, sizeof b) == 7 && !memcmp(b, "o world", 7), "read the rest across writes");
    CHECK_ERR(recv(sv[1], b, 1, MSG_DONTWAIT), EAGAIN, "empty: MSG_DONTWAIT is EAGAIN");
    CHECK(read(sv[1], b, 0) == 0, "zero-length read");
    struct iovec wv[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
    CHECK(writev(sv[1], wv, 3) == 5, "writev");
    char x[2], y[10];
    struct iovec rv[2] = {{x, 2}, {y, 10}};
    CHECK(readv(sv[0], rv, 2) == 5 && !memcmp(x, "ab", 2) && !memcmp(y, "cde", 3), "readv");
    CHECK(send(sv[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1, "send with flags");
    CHECK(recv(sv[1], b, sizeof b, MSG_TRUNC) == 1, "MSG_TRUNC on a stream reads normally");
    n = -1;
    CHECK(ioctl(sv[0], SIOCOUTQ, &n) == 0 && n == 0, "SIOCOUTQ is 0 once read");
    struct sockaddr_un sa;
    socklen_t l = sizeof sa;
    CHECK(getsockname(sv[0], (void *)&sa, &l) == 0 && l == 2 && sa.sun_family == AF_UNIX, "socketpair ends are unnamed");
    l = sizeof sa;
    CHECK(getpeername(sv[0], (void *)&sa, &l) == 0 && l == 2, "peer is unnamed");
    int v;
    l = sizeof v;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_STREAM && l == 4, "SO_TYPE");
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &l) == 0 && v == AF_UNIX, "SO_DOMAIN");
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PROTOCOL, &v, &l) == 0 && v == 0, "SO_PROTOCOL");
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v == 0, "SO_ACCEPTCONN 0");
    struct ucred uc;
    l = sizeof uc;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && l == sizeof uc && uc.pid == getpid() &&
              uc.uid == getuid() && uc.gid == getgid(),
          "SO_PEERCRED of a socketpair is the creator");

    /* MSG_WAITALL gathers several writes from another process. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        for (int i = 0; i < 4; i++) {
            usleep(20000);
            write(sv[0], "0123456789", 10);
        }
        _exit(0);
    }
    CHECK(recv(sv[1], b, 40, MSG_WAITALL) == 40, "MSG_WAITALL waits for all 40 bytes");
    wait_child(c);

    /* shutdown(SHUT_WR): the peer reads EOF after the data, the writer gets EPIPE. */
    CHECK(write(sv[0], "tail", 4) == 4, "data before shutdown");
    CHECK(shutdown(sv[0], SHUT_WR) == 0, "shutdown SHUT_WR");
    CHECK(read(sv[1], b, sizeof b) == 4, "data still readable");
    CHECK(read(sv[1], b, sizeof b) == 0, "then EOF");
    CHECK(recv(sv[1], b, sizeof b, MSG_WAITALL) == 0, "EOF with MSG_WAITALL");
    CHECK_ERR(write(sv[0], "x", 1), EPIPE, "write after SHUT_WR: EPIPE");
    CHECK(write(sv[1], "back", 4) == 4, "the other direction still works");
    CHECK(read(sv[0], b, sizeof b) == 4, "and is read");
    CHECK(shutdown(sv[1], SHUT_RD) == 0, "shutdown SHUT_RD");
    CHECK_ERR(shutdown(sv[1], 3), EINVAL, "shutdown how=3");
    CHECK_ERR(shutdown(sv[1], -1), EINVAL, "shutdown how=-1");

    /* Closing with unread data resets the peer: ECONNRESET once, then EOF. */
    MUST(sock_pair(SOCK_STREAM, sv));
    write(sv[0], "unread", 6);
    close(sv[1]);
    CHECK_ERR(read(sv[0], b, sizeof b), ECONNRESET, "peer closed with unread data: ECONNRESET");
    CHECK(read(sv[0], b, sizeof b) == 0, "then EOF");
    CHECK_ERR(write(sv[0], "x", 1), EPIPE, "write to a closed peer: EPIPE");
    MUST(sock_pair(SOCK_STREAM, sv));
    close(sv[1]);
    CHECK(read(sv[0], b, sizeof b) == 0, "clean close: EOF");
    v = 99;
    l = sizeof v;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &l) == 0 && v == 0, "SO_ERROR 0 after a clean close");

    /* SIGPIPE on EPIPE unless MSG_NOSIGNAL. */
    signal(SIGPIPE, SIG_DFL);
    fflush(stdout);
    c = MUST(fork());
    if (c == 0) {
        send(sv[0], "x", 1, MSG_NOSIGNAL);
        say("survived MSG_NOSIGNAL");
        write(sv[0], "x", 1);
        say("not reached");
        _exit(0);
    }
    say("writer: %s", wait_child(c));

    /* A stream socket that is not connected. */
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(write(s, "x", 1), ENOTCONN, "write unconnected: ENOTCONN");
    CHECK_ERR(read(s, b, 1), EINVAL, "read unconnected: EINVAL");
    CHECK_ERR(recv(s, b, 1, MSG_DONTWAIT), EINVAL, "recv unconnected: EINVAL");
    l = sizeof sa;
    CHECK_ERR(getpeername(s, (void *)&sa, &l), ENOTCONN, "getpeername unconnected");
    CHECK(shutdown(s, SHUT_RDWR) == 0, "shutdown of an unconnected socket succeeds");
    struct sockaddr_un to;
    socklen_t tl = mkaddr(&to, "/nonexistent");
    CHECK_ERR(sendto(sv[0], "x", 1, 0, (void *)&to, tl), EISCONN, "sendto with an address on a connected stream: EISCONN");
    CHECK_ERR(sendto(s, "x", 1, 0, (void *)&to, tl), EOPNOTSUPP, "sendto with an address on an unconnected stream");
    CHECK_ERR(sendto(s, "x", 1, 0, (void *)&to, 0), ENOTCONN, "an address of length 0 is no address");
}

static void dgram_pair(void) {
    int sv[2];
    MUST(sock_pair(SOCK_DGRAM, sv));
    char b[64];
    CHECK(send(sv[0], "one", 3, 0) == 3, "send one");
    CHECK(send(sv[0], "", 0, 0) == 0, "send an empty datagram");
    CHECK(send(sv[0], "three33", 7, 0) == 7, "send three");
    int n = -1;
    CHECK(ioctl(sv[1], FIONREAD, &n) == 0 && n == 3, "FIONREAD is the next datagram's size");
    CHECK(recv(sv[1], b, sizeof b, 0) == 3 && !memcmp(b, "one", 3), "boundaries kept");
    CHECK(ioctl(sv[1], FIONREAD, &n) == 0 && n == 0, "FIONREAD of an empty datagram");
    CHECK(recv(sv[1], b, sizeof b, 0) == 0, "the empty datagram");
    CHECK(recv(sv[1], b, 2, MSG_PEEK) == 2, "peek 2 of 7");
    struct iovec iov = {b, 2};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CHECK(recvmsg(sv[1], &m, MSG_PEEK) == 2 && (m.msg_flags & MSG_TRUNC), "peek truncated: MSG_TRUNC");
    CHECK(recv(sv[1], b, 2, MSG_TRUNC) == 7 && !memcmp(b, "th", 2), "MSG_TRUNC returns the real length");
    CHECK_ERR(recv(sv[1], b, 2, MSG_DONTWAIT), EAGAIN, "the rest was discarded");
    send(sv[0], "abcdef", 6, 0);
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CHECK(recvmsg(sv[1], &m, 0) == 2 && (m.msg_flags & MSG_TRUNC), "truncating read sets MSG_TRUNC");
    CHECK(write(sv[1], "back", 4) == 4, "the other direction");
    CHECK(read(sv[0], b, sizeof b) == 4, "read back");
    int v;
    socklen_t l = sizeof v;
    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l);
    static char big[300000];
    CHECK_ERR(send(sv[0], big, v - 31, 0), EMSGSIZE, "a datagram over sndbuf-32: EMSGSIZE");
    v = 8192;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    CHECK_ERR(send(sv[0], big, 16384 - 31, 0), EMSGSIZE, "after SO_SNDBUF 8192");
    CHECK(send(sv[0], big, 16384 - 32, 0) == 16384 - 32, "the largest datagram fits");
    CHECK(recv(sv[1], big, sizeof big, 0) == 16384 - 32, "and arrives whole");
    /* The largest datagram is bounded by the largest kernel allocation: ENOBUFS. */
    v = 64 << 20;
    MUST(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v));
    char *huge = MUSTP(malloc(8 << 20));
    CHECK(send(sv[0], huge, 4263616, 0) == 4263616 && recv(sv[1], huge, 8 << 20, 0) == 4263616, "a 4263616-byte datagram");
    CHECK_ERR(send(sv[0], huge, 4263617, 0), ENOBUFS, "one byte more: ENOBUFS");
    free(huge);
    /* Sending from a multi-part iovec makes one datagram. */
    struct iovec parts[3] = {{"ab", 2}, {"cd", 2}, {"ef", 2}};
    CHECK(writev(sv[0], parts, 3) == 6, "writev 3 parts");
    CHECK(recv(sv[1], b, sizeof b, 0) == 6, "is one datagram");
    /* Shutdown on a datagram socket. */
    CHECK(shutdown(sv[0], SHUT_WR) == 0, "shutdown SHUT_WR");
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE, "send after SHUT_WR: EPIPE");
    CHECK(send(sv[1], "y", 1, 0) == 1, "the peer can still send");
    CHECK(shutdown(sv[0], SHUT_RD) == 0, "shutdown SHUT_RD");
    CHECK(recv(sv[0], b, 1, 0) == 1, "queued data is still read");
    CHECK(recv(sv[0], b, 1, 0) == 0, "then 0");
    CHECK_ERR(recv(sv[0], b, 1, MSG_DONTWAIT), EAGAIN, "non-blocking: EAGAIN");
    CHECK_ERR(send(sv[1], "z", 1, 0), EPIPE, "sending to a socket shut for reading: EPIPE");
    /* Peer closed. */
    MUST(sock_pair(SOCK_DGRAM, sv));
    send(sv[1], "q", 1, 0);
    close(sv[1]);
    CHECK(recv(sv[0], b, 1, 0) == 1, "queued datagram survives the sender's close");
    CHECK_ERR(send(sv[0], "x", 1, 0), ECONNREFUSED, "send to a closed peer: ECONNREFUSED");
    CHECK_ERR(send(sv[0], "x", 1, 0), ENOTCONN, "then ENOTCONN");
    int s = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    CHECK_ERR(send(s, "x", 1, 0), ENOTCONN, "unconnected send without address: ENOTCONN");
    CHECK_ERR(recv(s, b, 1, MSG_DONTWAIT), EAGAIN, "unconnected recv: EAGAIN");
    CHECK_ERR(send(s, "x", 1, MSG_OOB), EOPNOTSUPP, "MSG_OOB on a datagram socket");
    CHECK_ERR(recv(s, b, 1, MSG_OOB), EOPNOTSUPP, "recv MSG_OOB on a datagram socket");
    CHECK_ERR(listen(s, 1), EOPNOTSUPP, "listen on a datagram socket");
    CHECK_ERR(accept(s, NULL, NULL), EOPNOTSUPP, "accept on a datagram socket");
}

static void seqpacket_pair(void) {
    ign_sigpipe();
    int sv[2];
    MUST(sock_pair(SOCK_SEQPACKET, sv));
    char b[64];
    send(sv[0], "first", 5, 0);
    send(sv[0], "second", 6, 0);
    int n;
    CHECK(ioctl(sv[1], FIONREAD, &n) == 0 && n == 11, "seqpacket FIONREAD sums the queue: %d", n);
    CHECK(recv(sv[1], b, sizeof b, 0) == 5, "record 1");
    struct iovec iov = {b, 3};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CHECK(recvmsg(sv[1], &m, 0) == 3 && (m.msg_flags & MSG_TRUNC), "record 2 truncated");
    CHECK_ERR(recv(sv[1], b, 1, MSG_DONTWAIT), EAGAIN, "rest discarded");
    CHECK(send(sv[0], "", 0, 0) == 0, "empty record");
    CHECK(recv(sv[1], b, sizeof b, 0) == 0, "empty record received");
    send(sv[0], "unread", 6, 0);
    close(sv[1]);
    CHECK_ERR(send(sv[0], "x", 1, 0), ECONNRESET, "peer closed with our data unread: ECONNRESET");
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE, "then EPIPE");
    CHECK(recv(sv[0], b, 1, 0) == 0, "recv: EOF");
    CHECK(recv(sv[0], b, 1, MSG_DONTWAIT) == 0, "non-blocking recv: EOF too");
    MUST(sock_pair(SOCK_SEQPACKET, sv));
    signal(SIGPIPE, SIG_DFL);
    close(sv[1]);
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE, "send to a closed seqpacket peer: EPIPE without SIGPIPE");
    ign_sigpipe();
    int s = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK_ERR(send(s, "x", 1, 0), ENOTCONN, "unconnected seqpacket send");
    CHECK_ERR(recv(s, b, 1, 0), ENOTCONN, "unconnected seqpacket recv");
    int v;
    socklen_t l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_SEQPACKET, "SO_TYPE seqpacket");
}

static void bind_path(void) {
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, tpath("s1"));
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    umask(022);
    CHECK(bind(s, (void *)&a, al) == 0, "bind to a path");
    struct stat st;
    CHECK(lstat(tpath("s1"), &st) == 0 && S_ISSOCK(st.st_mode), "the path is a socket node");
    CHECK((st.st_mode & 0777) == 0755, "mode 0777 less the umask: %o", st.st_mode & 0777);
    struct sockaddr_un g;
    socklen_t gl = sizeof g;
    CHECK(getsockname(s, (void *)&g, &gl) == 0 && gl == al && !strcmp(g.sun_path, tpath("s1")), "getsockname gives the path");
    gl = 4;
    memset(&g, 'Z', sizeof g);
    CHECK(getsockname(s, (void *)&g, &gl) == 0 && gl == al && g.sun_path[2] == 'Z', "short buffer: truncated copy, full length");
    struct sockaddr_un a2;
    socklen_t al2 = mkaddr(&a2, tpath("s2"));
    CHECK_ERR(bind(s, (void *)&a2, al2), EINVAL, "binding a bound socket: EINVAL");
    CHECK_ERR(lstat(tpath("s2"), &st), ENOENT, "and the new node is removed again");
    int s2 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(bind(s2, (void *)&a, al), EADDRINUSE, "bind to an existing socket path: EADDRINUSE");
    put_file(tpath("f"), "x", 1, 0644);
    struct sockaddr_un af;
    socklen_t afl = mkaddr(&af, tpath("f"));
    CHECK_ERR(bind(s2, (void *)&af, afl), EADDRINUSE, "bind to an existing file: EADDRINUSE");
    struct sockaddr_un an;
    socklen_t anl = mkaddr(&an, tpath("nodir/s"));
    CHECK_ERR(bind(s2, (void *)&an, anl), ENOENT, "bind in a missing directory: ENOENT");
    anl = mkaddr(&an, tpath("f/s"));
    CHECK_ERR(bind(s2, (void *)&an, anl), ENOTDIR, "bind under a file: ENOTDIR");
    anl = mkaddr(&an, tpath("slash/"));
    CHECK_ERR(bind(s2, (void *)&an, anl), ENOENT, "trailing slash: ENOENT");
    CHECK_ERR(bind(s2, (void *)&a, 1), EINVAL, "address length 1");
    CHECK_ERR(bind(s2, (void *)&a, 0), EINVAL, "address length 0");
    CHECK_ERR(bind(s2, (void *)&a, sizeof a + 1), EINVAL, "address length 111");
    CHECK_ERR(bind(s2, (void *)&a, 200), EINVAL, "address length 200");
    CHECK_ERR(bind(s2, (void *)&a, -1), EINVAL, "address length -1");
    a.sun_family = AF_INET;
    CHECK_ERR(bind(s2, (void *)&a, al), EINVAL, "wrong family");
    a.sun_family = AF_UNIX;
    CHECK_ERR(bind(s2, (void *)1, al), EFAULT, "bad address pointer");
    /* A path without a NUL inside the given length is cut at the length. */
    char rel[32];
    snprintf(rel, sizeof rel, "%s", "rel-sock");
    MUST(chdir(tmpdir()));
    struct sockaddr_un r;
    memset(&r, 'Q', sizeof r);
    r.sun_family = AF_UNIX;
    memcpy(r.sun_path, rel, strlen(rel));
    CHECK(bind(s2, (void *)&r, offsetof(struct sockaddr_un, sun_path) + strlen(rel)) == 0, "relative path without NUL");
    CHECK(lstat(tpath("rel-sock"), &st) == 0 && S_ISSOCK(st.st_mode), "created in the cwd");
    gl = sizeof g;
    getsockname(s2, (void *)&g, &gl);
    CHECK(gl == offsetof(struct sockaddr_un, sun_path) + strlen(rel) + 1 && !strcmp(g.sun_path, rel), "getsockname gives the relative path, NUL-terminated");

    /* Connect errors by path. */
    int c = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(connect(c, (void *)&a, al), ECONNREFUSED, "connect to a bound, non-listening socket");
    CHECK_ERR(connect(c, (void *)&af, afl), ECONNREFUSED, "connect to a regular file");
    anl = mkaddr(&an, tpath("missing"));
    CHECK_ERR(connect(c, (void *)&an, anl), ENOENT, "connect to a missing path");
    MUST(listen(s, 5));
    int d = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    CHECK_ERR(connect(d, (void *)&a, al), EPROTOTYPE, "datagram connect to a stream socket: EPROTOTYPE");
    CHECK_ERR(sendto(d, "x", 1, 0, (void *)&a, al), EPROTOTYPE, "sendto a stream socket: EPROTOTYPE");
    int sq = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK_ERR(connect(sq, (void *)&a, al), EPROTOTYPE, "seqpacket connect to a stream socket: EPROTOTYPE");
    CHECK(connect(c, (void *)&a, al) == 0, "connect to the listener");
    CHECK_ERR(connect(c, (void *)&a, al), EISCONN, "connect again: EISCONN");
    CHECK_ERR(connect(c, (void *)&an, anl), ENOENT, "connect again to a missing path: ENOENT first");
    int srv = MUST(accept(s, NULL, NULL));
    CHECK(write(c, "hi", 2) == 2 && read(srv, rel, 2) == 2, "data flows");
    /* A symlink to the socket works. */
    MUST(symlink(tpath("s1"), tpath("link")));
    int c2 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un al_;
    socklen_t all = mkaddr(&al_, tpath("link"));
    CHECK(connect(c2, (void *)&al_, all) == 0, "connect through a symlink");
    close(MUST(accept(s, NULL, NULL)));
    /* Unlinking the path: established connections live on, new connects fail. */
    MUST(unlink(tpath("s1")));
    int c3 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(connect(c3, (void *)&a, al), ENOENT, "after unlink: ENOENT");
    CHECK(write(srv, "yo", 2) == 2 && read(c, rel, 2) == 2, "the old connection still works");
    gl = sizeof g;
    CHECK(getsockname(s, (void *)&g, &gl) == 0 && !strcmp(g.sun_path, tpath("s1")), "the listener keeps its name");
    int s3 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK(bind(s3, (void *)&a, al) == 0 && listen(s3, 1) == 0, "the path can be bound again");
    CHECK(connect(c3, (void *)&a, al) == 0, "and reaches the new listener");
    close(s);
    close(s3);
    int c4 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(connect(c4, (void *)&a, al), ECONNREFUSED, "a closed listener leaves a node that refuses");
    CHECK(lstat(tpath("s1"), &st) == 0, "the node stays after close");
    /* Renaming the node keeps the binding. */
    int s4 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a4;
    socklen_t al4 = mkaddr(&a4, tpath("s4"));
    MUST(bind(s4, (void *)&a4, al4));
    MUST(listen(s4, 1));
    MUST(rename(tpath("s4"), tpath("s4b")));
    struct sockaddr_un a4b;
    socklen_t al4b = mkaddr(&a4b, tpath("s4b"));
    int c5 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK(connect(c5, (void *)&a4b, al4b) == 0, "connect to the renamed node");
    gl = sizeof g;
    getsockname(s4, (void *)&g, &gl);
    CHECK(!strcmp(g.sun_path, tpath("s4")), "getsockname keeps the name bound");
    /* mknod'ed socket nodes have no socket behind them. */
    MUST(mknod(tpath("fake"), S_IFSOCK | 0666, 0));
    struct sockaddr_un ak;
    socklen_t akl = mkaddr(&ak, tpath("fake"));
    int c6 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(connect(c6, (void *)&ak, akl), ECONNREFUSED, "a mknod socket node refuses");
    CHECK_ERR(open(tpath("fake"), O_RDONLY), ENXIO, "open on a socket node: ENXIO");
}

/* A socket bound outside /tmp: the root's writable layer under moat (an overlay), the
 * host's /var/tmp natively; a private directory, removed at the end. */
static void bind_var_tmp(void) {
    char dir[64] = "/var/tmp/moat-t-XXXXXX";
    if (!mkdtemp(dir)) {
        say("no /var/tmp");
        return;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/sock", dir);
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, path);
    int s = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK(bind(s, (void *)&a, al) == 0, "bind in /var/tmp");
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode), "a socket node there");
    MUST(listen(s, 1));
    int c = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK(connect(c, (void *)&a, al) == 0, "connect by that path");
    int acc = MUST(accept(s, NULL, NULL));
    char b[8];
    CHECK(send(c, "var", 3, 0) == 3 && recv(acc, b, sizeof b, 0) == 3, "data flows");
    int s2 = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK_ERR(bind(s2, (void *)&a, al), EADDRINUSE, "the path is in use");
    MUST(unlink(path));
    MUST(rmdir(dir));
}

static void perms(void) {
    /* Permission checks as an unprivileged user. */
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, tpath("ps"));
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    umask(0);
    MUST(bind(s, (void *)&a, al));
    MUST(listen(s, 5));
    MUST(chmod(tpath("ps"), 0755));
    MUST(mkdir(tpath("ro"), 0755));
    MUST(chmod(tmpdir(), 0755));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        MUST(setgid(65534));
        MUST(setuid(65534));
        int x = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
        CHECK_ERR(connect(x, (void *)&a, al), EACCES, "connect without write permission on the node: EACCES");
        struct sockaddr_un b;
        socklen_t bl = mkaddr(&b, tpath("ro/s"));
        CHECK_ERR(bind(x, (void *)&b, bl), EACCES, "bind in a directory without write permission: EACCES");
        int d = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
        CHECK_ERR(sendto(d, "x", 1, 0, (void *)&a, al), EACCES, "sendto without permission: EACCES");
        _exit(t_failed);
    }
    say("child: %s", wait_child(c));
    MUST(chmod(tpath("ps"), 0777));
    c = MUST(fork());
    if (c == 0) {
        MUST(setgid(65534));
        MUST(setuid(65534));
        int x = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
        CHECK(connect(x, (void *)&a, al) == 0, "connect with write permission");
        struct ucred uc;
        socklen_t l = sizeof uc;
        CHECK(getsockopt(x, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.uid == 0 && uc.gid == 0, "client sees the listener's credentials");
        _exit(t_failed);
    }
    int acc = MUST(accept(s, NULL, NULL));
    struct ucred uc;
    socklen_t l = sizeof uc;
    int r = getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &uc, &l);
    say("child: %s", wait_child(c));
    CHECK(r == 0 && uc.uid == 65534 && uc.gid == 65534 && uc.pid == c, "the accepted socket sees the client's credentials");
}

static void abstract_names(void) {
    struct sockaddr_un a, g;
    socklen_t al = uabs(&a, "abs1"), gl;
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK(bind(s, (void *)&a, al) == 0, "bind abstract");
    gl = sizeof g;
    CHECK(getsockname(s, (void *)&g, &gl) == 0 && gl == al && !memcmp(&g, &a, al), "getsockname returns the exact name");
    int s2 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(bind(s2, (void *)&a, al), EADDRINUSE, "abstract name in use: EADDRINUSE");
    int d = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    CHECK(bind(d, (void *)&a, al) == 0, "the same abstract name for another socket type");
    CHECK_ERR(connect(MUST(socket(AF_UNIX, SOCK_DGRAM, 0)), (void *)&a, al - 1), ECONNREFUSED, "a prefix of the name is another name");
    MUST(listen(s, 1));
    int c = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK(connect(c, (void *)&a, al) == 0, "connect abstract");
    int acc = MUST(accept(s, (void *)&g, (gl = sizeof g, &gl)));
    CHECK(gl == 2, "accept reports the unnamed client with length 2");
    gl = sizeof g;
    CHECK(getsockname(acc, (void *)&g, &gl) == 0 && gl == al && !memcmp(&g, &a, al), "accepted socket has the listener's name");
    gl = sizeof g;
    CHECK(getpeername(c, (void *)&g, &gl) == 0 && gl == al && !memcmp(&g, &a, al), "client's peer is the listener's name");
    close(s);
    close(acc);
    close(d);
    s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK(bind(s, (void *)&a, al) == 0, "a closed socket frees its abstract name");
    /* Names with NULs inside. */
    struct sockaddr_un z;
    char zn[8] = {'a', 0, 'b', 0, 0};
    socklen_t zl = mkabs(&z, zn, 5);
    int s3 = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    CHECK(bind(s3, (void *)&z, zl) == 0, "abstract name with NULs");
    int s4 = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    CHECK_ERR(bind(s4, (void *)&z, zl), EADDRINUSE, "same bytes: in use");
    CHECK(bind(s4, (void *)&z, zl - 1) == 0, "one byte shorter is another name");
    CHECK(sendto(s4, "to-z", 4, 0, (void *)&z, zl) == 4, "sendto the NUL-containing name");
    char b[16];
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    CHECK(recvfrom(s3, b, sizeof b, 0, (void *)&from, &fl) == 4 && fl == zl - 1 && !memcmp(&from, &z, fl),
          "recvfrom reports the sender's abstract name");
    CHECK_ERR(connect(MUST(socket(AF_UNIX, SOCK_STREAM, 0)), (void *)&z, zl), ECONNREFUSED,
              "stream connect to a datagram abstract name: ECONNREFUSED");
    /* Autobind. */
    int ab = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    CHECK(bind(ab, (void *)&fam, sizeof(sa_family_t)) == 0, "bind with only the family: autobind");
    gl = sizeof g;
    CHECK(getsockname(ab, (void *)&g, &gl) == 0 && gl == 8 && g.sun_path[0] == 0, "autobound: NUL and 5 characters");
    int hex = 1;
    for (int i = 1; i < 6; i++)
        if (!strchr("0123456789abcdef", g.sun_path[i])) hex = 0;
    CHECK(hex, "autobind name is 5 hex digits");
    struct sockaddr_un g2;
    socklen_t gl2 = sizeof g2;
    CHECK(bind(ab, (void *)&fam, sizeof(sa_family_t)) == 0, "autobind on a bound socket succeeds");
    getsockname(ab, (void *)&g2, &gl2);
    CHECK(gl2 == gl && !memcmp(&g, &g2, gl), "and keeps the name");
    CHECK_ERR(bind(ab, (void *)&a, al), EINVAL, "explicit bind after autobind: EINVAL");
    CHECK(sendto(s4, "auto", 4, 0, (void *)&g, gl) == 4, "an autobound name is reachable");
    CHECK(recv(ab, b, sizeof b, 0) == 4, "received");
    /* A listener's socket passing creds gets autobound on connect. */
    struct sockaddr_un ls;
    socklen_t lsl = uabs(&ls, "lsn");
    int l = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(bind(l, (void *)&ls, lsl));
    MUST(listen(l, 4));
    int pc = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    int one = 1;
    MUST(setsockopt(pc, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    MUST(connect(pc, (void *)&ls, lsl));
    gl = sizeof g;
    getsockname(pc, (void *)&g, &gl);
    CHECK(gl == 8, "SO_PASSCRED client is autobound by connect");
    gl = sizeof g;
    int pa = MUST(accept(l, (void *)&g, &gl));
    CHECK(gl == 8 && g.sun_path[0] == 0, "accept reports the autobound client name");
    close(pa);
}

static void listen_accept(void) {
    ign_sigpipe();
    struct sockaddr_un a, g;
    socklen_t al = uabs(&a, "la"), gl;
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(listen(s, 1), EINVAL, "listen on an unbound socket: EINVAL");
    CHECK_ERR(accept(s, NULL, NULL), EINVAL, "accept on a non-listening socket: EINVAL");
    MUST(bind(s, (void *)&a, al));
    CHECK(listen(s, 0) == 0, "listen backlog 0");
    int v;
    socklen_t l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v == 1, "SO_ACCEPTCONN 1");
    CHECK(pollev(s, ALLPOLL) == 0, "idle listener polls nothing");
    fcntl(s, F_SETFL, O_NONBLOCK);
    CHECK_ERR(accept(s, NULL, NULL), EAGAIN, "non-blocking accept with nothing pending: EAGAIN");
    fcntl(s, F_SETFL, 0);
    int c1 = MUST(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    int c2 = MUST(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    CHECK(connect(c1, (void *)&a, al) == 0, "first connect with backlog 0 is queued");
    CHECK_ERR(connect(c2, (void *)&a, al), EAGAIN, "second: backlog full, EAGAIN");
    CHECK(pollev(s, ALLPOLL) == POLLIN, "listener with a pending connection: POLLIN");
    CHECK(write(c1, "early", 5) == 5, "a queued connection can already send");
    CHECK(pollev(c1, ALLPOLL) == POLLOUT, "queued client polls OUT");
    int a1 = accept4(s, (void *)&g, (gl = sizeof g, &gl), SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK(a1 >= 0 && gl == 2, "accept4 the first");
    CHECK((fcntl(a1, F_GETFL) & O_NONBLOCK) && (fcntl(a1, F_GETFD) & FD_CLOEXEC), "accept4 flags applied");
    char b[16];
    CHECK(read(a1, b, sizeof b) == 5, "reads what was sent before accept");
    CHECK(connect(c2, (void *)&a, al) == 0, "room again: second connect succeeds");
    int a2 = MUST(accept(s, NULL, NULL));
    CHECK(!(fcntl(a2, F_GETFL) & O_NONBLOCK), "accept does not inherit O_NONBLOCK");
    CHECK_ERR(accept4(s, NULL, NULL, O_APPEND), EINVAL, "accept4 with a bad flag");
    CHECK(listen(s, 2) == 0, "listen again changes the backlog");
    int cs[4];
    for (int i = 0; i < 4; i++) cs[i] = MUST(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    int ok = 0;
    for (int i = 0; i < 4; i++)
        if (connect(cs[i], (void *)&a, al) == 0) ok++;
    CHECK(ok == 3, "backlog 2 queues 3 connections: %d", ok);
    /* A blocking connect waits for room. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        int x = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
        int r = connect(x, (void *)&a, al);
        say("blocked connect returned %d", r);
        write(x, "late", 4);
        _exit(0);
    }
    usleep(100000);
    for (int i = 0; i < 3; i++) close(MUST(accept(s, NULL, NULL)));
    int late = MUST(accept(s, NULL, NULL));
    CHECK(read(late, b, 4) == 4 && !memcmp(b, "late", 4), "the blocked connect completed");
    wait_child(c);
    /* Connecting a listening socket (to itself, with room in the backlog). */
    CHECK_ERR(connect(s, (void *)&a, al), EINVAL, "connect on a listener: EINVAL");
    /* With SO_SNDTIMEO, a full backlog times out with EAGAIN. */
    for (int i = 0; i < 4; i++) close(cs[i]);
    for (int i = 0; i < 3; i++) {
        cs[i] = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
        MUST(connect(cs[i], (void *)&a, al));
    }
    int x = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    struct timeval tv = {0, 50000};
    MUST(setsockopt(x, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    CHECK_ERR(connect(x, (void *)&a, al), EAGAIN, "connect with SO_SNDTIMEO on a full backlog: EAGAIN");
    CHECK_ERR(listen(a2, 1), EINVAL, "listen on a connected socket: EINVAL");
    /* The listener closes with connections queued: clients see ECONNRESET. */
    close(s);
    CHECK_ERR(read(cs[0], b, 1), ECONNRESET, "queued client after listener close: ECONNRESET");
    CHECK(read(cs[0], b, 1) == 0, "then EOF");
    CHECK_ERR(write(cs[1], "x", 1), EPIPE, "writing: EPIPE");
    CHECK(pollev(cs[2], ALLPOLL) == (POLLIN | POLLOUT | POLLHUP | POLLERR | POLLRDHUP), "poll: %s", evs(pollev(cs[2], ALLPOLL)));
    /* Accept with SO_RCVTIMEO. */
    struct sockaddr_un a3;
    socklen_t al3 = uabs(&a3, "la3");
    int s3 = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    MUST(bind(s3, (void *)&a3, al3));
    MUST(listen(s3, 5));
    MUST(setsockopt(s3, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    CHECK_ERR(accept(s3, NULL, NULL), EAGAIN, "accept with SO_RCVTIMEO: EAGAIN");
    int q = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK(connect(q, (void *)&a3, al3) == 0, "seqpacket connect");
    int qa = MUST(accept(s3, NULL, NULL));
    send(q, "rec1", 4, 0);
    send(q, "rec2", 4, 0);
    CHECK(recv(qa, b, sizeof b, 0) == 4 && recv(qa, b, sizeof b, 0) == 4, "seqpacket records over a connection");
    CHECK(shutdown(s3, SHUT_RD) == 0, "shutdown a listener");
    CHECK_ERR(accept(s3, NULL, NULL), EINVAL, "accept after SHUT_RD: EINVAL");
    CHECK_ERR(connect(MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0)), (void *)&a3, al3), ECONNREFUSED, "connect to a shut listener: ECONNREFUSED");
}

static void dgram_named(void) {
    struct sockaddr_un sa, ca, g;
    socklen_t sal = mkaddr(&sa, tpath("dsrv")), cal = mkaddr(&ca, tpath("dcli")), gl;
    int srv = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    MUST(bind(srv, (void *)&sa, sal));
    int cli = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    char b[32];
    CHECK(sendto(cli, "anon", 4, 0, (void *)&sa, sal) == 4, "unbound client sendto");
    gl = sizeof g;
    memset(&g, 0, sizeof g);
    CHECK(recvfrom(srv, b, sizeof b, 0, (void *)&g, &gl) == 4 && gl == 0, "recvfrom an unbound sender: length 0");
    MUST(bind(cli, (void *)&ca, cal));
    sendto(cli, "named", 5, 0, (void *)&sa, sal);
    gl = sizeof g;
    CHECK(recvfrom(srv, b, sizeof b, 0, (void *)&g, &gl) == 5 && gl == cal && !strcmp(g.sun_path, tpath("dcli")), "recvfrom a bound sender: its path");
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_name = &g;
    m.msg_namelen = 3;
    sendto(cli, "short", 5, 0, (void *)&sa, sal);
    memset(&g, 0, sizeof g);
    CHECK(recvmsg(srv, &m, 0) == 5 && m.msg_namelen == cal && g.sun_path[0] == tpath("dcli")[0] && g.sun_path[1] == 0,
          "recvmsg with a short msg_namelen: truncated, full length reported");
    CHECK(sendto(cli, "x", 1, 0, NULL, 0) == -1 && errno == ENOTCONN, "no address, not connected: ENOTCONN");
    CHECK(connect(cli, (void *)&sa, sal) == 0, "connect datagram");
    gl = sizeof g;
    CHECK(getpeername(cli, (void *)&g, &gl) == 0 && gl == sal, "getpeername of a connected datagram socket");
    CHECK(send(cli, "conn", 4, 0) == 4 && recv(srv, b, sizeof b, 0) == 4, "send without address once connected");
    int other = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un oa;
    socklen_t oal = mkaddr(&oa, tpath("dother"));
    MUST(bind(other, (void *)&oa, oal));
    CHECK(sendto(cli, "elsewhere", 9, 0, (void *)&oa, oal) == 9, "sendto another address while connected");
    CHECK(recv(other, b, sizeof b, 0) == 9, "arrives there");
    MUST(connect(srv, (void *)&ca, cal));
    CHECK_ERR(sendto(other, "x", 1, 0, (void *)&sa, sal), EPERM, "sending to a socket connected elsewhere: EPERM");
    CHECK_ERR(connect(other, (void *)&sa, sal), EPERM, "connecting to a socket connected elsewhere: EPERM");
    struct sockaddr_un un = {.sun_family = AF_UNSPEC};
    CHECK(connect(srv, (void *)&un, sizeof un.sun_family) == 0, "connect AF_UNSPEC dissolves");
    gl = sizeof g;
    CHECK_ERR(getpeername(srv, (void *)&g, &gl), ENOTCONN, "no peer after AF_UNSPEC");
    CHECK(sendto(other, "ok", 2, 0, (void *)&sa, sal) == 2, "now others may send");
    CHECK(recv(srv, b, sizeof b, 0) == 2, "received");
    CHECK_ERR(connect(srv, (void *)&un, 1), EINVAL, "connect with length 1: EINVAL");
    struct sockaddr_un miss;
    socklen_t ml = mkaddr(&miss, tpath("dmissing"));
    CHECK_ERR(sendto(other, "x", 1, 0, (void *)&miss, ml), ENOENT, "sendto a missing path: ENOENT");
    socklen_t mal = uabs(&miss, "nobody");
    CHECK_ERR(sendto(other, "x", 1, 0, (void *)&miss, mal), ECONNREFUSED, "sendto an unbound abstract name: ECONNREFUSED");
    CHECK_ERR(sendto(other, "x", 1, 0, (void *)&sa, 200), EINVAL, "sendto with address length 200: EINVAL");
    CHECK_ERR(sendto(other, "x", 1, 0, (void *)&sa, 1), EINVAL, "sendto with address length 1: EINVAL");
    /* The receive queue limit (net.unix.max_dgram_qlen) for a one-way connection. */
    int w = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    MUST(connect(w, (void *)&sa, sal));
    int sent = 0;
    while (send(w, "q", 1, 0) == 1 && sent < 10000) sent++;
    CHECK(errno == EAGAIN, "a full receiver gives EAGAIN");
    FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
    int qlen = -1;
    if (f) {
        if (fscanf(f, "%d", &qlen) != 1) qlen = -1;
        fclose(f);
    }
    CHECK(sent == qlen + 1, "max_dgram_qlen + 1 datagrams queue");
    CHECK(!(pollev(w, POLLOUT) & POLLOUT), "the sender is not writable");
    /* A poll for POLLOUT is woken when the receiver makes room. */
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        usleep(50000);
        recv(srv, b, 1, 0);
        _exit(0);
    }
    struct pollfd pw = {w, POLLOUT, 0};
    CHECK(poll(&pw, 1, 10000) == 1 && (pw.revents & POLLOUT), "poll woken when the receiver reads");
    wait_child(k);
    CHECK(pollev(w, POLLOUT) & POLLOUT, "writable once the receiver read one");
    CHECK(send(w, "q", 1, 0) == 1, "and can send again");
    /* Blocking sender waits for the receiver. */
    fcntl(w, F_SETFL, 0);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(100000);
        for (int i = 0; i < 5; i++) recv(srv, b, 1, 0);
        _exit(0);
    }
    CHECK(send(w, "q", 1, 0) == 1, "a blocking send waits for room");
    wait_child(c);
    /* Receiver closes: connected sender gets ECONNREFUSED. */
    close(srv);
    CHECK_ERR(send(w, "q", 1, 0), ECONNREFUSED, "receiver gone: ECONNREFUSED");
    CHECK_ERR(sendto(other, "x", 1, 0, (void *)&sa, sal), ECONNREFUSED, "sendto a path whose socket is gone: ECONNREFUSED");
    /* A socket may send to itself. */
    CHECK(sendto(other, "me", 2, 0, (void *)&oa, oal) == 2 && recv(other, b, 2, 0) == 2, "sendto self");
}

/* ------------------------------------------------------------------ */

static void scm_rights(void) {
    ign_sigpipe();
    int sv[2];
    MUST(sock_pair(SOCK_STREAM, sv));
    int p[2];
    MUST(pipe(p));
    char b[64];
    int fds[64], n, fl;
    CHECK(send_fds(sv[0], &p[0], 1, "A", 1) == 1, "send a pipe's read end");
    close(p[0]);
    CHECK(recv_fds(sv[1], b, sizeof b, fds, 4, &n, &fl, 0) == 1 && n == 1 && !(fl & MSG_CTRUNC), "received one fd");
    CHECK(write(p[1], "via", 3) == 3 && read(fds[0], b, 3) == 3 && !memcmp(b, "via", 3), "the received fd is the pipe");
    CHECK(!(fcntl(fds[0], F_GETFD) & FD_CLOEXEC), "no FD_CLOEXEC by default");
    close(fds[0]);
    /* MSG_CMSG_CLOEXEC. */
    MUST(pipe(p));
    send_fds(sv[0], &p[0], 1, "B", 1);
    CHECK(recv_fds(sv[1], b, sizeof b, fds, 4, &n, &fl, MSG_CMSG_CLOEXEC) == 1 && n == 1, "received with MSG_CMSG_CLOEXEC");
    CHECK(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, "FD_CLOEXEC set");
    CHECK(fl == MSG_CMSG_CLOEXEC, "msg_flags echo MSG_CMSG_CLOEXEC: %#x", fl);
    close(fds[0]);
    close(p[0]);
    close(p[1]);
    /* Too small a control buffer: MSG_CTRUNC, the extra fds are closed. */
    int p1[2], p2[2], p3[2];
    MUST(pipe(p1));
    MUST(pipe(p2));
    MUST(pipe(p3));
    int three[3] = {p1[0], p2[0], p3[0]};
    CHECK(send_fds(sv[0], three, 3, "C", 1) == 1, "send three fds");
    close(p1[0]);
    close(p2[0]);
    close(p3[0]);
    int before = open_fds();
    CHECK(recv_fds(sv[1], b, sizeof b, fds, 1, &n, &fl, 0) == 1 && n == 1 && (fl & MSG_CTRUNC), "room for one: MSG_CTRUNC");
    CHECK(open_fds() == before + 1, "only one fd installed");
    CHECK(write(p1[1], "x", 1) == 1, "the delivered pipe has a reader");
    CHECK_ERR(write(p2[1], "x", 1), EPIPE, "the dropped ones were closed");
    CHECK_ERR(write(p3[1], "x", 1), EPIPE, "both of them");
    close(fds[0]);
    /* NULL msg_control: MSG_CTRUNC, fds dropped. */
    MUST(pipe(p));
    send_fds(sv[0], &p[0], 1, "D", 1);
    close(p[0]);
    CHECK(recv_fds(sv[1], b, sizeof b, fds, -1, &n, &fl, 0) == 1 && n == 0 && (fl & MSG_CTRUNC), "no control buffer: MSG_CTRUNC");
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "the fd was dropped");
    close(p[1]);
    /* Control buffer of only a header: nothing fits. */
    MUST(pipe(p));
    send_fds(sv[0], &p[0], 1, "E", 1);
    close(p[0]);
    CHECK(recv_fds(sv[1], b, sizeof b, fds, 0, &n, &fl, 0) == 1 && n == 0 && (fl & MSG_CTRUNC), "header-sized control: MSG_CTRUNC");
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "dropped");
    close(p[1]);
    /* In-flight fds are closed when never received. */
    int sv2[2];
    MUST(sock_pair(SOCK_DGRAM, sv2));
    MUST(pipe(p));
    send_fds(sv2[0], &p[0], 1, "F", 1);
    close(p[0]);
    CHECK(write(p[1], "x", 1) == 1, "in flight: the pipe still has a reader");
    close(sv2[0]);
    close(sv2[1]);
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "receiver closed: the in-flight fd was closed");
    close(p[1]);
    /* A socket sent over itself and closed is collected. */
    MUST(sock_pair(SOCK_STREAM, sv2));
    MUST(pipe(p));
    int two[2] = {sv2[1], p[0]};
    send_fds(sv2[0], two, 2, "G", 1);
    close(p[0]);
    close(sv2[1]);
    close(sv2[0]);
    /* Linux collects in the background: wait for it (bounded). */
    for (int i = 0; i < 500 && write(p[1], "x", 1) == 1; i++) usleep(10000);
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "a cycle of in-flight sockets is garbage-collected");
    close(p[1]);
    /* A stream read stops after a message that carried fds. */
    MUST(pipe(p));
    send_fds(sv[0], &p[0], 1, "abc", 3);
    write(sv[0], "def", 3);
    close(p[0]);
    CHECK(recv_fds(sv[1], b, sizeof b, fds, 4, &n, &fl, 0) == 3 && n == 1, "read stops at the fds boundary");
    CHECK(read(sv[1], b, sizeof b) == 3 && !memcmp(b, "def", 3), "the rest follows");
    close(fds[0]);
    /* Data before an fd-carrying message is read with it? No: up to it. */
    write(sv[0], "123", 3);
    MUST(pipe(p));
    send_fds(sv[0], &p[0], 1, "456", 3);
    close(p[0]);
    CHECK(recv_fds(sv[1], b, sizeof b, fds, 4, &n, &fl, 0) == 6 && n == 1, "plain data then the fd message: %d/%d", 6, n);
    close(fds[0]);
    close(p[1]);
    /* MSG_PEEK duplicates the fds. */
    MUST(pipe(p));
    send_fds(sv[0], &p[0], 1, "P", 1);
    close(p[0]);
    int pk[4], pn;
    CHECK(recv_fds(sv[1], b, sizeof b, pk, 4, &pn, &fl, MSG_PEEK) == 1 && pn == 1, "peek gets an fd");
    CHECK(recv_fds(sv[1], b, sizeof b, fds, 4, &n, &fl, 0) == 1 && n == 1 && fds[0] != pk[0], "read gets another one");
    close(pk[0]);
    CHECK(write(p[1], "x", 1) == 1, "still open through the read one");
    close(fds[0]);
    CHECK_ERR(write(p[1], "x", 1), EPIPE, "closed after both");
    close(p[1]);
    /* Pass a socket and use it. */
    int inner[2];
    MUST(sock_pair(SOCK_SEQPACKET, inner));
    send_fds(sv[0], &inner[1], 1, "S", 1);
    close(inner[1]);
    recv_fds(sv[1], b, sizeof b, fds, 4, &n, &fl, 0);
    CHECK(n == 1 && send(fds[0], "over", 4, 0) == 4 && recv(inner[0], b, sizeof b, 0) == 4, "a passed socket works");
    int v;
    socklen_t l = sizeof v;
    CHECK(getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_SEQPACKET, "its type");
    close(fds[0]);
    /* Errors. */
    int bad = 999;
    CHECK_ERR(send_fds(sv[0], &bad, 1, "x", 1), EBADF, "passing a closed fd: EBADF");
    CHECK_ERR(recv(sv[1], b, 1, MSG_DONTWAIT), EAGAIN, "nothing was sent");
    int many[254];
    for (int i = 0; i < 254; i++) many[i] = 0;
    {
        char cbuf[CMSG_SPACE(sizeof many)];
        struct iovec iov = {"x", 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = CMSG_SPACE(sizeof many);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof many);
        memcpy(CMSG_DATA(c), many, sizeof many);
        CHECK_ERR(sendmsg(sv[0], &m, 0), EINVAL, "254 fds: EINVAL");
        c->cmsg_len = CMSG_LEN(253 * sizeof(int));
        m.msg_controllen = CMSG_SPACE(253 * sizeof(int));
        CHECK(sendmsg(sv[0], &m, 0) == 1, "253 fds");
        int rf[260], rn;
        char cb2[CMSG_SPACE(sizeof rf)];
        struct iovec ri = {b, 1};
        struct msghdr rm = {0};
        rm.msg_iov = &ri;
        rm.msg_iovlen = 1;
        rm.msg_control = cb2;
        rm.msg_controllen = sizeof cb2;
        CHECK(recvmsg(sv[1], &rm, 0) == 1, "received the 253");
        c = CMSG_FIRSTHDR(&rm);
        rn = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        CHECK(rn == 253 && rm.msg_controllen == CMSG_SPACE(253 * sizeof(int)), "all 253 with msg_controllen updated");
        memcpy(rf, CMSG_DATA(c), rn * sizeof(int));
        for (int i = 0; i < rn; i++) close(rf[i]);
        c = CMSG_FIRSTHDR(&m);
        c->cmsg_len = 8;
        CHECK_ERR(sendmsg(sv[0], &m, 0), EINVAL, "cmsg_len 8: EINVAL");
        c->cmsg_len = m.msg_controllen + 1;
        CHECK_ERR(sendmsg(sv[0], &m, 0), EINVAL, "cmsg_len past the buffer: EINVAL");
        c->cmsg_len = CMSG_LEN(0);
        m.msg_controllen = CMSG_SPACE(0);
        CHECK(sendmsg(sv[0], &m, 0) == 1, "SCM_RIGHTS with no fds is fine");
        CHECK(recv_fds(sv[1], b, sizeof b, fds, 4, &n, &fl, 0) == 1 && n == 0 && !(fl & MSG_CTRUNC), "and delivers no fds");
        c->cmsg_len = CMSG_LEN(sizeof(int));
        m.msg_controllen = CMSG_SPACE(sizeof(int));
        c->cmsg_type = 99;
        CHECK_ERR(sendmsg(sv[0], &m, 0), EINVAL, "unknown SOL_SOCKET cmsg type: EINVAL");
        c->cmsg_level = 99;
        CHECK(sendmsg(sv[0], &m, 0) == 1, "other levels are ignored");
        read(sv[1], b, 1);
        m.msg_controllen = 8;
        CHECK(sendmsg(sv[0], &m, 0) == 1, "a control buffer shorter than a header is ignored");
        read(sv[1], b, 1);
        m.msg_control = (void *)1;
        m.msg_controllen = 32;
        CHECK_ERR(sendmsg(sv[0], &m, 0), EFAULT, "bad control pointer: EFAULT");
        m.msg_control = cbuf;
        m.msg_controllen = 1 << 20;
        CHECK_ERR(sendmsg(sv[0], &m, 0), ENOBUFS, "control buffer over optmem_max: ENOBUFS");
    }
    /* fds over a datagram socket, with the data truncated. */
    MUST(sock_pair(SOCK_DGRAM, sv2));
    MUST(pipe(p));
    send_fds(sv2[0], &p[0], 1, "dgramdata", 9);
    close(p[0]);
    CHECK(recv_fds(sv2[1], b, 3, fds, 4, &n, &fl, 0) == 3 && n == 1 && (fl & MSG_TRUNC), "dgram: fd with truncated data");
    close(fds[0]);
    close(p[1]);
}

static void fork_pass(void) {
    /* A server process hands out descriptors to clients it forks. */
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, tpath("srv"));
    int l = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(bind(l, (void *)&a, al));
    MUST(listen(l, 8));
    put_file(tpath("data"), "file contents\n", 14, 0644);
    fflush(stdout);
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = MUST(fork());
        if (kids[i] == 0) {
            int c = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
            MUST(connect(c, (void *)&a, al));
            char msg[8];
            snprintf(msg, sizeof msg, "kid%d", i);
            write(c, msg, 4);
            char b[64];
            int fds[4], n, fl;
            ssize_t r = recv_fds(c, b, sizeof b, fds, 4, &n, &fl, 0);
            if (r > 0 && n == 1) {
                char buf[32] = {0};
                pread(fds[0], buf, sizeof buf - 1, 0);
                printf("kid%d got %d bytes and an fd reading: %s", i, (int)r, buf);
                fflush(stdout);
            }
            _exit(0);
        }
        int conn = MUST(accept(l, NULL, NULL));
        char b[8] = {0};
        read(conn, b, 4);
        int f = MUST(open(tpath("data"), O_RDONLY));
        send_fds(conn, &f, 1, b, 4);
        close(f);
        close(conn);
        say("served %s", wait_child(kids[i]));
    }
    /* A child sends its own fd back to the parent over a socketpair. */
    int sv[2];
    MUST(sock_pair(SOCK_DGRAM, sv));
    pid_t c = MUST(fork());
    if (c == 0) {
        int f = MUST(open(tpath("child-made"), O_CREAT | O_RDWR, 0600));
        write(f, "from child", 10);
        send_fds(sv[1], &f, 1, "fd", 2);
        _exit(0);
    }
    char b[16];
    int fds[4], n, fl;
    CHECK(recv_fds(sv[0], b, sizeof b, fds, 4, &n, &fl, 0) == 2 && n == 1, "parent receives the child's fd");
    say("%s", wait_child(c));
    char buf[16] = {0};
    CHECK(pread(fds[0], buf, 10, 0) == 10 && !strcmp(buf, "from child"), "and reads through it");
    CHECK(lseek(fds[0], 0, SEEK_CUR) == 10, "sharing the child's file offset");
}

static void scm_creds(void) {
    int sv[2];
    MUST(sock_pair(SOCK_DGRAM, sv));
    char b[32];
    int one = 1, v;
    socklen_t l = sizeof v;
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &l) == 0 && v == 0, "SO_PASSCRED off by default");
    send(sv[0], "early", 5, 0);
    MUST(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &l) == 0 && v == 1, "SO_PASSCRED on");
    char cbuf[256];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    CHECK(recvmsg(sv[1], &m, 0) == 5, "message sent before SO_PASSCRED");
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    struct ucred uc;
    if (c && c->cmsg_type == SCM_CREDENTIALS) {
        memcpy(&uc, CMSG_DATA(c), sizeof uc);
        CHECK(c->cmsg_len == CMSG_LEN(sizeof uc) && uc.pid == 0 && uc.uid == 65534 && uc.gid == 65534,
              "carries no credentials: pid 0, overflow ids");
    } else {
        CHECK(0, "missing SCM_CREDENTIALS");
    }
    fflush(stdout);
    pid_t k = MUST(fork());
    if (k == 0) {
        pid_t me = getpid();
        send(sv[0], &me, sizeof me, 0);
        _exit(0);
    }
    wait_child(k);
    m.msg_controllen = sizeof cbuf;
    CHECK(recvmsg(sv[1], &m, 0) == sizeof(pid_t), "message from a child");
    c = CMSG_FIRSTHDR(&m);
    pid_t sender;
    memcpy(&sender, b, sizeof sender);
    memcpy(&uc, CMSG_DATA(c), sizeof uc);
    CHECK(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && uc.pid == sender && uc.uid == getuid() &&
              uc.gid == getgid(),
          "SCM_CREDENTIALS names the sending process");
    CHECK(m.msg_controllen == CMSG_SPACE(sizeof uc), "msg_controllen is one cmsg");
    /* Explicit credentials. */
    char sc[CMSG_SPACE(sizeof(struct ucred))];
    struct msghdr sm = {0};
    struct iovec si = {"c", 1};
    sm.msg_iov = &si;
    sm.msg_iovlen = 1;
    sm.msg_control = sc;
    sm.msg_controllen = sizeof sc;
    c = CMSG_FIRSTHDR(&sm);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof uc);
    uc.pid = getpid();
    uc.uid = getuid();
    uc.gid = getgid();
    memcpy(CMSG_DATA(c), &uc, sizeof uc);
    CHECK(sendmsg(sv[0], &sm, 0) == 1, "explicit own credentials");
    m.msg_controllen = sizeof cbuf;
    recvmsg(sv[1], &m, 0);
    c = CMSG_FIRSTHDR(&m);
    memcpy(&uc, CMSG_DATA(c), sizeof uc);
    CHECK(uc.pid == getpid(), "arrive as sent");
    uc.pid = 0x3ffffff0;
    memcpy(CMSG_DATA(CMSG_FIRSTHDR(&sm)), &uc, sizeof uc);
    CHECK_ERR(sendmsg(sv[0], &sm, 0), ESRCH, "a pid that does not exist: ESRCH");
    CMSG_FIRSTHDR(&sm)->cmsg_len = CMSG_LEN(sizeof uc) - 1;
    CHECK_ERR(sendmsg(sv[0], &sm, 0), EINVAL, "wrong cmsg_len for credentials: EINVAL");
    CMSG_FIRSTHDR(&sm)->cmsg_len = CMSG_LEN(sizeof uc);
    fflush(stdout);
    k = MUST(fork());
    if (k == 0) {
        MUST(setgid(65534));
        MUST(setuid(65534));
        struct ucred u2 = {getpid(), 0, 65534};
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&sm)), &u2, sizeof u2);
        CHECK_ERR(sendmsg(sv[0], &sm, 0), EPERM, "unprivileged: claiming uid 0 is EPERM");
        u2.uid = 65534;
        u2.pid = getppid();
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&sm)), &u2, sizeof u2);
        CHECK_ERR(sendmsg(sv[0], &sm, 0), EPERM, "unprivileged: another pid is EPERM");
        u2.pid = getpid();
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&sm)), &u2, sizeof u2);
        CHECK(sendmsg(sv[0], &sm, 0) == 1, "unprivileged: own credentials");
        _exit(t_failed);
    }
    say("%s", wait_child(k));
    m.msg_controllen = sizeof cbuf;
    recvmsg(sv[1], &m, 0);
    memcpy(&uc, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof uc);
    CHECK(uc.uid == 65534 && uc.gid == 65534 && uc.pid == k, "received the unprivileged sender's credentials");
    /* Credentials and fds together: credentials come first. */
    int p[2];
    MUST(pipe(p));
    send_fds(sv[0], &p[0], 1, "both", 4);
    m.msg_controllen = sizeof cbuf;
    CHECK(recvmsg(sv[1], &m, 0) == 4, "message with fds");
    c = CMSG_FIRSTHDR(&m);
    CHECK(c && c->cmsg_type == SCM_CREDENTIALS, "first SCM_CREDENTIALS");
    c = c ? CMSG_NXTHDR(&m, c) : NULL;
    CHECK(c && c->cmsg_type == SCM_RIGHTS, "then SCM_RIGHTS");
    if (c) close(*(int *)CMSG_DATA(c));
    /* Control buffer too small for credentials: truncated, MSG_CTRUNC. */
    send(sv[0], "t", 1, 0);
    m.msg_controllen = sizeof(struct cmsghdr) + 4;
    CHECK(recvmsg(sv[1], &m, 0) == 1 && (m.msg_flags & MSG_CTRUNC), "truncated credentials: MSG_CTRUNC");
    CHECK(m.msg_controllen == sizeof(struct cmsghdr) + 4 && CMSG_FIRSTHDR(&m)->cmsg_len == sizeof(struct cmsghdr) + 4,
          "cmsg_len is the truncated length");
    /* Stream: credentials of different senders are never glued. */
    int st[2];
    MUST(sock_pair(SOCK_STREAM, st));
    MUST(setsockopt(st[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    write(st[0], "aa", 2);
    k = MUST(fork());
    if (k == 0) {
        write(st[0], "bb", 2);
        _exit(0);
    }
    wait_child(k);
    write(st[0], "cc", 2);
    iov.iov_len = sizeof b;
    m.msg_controllen = sizeof cbuf;
    CHECK(recvmsg(st[1], &m, 0) == 2, "stream read stops where the writer changes");
    m.msg_controllen = sizeof cbuf;
    CHECK(recvmsg(st[1], &m, 0) == 2, "the child's part alone");
    memcpy(&uc, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof uc);
    CHECK(uc.pid == k, "with the child's pid");
    m.msg_controllen = sizeof cbuf;
    CHECK(recvmsg(st[1], &m, 0) == 2, "then the parent's again");
    /* Without SO_PASSCRED a stream read glues writers. */
    int st2[2];
    MUST(sock_pair(SOCK_STREAM, st2));
    write(st2[0], "aa", 2);
    k = MUST(fork());
    if (k == 0) {
        write(st2[0], "bb", 2);
        _exit(0);
    }
    wait_child(k);
    CHECK(read(st2[1], b, sizeof b) == 4, "without SO_PASSCRED writers are glued");
}

/* ------------------------------------------------------------------ */

static void sockopts(void) {
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    int v;
    socklen_t l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 212992, "default SO_SNDBUF");
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 212992, "default SO_RCVBUF");
    v = 10000;
    MUST(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 20000, "SO_SNDBUF doubled");
    v = 1;
    MUST(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 4608, "SO_SNDBUF minimum");
    v = 1;
    MUST(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 2304, "SO_RCVBUF minimum");
    v = -5;
    MUST(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    int wmax = 0;
    FILE *f = fopen("/proc/sys/net/core/wmem_max", "r");
    if (f) {
        if (fscanf(f, "%d", &wmax) != 1) wmax = 0;
        fclose(f);
    }
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 2 * wmax, "negative SO_SNDBUF: 2*wmem_max");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, 3), EINVAL, "optlen 3: EINVAL");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, -1), EINVAL, "optlen -1: EINVAL");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUF, (void *)1, 4), EFAULT, "bad optval: EFAULT");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, 9999, &v, 4), ENOPROTOOPT, "unknown option: ENOPROTOOPT");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, 4), ENOPROTOOPT, "SO_TYPE is read-only");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_PEERCRED, &v, 4), ENOPROTOOPT, "SO_PEERCRED is read-only");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDLOWAT, &v, 4), ENOPROTOOPT, "SO_SNDLOWAT cannot be set");
    CHECK_ERR(setsockopt(s, 6, 1, &v, 4), EOPNOTSUPP, "another level: EOPNOTSUPP");
    CHECK_ERR(getsockopt(s, 6, 1, &v, &l), EOPNOTSUPP, "getsockopt at another level: EOPNOTSUPP");
    l = sizeof v;
    CHECK_ERR(getsockopt(s, SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT, "getsockopt unknown: ENOPROTOOPT");
    l = (socklen_t)-1;
    CHECK_ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l), EINVAL, "negative optlen: EINVAL");
    CHECK_ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, (socklen_t *)1), EFAULT, "bad optlen pointer: EFAULT");
    l = 4;
    CHECK_ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, (void *)1, &l), EFAULT, "bad optval pointer: EFAULT");
    v = 0x7f7f7f7f;
    l = 2;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && l == 2 && v == 0x7f7f0001, "short optlen: partial copy");
    l = 100;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && l == 4, "long optlen shrinks to 4");
    l = 0;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && l == 0, "optlen 0");
    /* Boolean and integer options. */
    struct {
        int opt;
        const char *name;
        int set, want;
    } bools[] = {
        {SO_REUSEADDR, "SO_REUSEADDR", 5, 1}, {SO_KEEPALIVE, "SO_KEEPALIVE", 7, 1}, {SO_BROADCAST, "SO_BROADCAST", 1, 1},
        {SO_DONTROUTE, "SO_DONTROUTE", 1, 1}, {SO_OOBINLINE, "SO_OOBINLINE", 1, 1}, {SO_PASSCRED, "SO_PASSCRED", 9, 1},
        {SO_PRIORITY, "SO_PRIORITY", 6, 6},   {SO_RCVLOWAT, "SO_RCVLOWAT", 0, 1},    {SO_RCVLOWAT, "SO_RCVLOWAT", 7, 7},
        {SO_PASSSEC, "SO_PASSSEC", 1, 1},     {SO_TIMESTAMP, "SO_TIMESTAMP", 1, 1},  {SO_NO_CHECK, "SO_NO_CHECK", 1, 1},
        {SO_PEEK_OFF, "SO_PEEK_OFF", 3, 3},   {SO_REUSEADDR, "SO_REUSEADDR", 0, 0},
    };
    for (unsigned i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        int x = -1;
        l = sizeof x;
        getsockopt(s, SOL_SOCKET, bools[i].opt, &x, &l);
        int before = x;
        int r = setsockopt(s, SOL_SOCKET, bools[i].opt, &bools[i].set, sizeof(int));
        l = sizeof x;
        getsockopt(s, SOL_SOCKET, bools[i].opt, &x, &l);
        CHECK(r == 0 && x == bools[i].want, "%s: default %d, set %d, read %d", bools[i].name, before, bools[i].set, x);
    }
    l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDLOWAT, &v, &l) == 0 && v == 1, "SO_SNDLOWAT reads 1");
    v = 1;
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v), EOPNOTSUPP, "SO_REUSEPORT on a unix socket");
    v = 0;
    CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v) == 0, "clearing SO_REUSEPORT is fine");
    struct linger lg = {1, 5}, lg2;
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0, "SO_LINGER set");
    l = sizeof lg2;
    CHECK(getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &l) == 0 && l == sizeof lg2 && lg2.l_onoff == 1 && lg2.l_linger == 5, "SO_LINGER read back");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, 4), EINVAL, "SO_LINGER short: EINVAL");
    /* Timeouts round to the tick as Linux does, and report back. */
    struct timeval tv = {2, 500000}, tv2;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO set");
    l = sizeof tv2;
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l) == 0 && l == sizeof tv2 && tv2.tv_sec == 2 && tv2.tv_usec == 500000,
          "SO_RCVTIMEO read back");
    tv.tv_sec = 0;
    tv.tv_usec = 1500;
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    l = sizeof tv2;
    getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv2, &l);
    say("SO_SNDTIMEO 1500us reads back as %ld.%06ld", (long)tv2.tv_sec, (long)tv2.tv_usec);
    tv.tv_usec = 1000000;
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), EDOM, "tv_usec 1000000: EDOM");
    tv.tv_usec = -1;
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), EDOM, "tv_usec -1: EDOM");
    CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, 8), EINVAL, "short timeval: EINVAL");
    tv.tv_sec = -3;
    tv.tv_usec = 0;
    CHECK(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0, "negative seconds accepted");
    l = sizeof tv2;
    getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv2, &l);
    say("negative SO_SNDTIMEO reads back as %ld.%06ld", (long)tv2.tv_sec, (long)tv2.tv_usec);
    tv.tv_sec = 0;
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv2, &l);
    CHECK(tv2.tv_sec == 0 && tv2.tv_usec == 0, "zero: no timeout");
    l = 4;
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l) == 0 && l == 4, "short timeval read: %d", l);
    /* Options needing privilege; root natively and in the sandbox. */
    v = 7;
    CHECK(setsockopt(s, SOL_SOCKET, SO_PRIORITY, &v, sizeof v) == 0, "SO_PRIORITY 7 as root");
    v = 1;
    CHECK(setsockopt(s, SOL_SOCKET, SO_MARK, &v, sizeof v) == 0, "SO_MARK as root");
    l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_MARK, &v, &l) == 0 && v == 1, "SO_MARK read back");
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        MUST(setuid(65534));
        int x = 7;
        CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_PRIORITY, &x, sizeof x), EPERM, "SO_PRIORITY 7 unprivileged: EPERM");
        CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_MARK, &x, sizeof x), EPERM, "SO_MARK unprivileged: EPERM");
        CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &x, sizeof x), EPERM, "SO_SNDBUFFORCE unprivileged: EPERM");
        x = 6;
        CHECK(setsockopt(s, SOL_SOCKET, SO_PRIORITY, &x, sizeof x) == 0, "SO_PRIORITY 6 unprivileged");
        _exit(t_failed);
    }
    say("%s", wait_child(c));
    v = 100000;
    CHECK(setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) == 0, "SO_SNDBUFFORCE as root");
    l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 200000, "forced sndbuf doubled");
    /* SO_PEERCRED on an unconnected socket. */
    struct ucred uc;
    l = sizeof uc;
    CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.pid == 0 && uc.uid == (uid_t)-1 && uc.gid == (gid_t)-1,
          "SO_PEERCRED unconnected: 0, -1, -1");
    l = 4;
    CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && l == 4, "SO_PEERCRED short");
    l = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l) == 0 && v == 0, "SO_ERROR 0");
    CHECK(getsockopt(s, SOL_SOCKET, SO_BSDCOMPAT, &v, &l) == 0 && v == 0, "SO_BSDCOMPAT 0");
    /* SO_PEEK_OFF on a stream. */
    int sv[2];
    MUST(sock_pair(SOCK_STREAM, sv));
    v = 0;
    MUST(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &v, sizeof v));
    write(sv[0], "abcdefgh", 8);
    char b[8];
    CHECK(recv(sv[1], b, 3, MSG_PEEK) == 3 && !memcmp(b, "abc", 3), "peek at offset 0");
    CHECK(recv(sv[1], b, 3, MSG_PEEK) == 3 && !memcmp(b, "def", 3), "next peek continues");
    l = sizeof v;
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &v, &l) == 0 && v == 6, "SO_PEEK_OFF advanced to 6");
    CHECK(recv(sv[1], b, 2, 0) == 2 && !memcmp(b, "ab", 2), "a read starts at the front");
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &v, &l) == 0 && v == 4, "and moves the peek offset back");
    CHECK(recv(sv[1], b, 8, MSG_PEEK) == 2 && !memcmp(b, "gh", 2), "peek from offset 4");
}

static volatile int alarms;
static int restart_sock = -1;
static void on_alarm(int s) {
    (void)s;
    alarms++;
    if (restart_sock >= 0) write(restart_sock, "!", 1);
}

static void timeouts(void) {
    ign_sigpipe();
    int sv[2];
    MUST(sock_pair(SOCK_STREAM, sv));
    struct timeval tv = {0, 50000};
    MUST(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    char b[8];
    CHECK_ERR(read(sv[1], b, 1), EAGAIN, "read with SO_RCVTIMEO times out: EAGAIN");
    CHECK_ERR(recv(sv[1], b, 1, MSG_WAITALL), EAGAIN, "recv MSG_WAITALL times out too");
    write(sv[0], "ab", 2);
    CHECK(recv(sv[1], b, 4, MSG_WAITALL) == 2, "MSG_WAITALL timing out returns what it has");
    /* Filling the send buffer with SO_SNDTIMEO. */
    MUST(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    static char big[1 << 20];
    ssize_t r = write(sv[0], big, sizeof big);
    CHECK(r > 0 && r < (ssize_t)sizeof big, "a big write with SO_SNDTIMEO returns a partial count");
    CHECK_ERR(write(sv[0], big, 10), EAGAIN, "a full buffer with SO_SNDTIMEO: EAGAIN");
    /* Signals: without SA_RESTART, EINTR. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    MUST(sigaction(SIGALRM, &sa, NULL));
    int p[2];
    MUST(sock_pair(SOCK_STREAM, p));
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(read(p[1], b, 1), EINTR, "read interrupted without SA_RESTART: EINTR");
    /* With SA_RESTART and no timeout: restarted, gets the handler's byte. */
    sa.sa_flags = SA_RESTART;
    MUST(sigaction(SIGALRM, &sa, NULL));
    restart_sock = p[0];
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK(read(p[1], b, 1) == 1 && b[0] == '!', "read restarted with SA_RESTART");
    /* With SA_RESTART but a timeout set: EINTR. */
    restart_sock = -1;
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    MUST(setsockopt(p[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(read(p[1], b, 1), EINTR, "with SO_RCVTIMEO a signal gives EINTR even with SA_RESTART");
    /* accept restarts; a partial write returns its count. */
    struct sockaddr_un a;
    socklen_t al = uabs(&a, "tacc");
    int l = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(bind(l, (void *)&a, al));
    MUST(listen(l, 1));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(300000);
        int x = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(x, (void *)&a, al);
        _exit(0);
    }
    alarms = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    int acc = accept(l, NULL, NULL);
    CHECK(acc >= 0 && alarms == 1, "accept restarted after the handler");
    wait_child(c);
    int q[2];
    MUST(sock_pair(SOCK_STREAM, q));
    sa.sa_flags = 0;
    MUST(sigaction(SIGALRM, &sa, NULL));
    setitimer(ITIMER_REAL, &it, NULL);
    r = write(q[0], big, sizeof big);
    CHECK(r > 0 && r < (ssize_t)sizeof big, "a blocked big write interrupted returns its partial count");
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(write(q[0], big, sizeof big), EINTR, "interrupted before any byte: EINTR");
    /* connect waiting for backlog room is interrupted too. */
    struct sockaddr_un a2;
    socklen_t al2 = uabs(&a2, "tconn");
    int l2 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(bind(l2, (void *)&a2, al2));
    MUST(listen(l2, 0));
    MUST(connect(MUST(socket(AF_UNIX, SOCK_STREAM, 0)), (void *)&a2, al2));
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(connect(MUST(socket(AF_UNIX, SOCK_STREAM, 0)), (void *)&a2, al2), EINTR, "blocked connect interrupted: EINTR");
}

static void poll_states(void) {
    ign_sigpipe();
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    say("fresh stream: %s", evs(pollev(s, ALLPOLL)));
    int d = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    say("fresh dgram: %s", evs(pollev(d, ALLPOLL)));
    int q = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    say("fresh seqpacket: %s", evs(pollev(q, ALLPOLL)));
    int types[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    const char *names[3] = {"stream", "dgram", "seqpacket"};
    for (int i = 0; i < 3; i++) {
        int sv[2];
        MUST(sock_pair(types[i], sv));
        say("%s idle: %s", names[i], evs(pollev(sv[0], ALLPOLL)));
        send(sv[1], "x", 1, 0);
        say("%s with data: %s", names[i], evs(pollev(sv[0], ALLPOLL)));
        shutdown(sv[1], SHUT_WR);
        say("%s after peer SHUT_WR: %s", names[i], evs(pollev(sv[0], ALLPOLL)));
        shutdown(sv[0], SHUT_WR);
        say("%s after both SHUT_WR: %s", names[i], evs(pollev(sv[0], ALLPOLL)));
        MUST(sock_pair(types[i], sv));
        shutdown(sv[0], SHUT_RD);
        say("%s after own SHUT_RD: %s", names[i], evs(pollev(sv[0], ALLPOLL)));
        say("%s peer of SHUT_RD: %s", names[i], evs(pollev(sv[1], ALLPOLL)));
        MUST(sock_pair(types[i], sv));
        close(sv[1]);
        say("%s peer closed: %s", names[i], evs(pollev(sv[0], ALLPOLL)));
        MUST(sock_pair(types[i], sv));
        send(sv[0], "x", 1, 0);
        close(sv[1]);
        say("%s peer closed with unread data: %s", names[i], evs(pollev(sv[0], ALLPOLL)));
    }
    /* Writers lose POLLOUT when the buffer is full. */
    int sv[2];
    MUST(sock_pair(SOCK_STREAM | SOCK_NONBLOCK, sv));
    static char buf[65536];
    while (write(sv[0], buf, sizeof buf) > 0) {
    }
    say("stream full: %s", evs(pollev(sv[0], ALLPOLL)));
    int k = 0;
    while (read(sv[1], buf, sizeof buf) > 0) k++;
    say("stream drained: %s", evs(pollev(sv[0], ALLPOLL)));
    /* select agrees. */
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(sv[0], &r);
    FD_SET(sv[0], &w);
    struct timeval tv = {0, 0};
    CHECK(select(sv[0] + 1, &r, &w, NULL, &tv) == 1 && !FD_ISSET(sv[0], &r) && FD_ISSET(sv[0], &w), "select: writable only");
    /* A blocking poll is woken by another process. */
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(50000);
        write(sv[1], "wake", 4);
        _exit(0);
    }
    struct pollfd pf = {sv[0], POLLIN, 0};
    CHECK(poll(&pf, 1, 10000) == 1 && pf.revents == POLLIN, "poll woken by data");
    wait_child(c);
    c = MUST(fork());
    if (c == 0) {
        usleep(50000);
        close(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    read(sv[0], buf, sizeof buf);
    pf.events = POLLRDHUP;
    CHECK(poll(&pf, 1, 10000) == 1 && (pf.revents & POLLRDHUP), "poll woken by the peer's close: %s", evs(pf.revents));
    wait_child(c);
}

static void sndbuf_limits(void) {
    ign_sigpipe();
    static char buf[1 << 20];
    int sizes[4] = {1, 100, 4096, 65536};
    for (int i = 0; i < 4; i++) {
        int sv[2];
        MUST(sock_pair(SOCK_STREAM | SOCK_NONBLOCK, sv));
        long tot = 0;
        int n;
        while ((n = write(sv[0], buf, sizes[i])) > 0) tot += n;
        say("stream, %d-byte writes: %ld bytes before EAGAIN (%s)", sizes[i], tot, ename(errno));
        int out = 0;
        ioctl(sv[0], SIOCOUTQ, &out);
        say("  SIOCOUTQ %d", out);
        close(sv[0]);
        close(sv[1]);
    }
    int sv[2];
    MUST(sock_pair(SOCK_STREAM | SOCK_NONBLOCK, sv));
    say("stream, one 1 MiB write: %zd", write(sv[0], buf, sizeof buf));
    int v = 16384;
    MUST(sock_pair(SOCK_STREAM | SOCK_NONBLOCK, sv));
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    say("stream, SO_SNDBUF 16384, one 1 MiB write: %zd", write(sv[0], buf, sizeof buf));
    int dsizes[3] = {1, 1000, 20000};
    for (int i = 0; i < 3; i++) {
        MUST(sock_pair(SOCK_DGRAM | SOCK_NONBLOCK, sv));
        int k = 0;
        while (write(sv[0], buf, dsizes[i]) > 0) k++;
        int out = 0;
        ioctl(sv[0], SIOCOUTQ, &out);
        say("dgram pair, %d-byte datagrams: %d before EAGAIN, SIOCOUTQ %d", dsizes[i], k, out);
    }
    /* A blocked writer resumes as the reader drains. */
    MUST(sock_pair(SOCK_STREAM, sv));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        long t = 0;
        for (int i = 0; i < 8; i++) t += write(sv[0], buf, sizeof buf);
        say("writer wrote %ld", t);
        _exit(0);
    }
    long got = 0;
    ssize_t n;
    close(sv[0]);
    while ((n = read(sv[1], buf, sizeof buf)) > 0) got += n;
    wait_child(c);
    say("reader got %ld", got);
}

static void mmsg(void) {
    int sv[2];
    MUST(sock_pair(SOCK_DGRAM, sv));
    struct mmsghdr mm[4];
    struct iovec iv[4];
    char data[4][8] = {"one", "two2", "three", "f"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) {
        iv[i].iov_base = data[i];
        iv[i].iov_len = strlen(data[i]);
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK(sendmmsg(sv[0], mm, 3, 0) == 3, "sendmmsg 3");
    CHECK(mm[0].msg_len == 3 && mm[1].msg_len == 4 && mm[2].msg_len == 5, "msg_len set");
    CHECK(sendmmsg(sv[0], mm, 0, 0) == 0, "sendmmsg 0");
    char rb[5][16];
    struct iovec ri[5];
    struct mmsghdr rm[5];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 5; i++) {
        ri[i].iov_base = rb[i];
        ri[i].iov_len = 4;
        rm[i].msg_hdr.msg_iov = &ri[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK(recvmmsg(sv[1], rm, 5, MSG_DONTWAIT, NULL) == 3, "recvmmsg gets 3 of 5");
    CHECK(rm[0].msg_len == 3 && rm[1].msg_len == 4 && rm[2].msg_len == 4 && (rm[2].msg_hdr.msg_flags & MSG_TRUNC),
          "lengths and MSG_TRUNC");
    CHECK_ERR(recvmmsg(sv[1], rm, 5, MSG_DONTWAIT, NULL), EAGAIN, "empty: EAGAIN");
    sendmmsg(sv[0], mm, 2, 0);
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        usleep(50000);
        send(sv[0], "late", 4, 0);
        _exit(0);
    }
    struct timespec ts = {5, 0};
    CHECK(recvmmsg(sv[1], rm, 3, MSG_WAITFORONE, &ts) == 2, "MSG_WAITFORONE returns what is there after the first");
    CHECK(recvmmsg(sv[1], rm, 1, 0, &ts) == 1 && rm[0].msg_len == 4, "then the late one");
    wait_child(c);
    /* An error after some messages returns the count. */
    int p[2];
    MUST(sock_pair(SOCK_SEQPACKET, p));
    struct iovec badv = {(void *)1, 4};
    mm[1].msg_hdr.msg_iov = &badv;
    CHECK(sendmmsg(p[0], mm, 3, 0) == 1, "sendmmsg stops at the failing message");
    CHECK_ERR(sendmmsg(p[0], &mm[1], 1, 0), EFAULT, "the failing one alone: EFAULT");
    CHECK_ERR(sendmmsg(p[0], (void *)1, 1, 0), EFAULT, "bad vector: EFAULT");
    CHECK_ERR(recvmmsg(p[1], rm, 1, MSG_DONTWAIT, (void *)1), EFAULT, "bad timeout pointer: EFAULT");
    struct timespec badts = {0, 2000000000};
    CHECK_ERR(recvmmsg(p[1], rm, 1, 0, &badts), EINVAL, "bad timeout: EINVAL");
}

static void efault(void) {
    ign_sigpipe();
    int sv[2];
    MUST(sock_pair(SOCK_STREAM, sv));
    CHECK_ERR(send(sv[0], (void *)1, 4, 0), EFAULT, "send from a bad buffer");
    CHECK_ERR(write(sv[0], (void *)1, 4), EFAULT, "write from a bad buffer");
    write(sv[0], "data", 4);
    CHECK_ERR(recv(sv[1], (void *)1, 4, 0), EFAULT, "recv into a bad buffer");
    char b[8];
    CHECK(recv(sv[1], b, sizeof b, 0) == 4, "the data was not consumed");
    struct sockaddr_un g;
    CHECK_ERR(getsockname(sv[0], (void *)&g, (socklen_t *)1), EFAULT, "getsockname bad length pointer");
    socklen_t gl = sizeof g;
    CHECK_ERR(getsockname(sv[0], (void *)1, &gl), EFAULT, "getsockname bad address");
    gl = (socklen_t)-1;
    CHECK_ERR(getsockname(sv[0], (void *)&g, &gl), EINVAL, "getsockname negative length");
    CHECK_ERR(sendmsg(sv[0], (void *)1, 0), EFAULT, "sendmsg bad msghdr");
    CHECK_ERR(recvmsg(sv[0], (void *)1, 0), EFAULT, "recvmsg bad msghdr");
    struct msghdr m = {0};
    m.msg_iov = (void *)1;
    m.msg_iovlen = 1;
    CHECK_ERR(sendmsg(sv[0], &m, 0), EFAULT, "sendmsg bad iovec array");
    m.msg_iovlen = 1025;
    struct iovec iv = {b, 1};
    m.msg_iov = &iv;
    CHECK_ERR(sendmsg(sv[0], &m, 0), EMSGSIZE, "sendmsg 1025 iovecs: EMSGSIZE");
    CHECK_ERR(recvmsg(sv[0], &m, 0), EMSGSIZE, "recvmsg 1025 iovecs: EMSGSIZE");
    int d[2];
    MUST(sock_pair(SOCK_DGRAM, d));
    send(d[0], "dg", 2, 0);
    CHECK_ERR(recv(d[1], (void *)1, 2, 0), EFAULT, "datagram into a bad buffer: EFAULT");
    CHECK_ERR(recv(d[1], b, 2, MSG_DONTWAIT), EAGAIN, "and the datagram is gone");
    CHECK_ERR(sendto(d[0], "x", 1, 0, (void *)1, 10), EFAULT, "sendto bad address");
    send(d[0], "dg", 2, 0);
    CHECK_ERR(recvfrom(d[1], b, 2, 0, (void *)&g, (socklen_t *)1), EFAULT, "recvfrom bad length pointer");
    struct sockaddr_un a;
    socklen_t al = uabs(&a, "ef");
    int l = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(bind(l, (void *)&a, al));
    MUST(listen(l, 2));
    int c = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(connect(c, (void *)&a, al));
    CHECK_ERR(accept(l, (void *)&g, (socklen_t *)1), EFAULT, "accept bad length pointer");
    CHECK_ERR(connect(MUST(socket(AF_UNIX, SOCK_STREAM, 0)), (void *)1, al), EFAULT, "connect bad address");
}

static void proc_net_unix(void) {
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, tpath("pnu"));
    int l = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(bind(l, (void *)&a, al));
    MUST(listen(l, 4));
    int c = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(connect(c, (void *)&a, al));
    struct sockaddr_un ab;
    char an[32];
    int anl = snprintf(an, sizeof an, "moat-pnu-%d", getpid());
    an[anl] = 0;
    socklen_t abl = mkabs(&ab, an, anl + 1); /* trailing NUL inside the name */
    int d = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    MUST(bind(d, (void *)&ab, abl));
    struct stat ls, ds;
    fstat(l, &ls);
    fstat(d, &ds);
    FILE *f = fopen("/proc/net/unix", "r");
    CHECK(f != NULL, "/proc/net/unix opens");
    if (!f) return;
    char line[512];
    CHECK(fgets(line, sizeof line, f) && !strcmp(line, "Num       RefCount Protocol Flags    Type St Inode Path\n"), "header");
    char want[300];
    snprintf(want, sizeof want, "@%s@\n", an);
    int found = 0;
    char seen[8][160];
    while (fgets(line, sizeof line, f) && found < 8) {
        char num[32];
        unsigned ref, proto, flags, type, st;
        unsigned long ino;
        char path[300] = "";
        int k = sscanf(line, "%31s %x %x %x %x %x %lu %299s", num, &ref, &proto, &flags, &type, &st, &ino, path);
        if (k < 7) continue;
        size_t nl = strlen(num);
        int hexnum = nl == 17 && num[16] == ':';
        const char *tail = strchr(line, '\n') ? line + strlen(line) - strlen(want) : line;
        if (!strcmp(path, tpath("pnu"))) {
            if (ino == ls.st_ino)
                snprintf(seen[found++], 160, "listener: proto %u flags %05x type %u state %u num-format %d", proto, flags,
                         type, st, hexnum);
            else
                snprintf(seen[found++], 160, "other with the path: flags %05x type %u state %u inode %lu", flags, type,
                         st, ino);
        }
        if (strlen(line) > strlen(want) && !strcmp(tail, want) && ino == ds.st_ino)
            snprintf(seen[found++], 160, "abstract: flags %05x type %u state %u", flags, type, st);
    }
    fclose(f);
    qsort(seen, found, sizeof seen[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < found; i++) say("%s", seen[i]);
    CHECK(found == 3, "found the listener, the embryo and the abstract socket: %d", found);
    char lnk[64];
    ssize_t n = readlink("/proc/net", lnk, sizeof lnk - 1);
    lnk[n < 0 ? 0 : n] = 0;
    say("/proc/net -> %s", lnk);
    CHECK(access("/proc/self/net/unix", R_OK) == 0, "/proc/self/net/unix exists");
}

static int atmark(int s) {
    int v = -1;
    ioctl(s, SIOCATMARK, &v);
    return v;
}

static void oob(void) {
    ign_sigpipe();
    int sv[2];
    MUST(sock_pair(SOCK_STREAM, sv));
    char b[16];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CHECK_ERR(send(sv[0], "", 0, MSG_OOB), EOPNOTSUPP, "MSG_OOB with no data: EOPNOTSUPP");
    CHECK_ERR(recv(sv[1], b, 1, MSG_OOB | MSG_DONTWAIT), EINVAL, "recv MSG_OOB with none pending: EINVAL");
    CHECK(atmark(sv[1]) == 0, "SIOCATMARK 0 on an empty queue");
    CHECK(send(sv[0], "abc", 3, MSG_OOB) == 3, "send 3 bytes with MSG_OOB");
    int n = -1;
    ioctl(sv[1], FIONREAD, &n);
    say("FIONREAD with urgent data: %d", n);
    say("poll: %s", evs(pollev(sv[1], ALLPOLL)));
    CHECK(atmark(sv[1]) == 0, "not at the mark");
    CHECK(recv(sv[1], b, sizeof b, 0) == 2 && !memcmp(b, "ab", 2), "a read stops before the urgent byte");
    CHECK(atmark(sv[1]) == 1, "at the mark");
    CHECK(recv(sv[1], b, 1, MSG_OOB | MSG_PEEK) == 1 && b[0] == 'c', "peek the urgent byte");
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    iov.iov_len = sizeof b;
    CHECK(recvmsg(sv[1], &m, MSG_OOB) == 1 && b[0] == 'c' && (m.msg_flags & MSG_OOB), "recv MSG_OOB gets it, with MSG_OOB");
    say("poll after: %s", evs(pollev(sv[1], ALLPOLL)));
    CHECK_ERR(recv(sv[1], b, 1, MSG_OOB | MSG_DONTWAIT), EINVAL, "only once");
    CHECK_ERR(recv(sv[1], b, 1, MSG_DONTWAIT), EAGAIN, "nothing left inline");
    /* Read past the mark without MSG_OOB: the urgent byte is dropped. */
    send(sv[0], "x", 1, 0);
    send(sv[0], "y", 1, MSG_OOB);
    send(sv[0], "z", 1, 0);
    CHECK(recv(sv[1], b, sizeof b, 0) == 1 && b[0] == 'x', "up to the mark");
    CHECK(recv(sv[1], b, sizeof b, MSG_PEEK) == 1 && b[0] == 'z', "a peek skips the urgent byte");
    CHECK(recv(sv[1], b, sizeof b, 0) == 1 && b[0] == 'z', "the urgent byte is gone from the stream");
    CHECK_ERR(recv(sv[1], b, 1, MSG_OOB | MSG_DONTWAIT), EINVAL, "and from MSG_OOB");
    /* A newer urgent byte makes the older one ordinary data. */
    send(sv[0], "1", 1, MSG_OOB);
    send(sv[0], "2", 1, MSG_OOB);
    CHECK(recv(sv[1], b, sizeof b, 0) == 1 && b[0] == '1', "the older urgent byte reads inline");
    CHECK(recv(sv[1], b, 1, MSG_OOB) == 1 && b[0] == '2', "the newer one is urgent");
    /* SO_OOBINLINE: urgent data stays in the stream. */
    int one = 1;
    MUST(setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &one, sizeof one));
    send(sv[0], "pq", 2, MSG_OOB);
    send(sv[0], "r", 1, 0);
    CHECK_ERR(recv(sv[1], b, 1, MSG_OOB | MSG_DONTWAIT), EINVAL, "SO_OOBINLINE: recv MSG_OOB is EINVAL");
    CHECK(recv(sv[1], b, sizeof b, 0) == 1 && b[0] == 'p', "reads stop at the mark");
    CHECK(recv(sv[1], b, sizeof b, 0) == 2 && !memcmp(b, "qr", 2), "then the urgent byte inline");
    /* Errors. */
    int s = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(send(s, "x", 1, MSG_OOB), ENOTCONN, "MSG_OOB unconnected: ENOTCONN");
    shutdown(sv[1], SHUT_RD);
    CHECK_ERR(send(sv[0], "x", 1, MSG_OOB), EPIPE, "MSG_OOB to a socket shut for reading: EPIPE");
    int q[2];
    MUST(sock_pair(SOCK_SEQPACKET, q));
    CHECK_ERR(send(q[0], "x", 1, MSG_OOB), EOPNOTSUPP, "MSG_OOB on seqpacket");
}

int main(int argc, char **argv) {
    struct tcase cases[] = {
        CASE(create_errors), CASE(stream_pair), CASE(bind_var_tmp), CASE(dgram_pair),    CASE(seqpacket_pair), CASE(bind_path),
        CASE(perms),         CASE(abstract_names), CASE(listen_accept), CASE(dgram_named), CASE(scm_rights),
        CASE(fork_pass),     CASE(scm_creds),   CASE(sockopts),       CASE(timeouts),       CASE(poll_states),
        CASE(sndbuf_limits), CASE(mmsg),        CASE(efault),         CASE(proc_net_unix),  CASE(oob),
        {0, 0},
    };
    return run_cases(cases, argc, argv);
}
