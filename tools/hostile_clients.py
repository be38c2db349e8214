#!/usr/bin/env python3
"""Hostile client loads against a running server (organic-server or redis-server), for
tools/bench-clients.sh. Raw sockets only; one load process, one PING prober process.

Loads (any mix, all at once):
  --non-readers N   clients that each send --pipeline GETs of a --value-size value and never
                    read a reply (their receive buffer is made small)
  --slow-loris N    clients that each send one byte every 100 ms ("PING\\r\\n" spelled out) and
                    read what comes back
  --idle N          clients that connect and say nothing
  --active N        clients that SET then GET their own key in a loop, reading every reply

Meanwhile a separate process (a normal client) sends PING every 5 ms on its own connection
and records each round trip; the server's VmRSS is sampled every 100 ms from /proc/<pid>.
As a safety for servers without a bound, the server is SIGKILLed when its RSS passes
--kill-rss-mb (reported as killed). Prints one JSON object.
"""
import argparse
import json
import multiprocessing
import os
import selectors
import signal
import socket
import time


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def prober(port, seconds, out_queue, ready):
    """A normal client: PING every 5 ms; latencies in ms (a failure counts as 10 s). It
    connects and sends a first PING before the load starts (ready), so a connect that waits in
    a full accept queue during the load's connection burst is not counted as PING latency."""
    lat = []
    failures = 0
    s = connect(port)
    s.settimeout(10)
    s.sendall(b"PING\r\n")
    s.recv(64)
    ready.set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if s is None:
                s = connect(port)
                s.settimeout(10)
            t0 = time.perf_counter()
            s.sendall(b"PING\r\n")
            got = b""
            while not got.endswith(b"\r\n"):
                chunk = s.recv(64)
                if not chunk:
                    raise OSError("closed")
                got += chunk
            lat.append((time.perf_counter() - t0) * 1000)
        except OSError:
            failures += 1
            lat.append(10000.0)
            if s is not None:
                s.close()
            s = None
        time.sleep(0.005)
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p / 100))], 2) if lat else None

    out_queue.put({"ping_samples": len(lat), "ping_failures": failures, "ping_p50_ms": pct(50),
                   "ping_p99_ms": pct(99), "ping_max_ms": round(lat[-1], 2) if lat else None})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--non-readers", type=int, default=0)
    ap.add_argument("--pipeline", type=int, default=100)
    ap.add_argument("--value-size", type=int, default=1 << 20)
    ap.add_argument("--slow-loris", type=int, default=0)
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--active", type=int, default=0)
    ap.add_argument("--kill-rss-mb", type=float, default=4096)
    a = ap.parse_args()

    setup = connect(a.port)
    setup.sendall(resp("SET", "hostile:value", b"v" * a.value_size))
    assert setup.recv(16).startswith(b"+OK"), "SET of the value failed"
    setup.close()

    q = multiprocessing.Queue()
    ready = multiprocessing.Event()
    probe = multiprocessing.Process(target=prober, args=(a.port, a.seconds, q, ready))
    probe.start()
    ready.wait(10)
    start = time.monotonic()
    sel = selectors.EpollSelector()
    refused = 0
    conns = {"idle": [], "loris": [], "nonreader": [], "active": []}

    def open_many(kind, n, rcvbuf=None):
        nonlocal refused
        for _ in range(n):
            try:
                conns[kind].append(connect(a.port, rcvbuf))
            except OSError:
                refused += 1

    open_many("idle", a.idle)
    open_many("loris", a.slow_loris)
    open_many("nonreader", a.non_readers, rcvbuf=4096)
    open_many("active", a.active)
    gets = resp("GET", "hostile:value") * a.pipeline
    for s in conns["nonreader"]:
        s.setblocking(False)
        try:
            s.send(gets)  # what the kernel takes now; the rest is never sent: fine
        except OSError:
            pass
    for s in conns["loris"] + conns["active"]:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)

    # Active clients: one SET + GET round trip at a time each.
    active_state = {}
    for i, s in enumerate(conns["active"]):
        key = "hostile:active:%d" % i
        val = b"x" * 32
        req = resp("SET", key, val) + resp("GET", key)
        want = len(b"+OK\r\n") + len(b"$32\r\n") + 32 + 2
        active_state[s.fileno()] = [s, req, want, 0]
        try:
            s.send(req)
        except OSError:
            pass
    ops = 0
    loris_msg = b"PING\r\n"
    loris_pos = 0
    next_loris = time.monotonic()
    next_sample = time.monotonic()
    peak = rss_mb(a.pid)
    samples = []
    killed = False
    closed_by_server = 0
    while time.monotonic() - start < a.seconds:
        now = time.monotonic()
        if now >= next_sample:
            next_sample += 0.1
            r = rss_mb(a.pid)
            samples.append(r)
            peak = max(peak, r)
            if r > a.kill_rss_mb and not killed:
                os.kill(a.pid, signal.SIGKILL)
                killed = True
                break
        if now >= next_loris and conns["loris"]:
            next_loris += 0.1
            b = loris_msg[loris_pos % len(loris_msg):loris_pos % len(loris_msg) + 1]
            loris_pos += 1
            for s in conns["loris"]:
                try:
                    s.send(b)
                except OSError:
                    pass
        for key, _ in sel.select(timeout=0.01):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                closed_by_server += 1
                continue
            st = active_state.get(s.fileno())
            if st is not None:
                st[3] += len(data)
                if st[3] >= st[2]:
                    st[3] -= st[2]
                    ops += 2
                    try:
                        s.send(st[1])
                    except OSError:
                        pass
    elapsed = time.monotonic() - start
    # What the server says, while every load connection is still open.
    info = {}
    if not killed:
        try:
            c = connect(a.port)
            c.settimeout(10)
            c.sendall(b"INFO stats\r\nINFO clients\r\n")
            text = b""
            while text.count(b"connected_clients:") == 0 or not text.endswith(b"\r\n\r\n"):
                chunk = c.recv(65536)
                if not chunk:
                    break
                text += chunk
            for line in text.decode(errors="replace").split("\r\n"):
                k, _, v = line.partition(":")
                if k in ("connected_clients", "evicted_clients",
                         "client_output_buffer_limit_disconnections"):
                    info[k] = int(v)
            c.close()
        except OSError:
            pass
    probe.join(timeout=a.seconds + 30)
    result = q.get() if not q.empty() else {}
    result.update({
        "seconds": round(elapsed, 1), "rss_peak_mb": round(peak, 1),
        "rss_end_mb": round(samples[-1], 1) if samples else None, "killed_over_mb": a.kill_rss_mb if killed else None,
        "connections_refused": refused, "loris_closed_by_server": closed_by_server,
        "connected_at_end": info.get("connected_clients"),
        "evicted_clients": info.get("evicted_clients"),
        "obuf_limit_closes": info.get("client_output_buffer_limit_disconnections"),
        "active_ops_per_sec": round(ops / elapsed) if a.active else None,
    })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
