"""netfault: a TCP proxy on 127.0.0.1 that passes, black-holes or delays the
traffic between one client and one server, switched from outside while
connections stay open. The chaos suite (tests/chaos) puts it between one
worker and the coordinator to cut that worker off without killing anything.

    netfault.py --upstream=127.0.0.1:50051 --ready_file=/tmp/nf.json [--listen=127.0.0.1:0]

The ready file (written atomically once it serves) holds
{"port": P, "control_port": C}. Point the client at 127.0.0.1:P. The
control port takes one command per line and answers one JSON line
({"ok": true, ...stats} or {"ok": false, "error": ...}):

    pass            forward everything (what was held goes out now, in order)
    hold            black-hole both directions: accept and keep the bytes,
                    forward nothing (TCP stays up, as in a partition)
    hold up|down    black-hole only client->server (up) or server->client (down)
    delay [up|down] MS [spare N]
                    forward each chunk MS milliseconds after it arrived (both
                    directions, or only client->server / server->client),
                    except the first N chunks of each connection (spare 1 on
                    `down` lets the server's HTTP/2 settings through, so a
                    client's connect timeout is not what the delay tests)
    stats           the mode and byte counters, changes nothing

Held bytes are not dropped: `pass` releases them, like a partition that
heals and lets TCP retransmit. A connection whose other side closes is closed
after what it had buffered was written (or at once while held). Bounded:
each direction buffers at most --max_buffer_bytes (then stops reading, so
TCP flow control pushes back), every wait has a timeout, and the process
exits by itself after --max_runtime_s. SIGTERM/SIGINT stop it.

`Control` (below) is the client of the control port, for drivers in Python.
"""

import argparse
import collections
import json
import os
import signal
import socket
import sys
import threading
import time

POLL_S = 0.05


