# Python's own interfaces to the file-system extras (xattrs, memfd and seals, flock and
# lockf, copy_file_range, splice, sendfile, posix_fallocate, SEEK_DATA, statvfs, inotify),
# run natively and under moat by crates/moat/tests/fsx.rs.
import os, fcntl, tempfile, errno, struct, select
d = tempfile.mkdtemp(dir="/dev/shm")
p = os.path.join(d, "f")
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"hello world")
# xattrs
os.setxattr(p, "user.a", b"1")
os.setxattr(fd, "user.b", b"22")
print("xattrs", sorted(os.listxattr(p)), os.getxattr(p, "user.b"))
os.removexattr(p, "user.a")
try:
    os.getxattr(p, "user.a")
except OSError as e:
    print("getxattr removed:", errno.errorcode[e.errno])
# memfd
m = os.memfd_create("py", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
os.write(m, b"abc")
fcntl.fcntl(m, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK)
print("seals", fcntl.fcntl(m, fcntl.F_GET_SEALS), os.readlink("/proc/self/fd/%d" % m))
try:
    os.write(m, b"x")
except OSError as e:
    print("sealed write:", errno.errorcode[e.errno])
# locks
g = os.open(p, os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
try:
    fcntl.flock(g, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError as e:
    print("flock conflict:", errno.errorcode[e.errno])
fcntl.flock(fd, fcntl.LOCK_UN)
fcntl.lockf(fd, fcntl.LOCK_EX, 5, 0)
pid = os.fork()
if pid == 0:
    try:
        fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 2)
        print("child locked?!")
    except OSError as e:
        print("lockf conflict in child:", errno.errorcode[e.errno])
    os._exit(0)
os.waitpid(pid, 0)
# copy_file_range, splice, sendfile, fallocate
q = os.open(os.path.join(d, "g"), os.O_CREAT | os.O_RDWR, 0o644)
print("copy_file_range", os.copy_file_range(fd, q, 5, 0, 0))
r, w = os.pipe()
print("splice", os.splice(fd, w, 4, offset_src=6))
print("pipe has", os.read(r, 10))
print("sendfile", os.sendfile(w, fd, 0, 5), os.read(r, 10))
os.posix_fallocate(q, 0, 8192)
print("size", os.fstat(q).st_size, "blocks", os.fstat(q).st_blocks)
print("seek data/hole", os.lseek(q, 0, os.SEEK_DATA), os.lseek(q, 0, os.SEEK_HOLE))
st = os.statvfs(d)
print("statvfs bsize", st.f_bsize, "namemax", st.f_namemax)
# inotify via ctypes
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
i = libc.inotify_init1(os.O_NONBLOCK)
wd = libc.inotify_add_watch(i, d.encode(), 0x100 | 0x200)
os.close(os.open(os.path.join(d, "new"), os.O_CREAT | os.O_WRONLY))
os.unlink(os.path.join(d, "new"))
buf = os.read(i, 4096)
off = 0
while off < len(buf):
    wdv, mask, cookie, ln = struct.unpack_from("iIII", buf, off)
    name = buf[off + 16: off + 16 + ln].rstrip(b"\0")
    print("event", hex(mask), name)
    off += 16 + ln
p2 = select.poll(); p2.register(i, select.POLLIN); print("poll empty", p2.poll(0))
import shutil
shutil.rmtree(d)
print("done")
