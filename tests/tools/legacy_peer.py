#!/usr/bin/env python3
"""A stand-in for the original CMB folder-sync scripts, for the tests.

Written from the protocol's description (docs/PROTOCOL.md, "Legacy CMB
protocol"), deliberately as naive as the originals:

  legacy_peer.py client HOST PORT DIR [--idle SECS]
      The old client: greets, buffers what arrives, takes the text between
      the first CMB_BEGIN and the first CMB_END in its buffer as a command,
      recognises End by its first three bytes, File: and Folder: by prefix
      and Sync by equality (wiping DIR), appends anything else to the
      current file. Stops when the server closes the connection or after
      SECS of silence (default 30); prints "stopped: closed" or
      "stopped: idle" and exits 0.

  legacy_peer.py server DIR [--port N] [--bind ADDR] [--no-greeting]
                 [--omit-folders] [--inject CMD]... [--inject-after CMD]...
                 [--close-after]
      The old server: for each client, reads its greeting, sends a greeting
      line, Sync, then walks DIR depth first (a folder's Folder: before its
      contents, symlinks skipped) sending Folder:, File:, the file in naive
      4096-byte data commands, End. Never closes the connection (unless
      --close-after). Prints "serving DIR on ADDR:PORT" on stderr.
      --inject CMD sends a raw command right after Sync, --inject-after after
      the tree (repeatable, in order; "\\xNN" escapes allowed): hostile names,
      resent files, a file cut off. --omit-folders leaves out every Folder:.

Python 3 standard library only.
"""

import argparse
import os
import shutil
import socket
import socketserver
import sys
import threading

BEGIN = b"CMB_BEGIN"
END = b"CMB_END"
CHUNK = 4096


def frame(cmd):
    return BEGIN + cmd + END


def unescape(text):
    """'\\x00'-style escapes in a command-line string, to bytes."""
    return os.fsencode(text).decode("unicode_escape").encode("latin-1")


# --------------------------------------------------------------------------
# The old client


class OldClient:
    def __init__(self, root):
        self.root = os.fsencode(root)
        self.current = None
        self.orphan_data = 0

    def target(self, rel):
        # Only a guard for the tests: the old client trusted every name, and
        # a test peer must never write outside its folder.
        if rel.startswith(b"/") or b".." in rel.split(b"/"):
            sys.exit("legacy_peer client: refusing unsafe name %r" % rel)
        return os.path.join(self.root, rel)

    def wipe(self):
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)

    def dispatch(self, cmd):
        if cmd[:3] == b"End":
            self.current = None
        elif cmd.startswith(b"File:"):
            self.current = self.target(cmd[5:])
        elif cmd.startswith(b"Folder:"):
            os.makedirs(self.target(cmd[7:]), exist_ok=True)
        elif cmd == b"Sync":
            self.wipe()
        elif self.current is None:
            self.orphan_data += 1
        else:
            # Created on first data only: the old client never makes empty files.
            with open(self.current, "ab") as f:
                f.write(cmd)

    def run(self, host, port, idle):
        os.makedirs(self.root, exist_ok=True)
        sock = socket.create_connection((host, port))
        sock.sendall(b"hello\r\n")
        sock.settimeout(idle)
        buf = b""
        how = "closed"
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                how = "idle"
                break
            if not data:
                break
            buf += data
            while END in buf:
                b = buf.find(BEGIN)
                e = buf.find(END)
                cmd = buf[b + len(BEGIN):e] if b >= 0 else buf[:e]
                buf = buf[e + len(END):]
                self.dispatch(cmd)
        sock.close()
        print("stopped: " + how)
        if self.orphan_data:
            print("orphan data commands: %d" % self.orphan_data)


# --------------------------------------------------------------------------
# The old server


def walk_commands(root, omit_folders):
    """Yields the commands for root's tree, as the old server sent them."""
    root = os.fsencode(root)
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(folder, root)
        if rel != b"." and not omit_folders:
            yield b"Folder:" + rel
        for name in sorted(files):
            full = os.path.join(folder, name)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            path = name if rel == b"." else rel + b"/" + name
            yield b"File:" + path
            with open(full, "rb") as f:
                while True:
                    data = f.read(CHUNK)
                    if not data:
                        break
                    yield data
            yield b"End"


def make_handler(args):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            try:
                sock.recv(4096)  # the greeting
                if not args.no_greeting:
                    sock.sendall(b"CMB folder sync server ready\r\n")
                out = [frame(b"Sync")]
                out += [frame(unescape(c)) for c in args.inject]
                for cmd in walk_commands(args.dir, args.omit_folders):
                    out.append(frame(cmd))
                    if len(out) > 64:
                        sock.sendall(b"".join(out))
                        out = []
                out += [frame(unescape(c)) for c in args.inject_after]
                sock.sendall(b"".join(out))
                if args.close_after:
                    return
                while sock.recv(4096):  # never close: wait for the client to
                    pass
            except OSError:
                pass

    return Handler


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("dir")
    c.add_argument("--idle", type=float, default=30.0)
    s = sub.add_parser("server")
    s.add_argument("dir")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument("--no-greeting", action="store_true")
    s.add_argument("--omit-folders", action="store_true")
    s.add_argument("--inject", action="append", default=[])
    s.add_argument("--inject-after", action="append", default=[])
    s.add_argument("--close-after", action="store_true")
    args = p.parse_args()

    if args.role == "client":
        OldClient(args.dir).run(args.host, args.port, args.idle)
        return
    server = Server((args.bind, args.port), make_handler(args))
    host, port = server.server_address[:2]
    print("serving %s on %s:%d" % (args.dir, host, port), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
