#!/usr/bin/env python3
"""A console-socket receiver for the OCI lifecycle tests (like runc's recvtty).

recvtty.py SOCKET INPUT OUTFILE: listens on SOCKET, takes the pty master a runtime sends
(SCM_RIGHTS), writes INPUT (with \\n escapes) to it, and copies everything the master
reads to OUTFILE until the terminal hangs up (EIO/EOF). Prints "ready" once listening.
"""
import os
import socket
import sys

path, data, out = sys.argv[1], sys.argv[2].encode().decode("unicode_escape"), sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
master = fds[0]
if data:
    os.write(master, data.encode())
with open(out, "wb") as f:
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:
            break
        if not b:
            break
        f.write(b)
        f.flush()