class _State:
    """The switch, shared by all connections; `cond` guards every field here
    and every pipe's queue (one lock: traffic here is one worker's)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.hold_up = False
        self.hold_down = False
        self.delay_s = {"up": 0.0, "down": 0.0}
        # The first chunks of each connection that the delay spares (the
        # server's HTTP/2 settings: a client's connect timeout covers them).
        self.spare_chunks = {"up": 0, "down": 0}
        self.connections = 0
        self.bytes = {"up": 0, "down": 0}
        self.held = {"up": 0, "down": 0}
        self.stopping = False

    def stats(self):
        mode = "delay" if any(self.delay_s.values()) else "pass"
        if self.hold_up or self.hold_down:
            mode = "hold" if self.hold_up and self.hold_down else (
                "hold up" if self.hold_up else "hold down")
        return {"mode": mode, "delay_up_ms": round(self.delay_s["up"] * 1000, 3),
                "delay_down_ms": round(self.delay_s["down"] * 1000, 3),
                "connections": self.connections, "bytes_up": self.bytes["up"],
                "bytes_down": self.bytes["down"], "buffered_up": self.held["up"],
                "buffered_down": self.held["down"]}

    def held_dir(self, direction):
        return self.hold_up if direction == "up" else self.hold_down


class _Pipe:
    """One direction of one connection: a reader thread queues chunks with
    their arrival time, a writer thread forwards them when the switch allows."""

    def __init__(self, state, src, dst, direction, max_buffer, on_close):
        self.state = state
        self.src = src
        self.dst = dst
        self.direction = direction
        self.max_buffer = max_buffer
        self.on_close = on_close
        self.queue = collections.deque()
        self.sending = False  # A chunk is being written (order: one at a time).
        self.chunks = 0  # Read so far.
        self.buffered = 0
        self.eof = False
        self.closed = False
        self.threads = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._write, daemon=True)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def _read(self):
        cond = self.state.cond
        while True:
            with cond:
                while self.buffered >= self.max_buffer and not self.closed:
                    cond.wait(POLL_S)
                if self.closed:
                    return
            try:
                data = self.src.recv(65536)
            except OSError:
                data = b""
            with cond:
                if not data:
                    self.eof = True
                    cond.notify_all()
                    return
                self.chunks += 1
                spared = self.chunks <= self.state.spare_chunks[self.direction]
                # Passing, nothing queued or being written: forward it from
                # this thread (one wake-up less per chunk on a busy machine).
                direct = (not self.queue and not self.sending
                          and not self.state.held_dir(self.direction)
                          and (spared or self.state.delay_s[self.direction] == 0))
                if direct:
                    self.sending = True
                else:
                    # A spared chunk counts as having arrived long ago: due now.
                    self.queue.append((float("-inf") if spared else time.monotonic(), data))
                    self.buffered += len(data)
                    self.state.held[self.direction] += len(data)
                    cond.notify_all()
            if direct and not self._send(data):
                return

    def _send(self, data):
        """Writes one chunk (self.sending is set); False after an error."""
        try:
            self.dst.sendall(data)
        except OSError:
            with self.state.cond:
                self.sending = False
                self.state.cond.notify_all()
            self.on_close(True)
            return False
        with self.state.cond:
            self.sending = False
            self.state.bytes[self.direction] += len(data)
            self.state.cond.notify_all()
        return True

    def _write(self):
        cond = self.state.cond
        while True:
            data = None
            with cond:
                while data is None:
                    if self.closed:
                        return
                    held = self.state.held_dir(self.direction)
                    if self.sending:
                        cond.wait(POLL_S)
                        continue
                    if self.eof and (held or not self.queue):
                        break  # The sender is gone and nothing more may go out.
                    if held or not self.queue:
                        cond.wait(POLL_S)
                        continue
                    due = self.queue[0][0] + self.state.delay_s[self.direction]
                    now = time.monotonic()
                    if due > now:
                        cond.wait(min(POLL_S, due - now))
                        continue
                    _, data = self.queue.popleft()
                    self.buffered -= len(data)
                    self.state.held[self.direction] -= len(data)
                    self.sending = True
            if data is None:
                try:
                    self.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self.on_close(False)
                return
            if not self._send(data):
                return


class _Connection:
    def __init__(self, state, client, upstream, max_buffer):
        self.state = state
        self.sockets = (client, upstream)
        self.lock = threading.Lock()
        self.ends = 0
        self.pipes = [_Pipe(state, client, upstream, "up", max_buffer, self._pipe_done),
                      _Pipe(state, upstream, client, "down", max_buffer, self._pipe_done)]

    def start(self):
        with self.state.cond:
            self.state.connections += 1
        for pipe in self.pipes:
            pipe.start()

    def _pipe_done(self, failed):
        # Close the sockets once both directions ended, or at once on an error.
        with self.lock:
            self.ends += 1
            last = self.ends >= 2
        if last or failed:
            self.close()

    def close(self):
        with self.state.cond:
            if all(pipe.closed for pipe in self.pipes):
                return
            for pipe in self.pipes:
                pipe.closed = True
                self.state.held[pipe.direction] -= pipe.buffered
                pipe.buffered = 0
                pipe.queue.clear()
            self.state.connections -= 1
            self.state.cond.notify_all()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _parse_hostport(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def _apply(state, line):
    words = line.split()
    with state.cond:
        if words == ["pass"]:
            state.hold_up = state.hold_down = False
            state.delay_s = {"up": 0.0, "down": 0.0}
            state.spare_chunks = {"up": 0, "down": 0}
        elif words == ["hold"]:
            state.hold_up = state.hold_down = True
        elif words == ["hold", "up"]:
            state.hold_up = True
        elif words == ["hold", "down"]:
            state.hold_down = True
        elif words and words[0] == "delay":
            spare = 0
            if len(words) >= 4 and words[-2] == "spare":
                try:
                    spare = int(words[-1])
                except ValueError:
                    return {"ok": False, "error": f"spare needs a chunk count, got {words[-1]!r}"}
                words = words[:-2]
            if len(words) not in (2, 3) or (len(words) == 3 and words[1] not in ("up", "down")):
                return {"ok": False, "error": f"usage: delay [up|down] MS [spare N], got {line!r}"}
            try:
                delay_ms = float(words[-1])
            except ValueError:
                return {"ok": False, "error": f"delay needs milliseconds, got {words[-1]!r}"}
            if not 0 <= delay_ms <= 600000:
                return {"ok": False, "error": f"delay must be in [0, 600000] ms, got {delay_ms}"}
            state.hold_up = state.hold_down = False
            for direction in ([words[1]] if len(words) == 3 else ["up", "down"]):
                state.delay_s[direction] = delay_ms / 1000.0
                state.spare_chunks[direction] = spare
        elif words != ["stats"]:
            return {"ok": False, "error": f"unknown command {line.strip()!r}; "
                    "use pass, hold [up|down], delay [up|down] MS [spare N] or stats"}
        state.cond.notify_all()
        return {"ok": True, **state.stats()}


def _accept_loop(state, server, handle):
    """Hands each accepted connection to handle() until stopping (the accept
    timeout bounds each wait)."""
    while not state.stopping:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        handle(conn)


def _serve_control(state, server):
    def handle(conn):
        with conn:
            conn.settimeout(5.0)
            try:
                reader = conn.makefile("r")
                for line in reader:
                    reply = _apply(state, line)
                    conn.sendall((json.dumps(reply) + "\n").encode())
            except OSError:
                pass

    _accept_loop(state, server, handle)


def _serve_proxy(state, server, upstream, max_buffer):
    def handle(client):
        try:
            up = socket.create_connection(upstream, timeout=2.0)
        except OSError:
            client.close()  # No server: the client sees its connection end.
            return
        up.settimeout(None)
        client.settimeout(None)
        for sock in (client, up):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _Connection(state, client, up, max_buffer).start()

    _accept_loop(state, server, handle)


def _listen(host, port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(64)
    server.settimeout(POLL_S * 4)
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="host:port of the server")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--control", default="127.0.0.1:0")
    parser.add_argument("--ready_file", required=True)
    parser.add_argument("--max_buffer_bytes", type=int, default=16 << 20)
    parser.add_argument("--max_runtime_s", type=float, default=600.0)
    args = parser.parse_args(argv)
    state = _State()
    proxy = _listen(*_parse_hostport(args.listen))
    control = _listen(*_parse_hostport(args.control))
    threads = [
        threading.Thread(target=_serve_proxy, daemon=True,
                         args=(state, proxy, _parse_hostport(args.upstream),
                               args.max_buffer_bytes)),
        threading.Thread(target=_serve_control, daemon=True, args=(state, control)),
    ]
    for thread in threads:
        thread.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": proxy.getsockname()[1], "control_port": control.getsockname()[1],
                   "pid": os.getpid()}, f)
    os.replace(tmp, args.ready_file)
    deadline = time.monotonic() + args.max_runtime_s
    while not stop.is_set() and time.monotonic() < deadline:
        stop.wait(POLL_S * 4)  # Short waits: a signal is seen within one.
    state.stopping = True
    proxy.close()
    control.close()
    # The pipe threads may sit in recv() on open connections; exit without
    # waiting for the interpreter to tear them down.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class Control:
    """Client of a running netfault's control port (one command per call)."""

    def __init__(self, control_port, host="127.0.0.1", timeout_s=5.0):
        self.address = (host, control_port)
        self.timeout_s = timeout_s

    def send(self, command):
        """The reply as a dict; RuntimeError if the proxy refused the command."""
        with socket.create_connection(self.address, timeout=self.timeout_s) as conn:
            conn.sendall((command + "\n").encode())
            reply = json.loads(conn.makefile("r").readline())
        if not reply.get("ok"):
            raise RuntimeError(f"netfault refused {command!r}: {reply.get('error')}")
        return reply


if __name__ == "__main__":
    sys.exit(main())
