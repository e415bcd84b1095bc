//! Sockets (tests/c/unix.c): Unix domain sockets of every type, names, backlogs,
//! descriptor and credential passing, options, timeouts and signals, readiness,
//! buffer limits, /proc/net/unix; and python3 programs that use them.
#[macro_use]
mod common;
use common::{cmd, require, Variant};

c_cases!("unix", Variant::Static;
    create_errors, stream_pair, bind_var_tmp, dgram_pair, seqpacket_pair, bind_path, perms, abstract_names,
    listen_accept, dgram_named, scm_rights, fork_pass, scm_creds, sockopts, timeouts,
    poll_states, sndbuf_limits, mmsg, efault, proc_net_unix, oob);

mod dynamic {
    c_cases!("unix", crate::common::Variant::Dynamic; stream_pair, scm_rights);
}

const PY: &str = "/usr/bin/python3";

#[test]
fn python_socketpair_and_server() {
    require(PY);
    cmd(&[
        PY,
        "-c",
        "import os, socket, tempfile, threading\n\
         a, b = socket.socketpair()\n\
         a.sendall(b'ping' * 1000)\n\
         got = b''\n\
         while len(got) < 4000:\n\
         \x20   got += b.recv(65536)\n\
         print('socketpair', len(got), a.family == socket.AF_UNIX, a.type == socket.SOCK_STREAM)\n\
         d = tempfile.mkdtemp()\n\
         path = os.path.join(d, 'srv.sock')\n\
         srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
         srv.bind(path)\n\
         srv.listen(8)\n\
         results = []\n\
         def serve():\n\
         \x20   for _ in range(4):\n\
         \x20       c, _ = srv.accept()\n\
         \x20       with c:\n\
         \x20           data = b''\n\
         \x20           while not data.endswith(b'\\n'):\n\
         \x20               data += c.recv(100)\n\
         \x20           c.sendall(data.upper())\n\
         t = threading.Thread(target=serve)\n\
         t.start()\n\
         def client(i):\n\
         \x20   with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:\n\
         \x20       c.connect(path)\n\
         \x20       c.sendall(b'hello %d\\n' % i)\n\
         \x20       results.append(c.makefile('rb').readline().decode().strip())\n\
         cs = [threading.Thread(target=client, args=(i,)) for i in range(4)]\n\
         [c.start() for c in cs]\n\
         [c.join() for c in cs]\n\
         t.join()\n\
         print(sorted(results))\n\
         print(os.path.exists(path), srv.getsockname() == path)\n\
         srv.close()\n\
         os.unlink(path)\n\
         os.rmdir(d)\n\
         x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         x.send(b'one'); x.send(b'two')\n\
         print(y.recv(10), y.recv(10))\n\
         r, w = os.pipe()\n\
         socket.send_fds(a, [b'fd'], [r])\n\
         msg, fds, flags, addr = socket.recv_fds(b, 10, 4)\n\
         os.write(w, b'through the passed fd')\n\
         print(msg, len(fds), os.read(fds[0], 100))\n",
    ])
    .diff();
}

#[test]
fn python_multiprocessing() {
    require(PY);
    cmd(&[
        PY,
        "-c",
        "import multiprocessing as mp\n\
         def work(q, n):\n\
         \x20   q.put((n, n * n))\n\
         def echo(conn):\n\
         \x20   while True:\n\
         \x20       m = conn.recv()\n\
         \x20       if m is None:\n\
         \x20           break\n\
         \x20       conn.send(m[::-1])\n\
         if __name__ == '__main__':\n\
         \x20   mp.set_start_method('fork')\n\
         \x20   q = mp.Queue()\n\
         \x20   ps = [mp.Process(target=work, args=(q, i)) for i in range(4)]\n\
         \x20   [p.start() for p in ps]\n\
         \x20   out = sorted(q.get() for _ in ps)\n\
         \x20   [p.join() for p in ps]\n\
         \x20   print(out, [p.exitcode for p in ps])\n\
         \x20   a, b = mp.Pipe()\n\
         \x20   p = mp.Process(target=echo, args=(b,))\n\
         \x20   p.start()\n\
         \x20   for s in ['abc', 'hello', 'x' * 100000]:\n\
         \x20       a.send(s)\n\
         \x20       r = a.recv()\n\
         \x20       print(len(r), r[:10])\n\
         \x20   a.send(None)\n\
         \x20   p.join()\n\
         \x20   print('exit', p.exitcode)\n\
         \x20   with mp.Pool(3) as pool:\n\
         \x20       print(pool.map(abs, range(-5, 5)))\n\
         \x20   from multiprocessing import reduction\n\
         \x20   import os, socket\n\
         \x20   x, y = socket.socketpair()\n\
         \x20   r, w = os.pipe()\n\
         \x20   reduction.sendfds(x, [r, w])\n\
         \x20   fds = reduction.recvfds(y, 2)\n\
         \x20   os.write(fds[1], b'dup')\n\
         \x20   print(os.read(fds[0], 3))\n",
    ])
    .diff();
}

/// multiprocessing's forkserver: the server listens on a unix socket and receives the
/// pipes of every new process with SCM_RIGHTS. It needs a script file (the children
/// import the main module), written to a private directory.
#[test]
fn python_forkserver() {
    require(PY);
    let script = "import multiprocessing as mp\n\
                  def sq(x):\n\
                  \x20   return x * x\n\
                  def put(q, i):\n\
                  \x20   q.put(i + 100)\n\
                  if __name__ == '__main__':\n\
                  \x20   mp.set_start_method('forkserver')\n\
                  \x20   with mp.Pool(2) as p:\n\
                  \x20       print(p.map(sq, range(6)))\n\
                  \x20   q = mp.Queue()\n\
                  \x20   ps = [mp.Process(target=put, args=(q, i)) for i in range(3)]\n\
                  \x20   [x.start() for x in ps]\n\
                  \x20   print(sorted(q.get() for _ in ps))\n\
                  \x20   [x.join() for x in ps]\n\
                  \x20   print([x.exitcode for x in ps])\n";
    cmd(&[
        PY,
        "-c",
        "import os, subprocess, sys, tempfile\n\
         d = tempfile.mkdtemp()\n\
         path = os.path.join(d, 'fs.py')\n\
         open(path, 'w').write(sys.argv[1])\n\
         r = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=60)\n\
         print(r.stdout, end='')\n\
         print('rc', r.returncode, 'stderr', repr(r.stderr[-300:]))\n\
         os.unlink(path)\n\
         os.rmdir(d)\n",
        script,
    ])
    .diff();
}
