#!/usr/bin/env python3
"""Data generator and checker for tools/bench-larger-than-ram.sh (run by it, not alone).

The dataset, fully determined by the two counts so the checker can recompute every byte:
  big        one hash of FIELDS fields "field:<i>" -> value(i) (100 bytes)
  set:<i>    SETS sets of 20 members "member:<i>:<j>", j = 0..19

Subcommands (PORT is the server's port):
  gen-hash FIELDS              RESP for `redis-cli --pipe` on stdout (HSET big, 100 pairs a command)
  gen-sets SETS                RESP for `redis-cli --pipe` on stdout (one SADD of 20 members a set)
  counts PORT FIELDS SETS      HLEN big, DBSIZE, SCARD of every set
  hmget PORT FIELDS            HMGET of every field in batches: every value exact
  smembers PORT SETS N         SMEMBERS of N sets (0 = all): every member exact, nothing extra
  hscan PORT FIELDS            a full HSCAN of big: every field exactly once, values exact
  sscan PORT SETS N            SSCAN (COUNT 5) of N sets (0 = all) to cursor 0: members complete
  latency PORT SETS CALLS      per-call latency of PING, HLEN big, SCARD of random sets
  del PORT                     DEL big, timed from the client
  after-del PORT FIELDS SETS N big gone (HLEN 0, HMGET all nil for a sample), sets intact

Results go to stdout as `key=value` lines (the shell script collects them); progress and
failures go to stderr. Exit status 1 if a check failed.

A minimal RESP client on a raw socket instead of redis-py: Debian's python3-redis has no
hiredis parser, and its pure-Python parser would spend minutes on the ~60M reply elements
of a full-scale run; this one slices replies out of a large receive buffer.
"""
import hashlib
import random
import socket
import sys
import time

MEMBERS = 20          # members of each set
HSET_PAIRS = 100      # field-value pairs per HSET command in gen-hash
BATCH = 1000          # fields per HMGET, sets per pipelined group
DEPTH = 8             # HMGET commands in flight


def value(i):
    """The 100-byte value of field:<i>: its number and a hash of it (different for every field,
    and not trivially compressible, so the tables hold a realistic amount of data)."""
    return b"%010d" % i + hashlib.blake2b(b"%d" % i, digest_size=45).hexdigest().encode()


def members(i):
    return [b"member:%d:%d" % (i, j) for j in range(MEMBERS)]


def resp(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


class RespError(Exception):
    pass


class Incomplete(Exception):
    pass


class Conn:
    """One connection: send pipelined commands, read replies (errors come back as RespError
    objects, not raised, so a pipeline's replies stay in step)."""

    def __init__(self, port, timeout=120):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def send(self, *commands):
        self.sock.sendall(b"".join(resp(*c) for c in commands))

    def _fill(self):
        data = self.sock.recv(4 << 20)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def _parse(self, pos):
        buf = self.buf
        end = buf.find(b"\r\n", pos)
        if end < 0:
            raise Incomplete
        kind = buf[pos]
        if kind == 36:  # '$' bulk string
            n = int(buf[pos + 1:end])
            if n < 0:
                return None, end + 2
            if end + 2 + n + 2 > len(buf):
                raise Incomplete
            return buf[end + 2:end + 2 + n], end + 4 + n
        if kind == 42:  # '*' array
            n = int(buf[pos + 1:end])
            if n < 0:
                return None, end + 2
            out = []
            pos = end + 2
            for _ in range(n):
                item, pos = self._parse(pos)
                out.append(item)
            return out, pos
        if kind == 58:  # ':' integer
            return int(buf[pos + 1:end]), end + 2
        if kind == 43:  # '+' status
            return buf[pos + 1:end], end + 2
        if kind == 45:  # '-' error
            return RespError(buf[pos + 1:end].decode(errors="replace")), end + 2
        raise ValueError("bad RESP type byte %r at %d" % (chr(kind), pos))

    def read(self):
        while True:
            try:
                reply, self.pos = self._parse(self.pos)
                return reply
            except Incomplete:
                self._fill()

    def call(self, *args):
        self.send(args)
        return self.read()


class Checker:
    """Counts failures, printing the first few of each check in full."""

    def __init__(self, name):
        self.name = name
        self.failures = 0

    def fail(self, msg):
        self.failures += 1
        if self.failures <= 10:
            print("FAIL %s: %s" % (self.name, msg), file=sys.stderr)

    def done(self, **results):
        for k, v in results.items():
            print("%s=%s" % (k, v))
        print("%s_failures=%d" % (self.name, self.failures))
        sys.stdout.flush()
        return 1 if self.failures else 0


def progress(what, done, total, t0):
    el = time.monotonic() - t0
    print("  %s: %d/%d (%.0f/s)" % (what, done, total, done / el if el > 0 else 0),
          file=sys.stderr, flush=True)


def chosen_sets(sets, n, seed):
    """N distinct set numbers at random (seeded: the same run checks the same sets), or all."""
    if n <= 0 or n >= sets:
        return list(range(sets))
    return sorted(random.Random(seed).sample(range(sets), n))


# ---------------------------------------------------------------------------- generators
def gen_hash(fields):
    out = sys.stdout.buffer
    chunk = []
    for start in range(0, fields, HSET_PAIRS):
        args = [b"HSET", b"big"]
        for i in range(start, min(start + HSET_PAIRS, fields)):
            args += [b"field:%d" % i, value(i)]
        chunk.append(resp(*args))
        if len(chunk) == 100:
            out.write(b"".join(chunk))
            chunk = []
    out.write(b"".join(chunk))
    return 0


def gen_sets(sets):
    out = sys.stdout.buffer
    chunk = []
    for i in range(sets):
        chunk.append(resp(b"SADD", b"set:%d" % i, *members(i)))
        if len(chunk) == 2000:
            out.write(b"".join(chunk))
            chunk = []
    out.write(b"".join(chunk))
    return 0


# ---------------------------------------------------------------------------- checks
def counts(port, fields, sets):
    c = Conn(port)
    ck = Checker("counts")
    hlen = c.call(b"HLEN", b"big")
    if hlen != fields:
        ck.fail("HLEN big = %r, want %d" % (hlen, fields))
    dbsize = c.call(b"DBSIZE")
    if dbsize != sets + 1:
        ck.fail("DBSIZE = %r, want %d" % (dbsize, sets + 1))
    t0 = time.monotonic()
    bad = check_scards(c, ck, sets, "")
    return ck.done(hlen=hlen, dbsize=dbsize, scard_checked=sets, scard_wrong=bad,
                   scard_seconds="%.1f" % (time.monotonic() - t0))


def check_scards(c, ck, sets, when):
    """SCARD of every set, pipelined; returns how many were not MEMBERS."""
    bad = 0
    for start in range(0, sets, BATCH * 10):
        ids = range(start, min(start + BATCH * 10, sets))
        c.send(*[(b"SCARD", b"set:%d" % i) for i in ids])
        for i in ids:
            n = c.read()
            if n != MEMBERS:
                bad += 1
                ck.fail("SCARD set:%d%s = %r, want %d" % (i, when, n, MEMBERS))
    return bad


def hmget(port, fields):
    c = Conn(port)
    ck = Checker("hmget")
    t0 = time.monotonic()
    checked = wrong = 0
    starts = list(range(0, fields, BATCH))
    for g in range(0, len(starts), DEPTH):
        group = starts[g:g + DEPTH]
        c.send(*[[b"HMGET", b"big"] + [b"field:%d" % i for i in range(s, min(s + BATCH, fields))]
                 for s in group])
        for s in group:
            reply = c.read()
            ids = range(s, min(s + BATCH, fields))
            if not isinstance(reply, list) or len(reply) != len(ids):
                ck.fail("HMGET big field:%d..%d: reply %r" % (s, ids[-1], str(reply)[:200]))
                wrong += len(ids)
                continue
            for i, got in zip(ids, reply):
                if got != value(i):
                    wrong += 1
                    ck.fail("HGET big field:%d = %r, want %r" % (i, got, value(i)))
            checked += len(ids)
        if (g // DEPTH) % 500 == 0:
            progress("hmget", checked, fields, t0)
    el = time.monotonic() - t0
    return ck.done(hmget_checked=checked, hmget_wrong=wrong, hmget_seconds="%.1f" % el,
                   hmget_rate="%.0f" % (checked / el))


def smembers(port, sets, n):
    c = Conn(port)
    ck = Checker("smembers")
    ids = chosen_sets(sets, n, 1)
    t0 = time.monotonic()
    checked = wrong = 0
    for g in range(0, len(ids), BATCH):
        group = ids[g:g + BATCH]
        c.send(*[(b"SMEMBERS", b"set:%d" % i) for i in group])
        for i in group:
            reply = c.read()
            want = members(i)
            if not isinstance(reply, list) or len(reply) != len(want) or \
                    sorted(reply) != sorted(want):
                wrong += 1
                ck.fail("SMEMBERS set:%d = %r" % (i, str(reply)[:300]))
            checked += 1
        if (g // BATCH) % 200 == 0:
            progress("smembers", checked, len(ids), t0)
    el = time.monotonic() - t0
    return ck.done(smembers_checked=checked, smembers_wrong=wrong,
                   smembers_seconds="%.1f" % el)


def hscan(port, fields):
    c = Conn(port)
    ck = Checker("hscan")
    seen = bytearray(fields)
    calls = returned = dups = unknown = badval = 0
    cursor = b"0"
    t0 = time.monotonic()
    while True:
        reply = c.call(b"HSCAN", b"big", cursor, b"COUNT", b"1000")
        if not isinstance(reply, list) or len(reply) != 2:
            ck.fail("HSCAN big %s: reply %r" % (cursor.decode(), str(reply)[:200]))
            break
        cursor, items = reply
        calls += 1
        for k in range(0, len(items), 2):
            name, val = items[k], items[k + 1]
            returned += 1
            i = int(name[6:]) if name.startswith(b"field:") and name[6:].isdigit() else -1
            if i < 0 or i >= fields or name != b"field:%d" % i:
                unknown += 1
                ck.fail("HSCAN returned unknown field %r" % name)
                continue
            if seen[i]:
                dups += 1
                ck.fail("HSCAN returned field:%d again" % i)
            seen[i] = 1
            if val != value(i):
                badval += 1
                ck.fail("HSCAN field:%d value %r, want %r" % (i, val, value(i)))
        if calls % 1000 == 0:
            progress("hscan", returned, fields, t0)
        if cursor == b"0":
            break
    distinct = fields - seen.count(0)
    missing = fields - distinct
    if missing:
        ck.fail("HSCAN never returned %d fields (first: field:%d)" % (missing, seen.index(0)))
    el = time.monotonic() - t0
    return ck.done(hscan_calls=calls, hscan_returned=returned, hscan_distinct=distinct,
                   hscan_missing=missing, hscan_duplicates=dups, hscan_unknown=unknown,
                   hscan_bad_values=badval, hscan_seconds="%.1f" % el)


def sscan(port, sets, n):
    """SSCAN of each chosen set with COUNT 5 until its cursor is 0; sets are scanned
    BATCH at a time, one pipelined round per cursor step."""
    c = Conn(port)
    ck = Checker("sscan")
    ids = chosen_sets(sets, n, 2)
    t0 = time.monotonic()
    calls = checked = wrong = 0
    for g in range(0, len(ids), BATCH):
        state = {i: (b"0", []) for i in ids[g:g + BATCH]}
        active = list(state)
        rounds = 0
        while active:
            rounds += 1
            c.send(*[(b"SSCAN", b"set:%d" % i, state[i][0], b"COUNT", b"5") for i in active])
            nxt = []
            for i in active:
                reply = c.read()
                calls += 1
                if not isinstance(reply, list) or len(reply) != 2:
                    ck.fail("SSCAN set:%d: reply %r" % (i, str(reply)[:200]))
                    state[i] = (b"0", None)
                    continue
                got = state[i][1] + reply[1]
                state[i] = (reply[0], got)
                if reply[0] != b"0":
                    if rounds > 1000:
                        ck.fail("SSCAN set:%d: cursor not back to 0 after 1000 calls" % i)
                        state[i] = (b"0", None)
                        continue
                    nxt.append(i)
            active = nxt
        for i, (_, got) in state.items():
            checked += 1
            # Redis allows SSCAN to return a member twice; completeness is what counts.
            if got is None or set(got) != set(members(i)):
                wrong += 1
                if got is not None:
                    ck.fail("SSCAN set:%d returned %r" % (i, sorted(set(got))[:30]))
        if (g // BATCH) % 200 == 0:
            progress("sscan", checked, len(ids), t0)
    el = time.monotonic() - t0
    return ck.done(sscan_checked=checked, sscan_wrong=wrong, sscan_calls=calls,
                   sscan_seconds="%.1f" % el)


def latency(port, sets, calls):
    """Sequential calls, one round trip each: what HLEN of the big hash and SCARD of a (mostly
    cold) set cost next to PING. An O(n) HLEN would take ~100 ms on 5M fields."""
    c = Conn(port)
    ck = Checker("latency")
    rng = random.Random(3)
    out = {}
    for name, make, want in (
            ("ping", lambda: (b"PING",), b"PONG"),
            ("hlen", lambda: (b"HLEN", b"big"), None),
            ("scard", lambda: (b"SCARD", b"set:%d" % rng.randrange(sets)), MEMBERS)):
        for _ in range(20):  # warm-up: connection, code paths
            c.call(*make())
        times = []
        for _ in range(calls):
            cmd = make()
            t = time.perf_counter()
            r = c.call(*cmd)
            times.append((time.perf_counter() - t) * 1e6)
            if want is not None and r != want:
                ck.fail("%s -> %r, want %r" % (b" ".join(cmd).decode(), r, want))
        times.sort()
        out[name + "_mean_us"] = "%.1f" % (sum(times) / len(times))
        out[name + "_p50_us"] = "%.1f" % times[len(times) // 2]
        out[name + "_p99_us"] = "%.1f" % times[min(len(times) - 1, int(len(times) * 0.99))]
        out[name + "_max_us"] = "%.1f" % times[-1]
    out["latency_calls"] = calls
    return ck.done(**out)


def delete(port):
    c = Conn(port)
    ck = Checker("del")
    c.call(b"PING")  # the connection is up before the clock starts
    t = time.perf_counter()
    r = c.call(b"DEL", b"big")
    ms = (time.perf_counter() - t) * 1e3
    if r != 1:
        ck.fail("DEL big -> %r, want 1" % (r,))
    return ck.done(del_ms="%.3f" % ms, del_reply=r)


def after_del(port, fields, sets, n):
    """After DEL (and after the garbage compactions): the hash is gone for good (no field
    resurfaces from a table), and every set is still whole."""
    c = Conn(port)
    ck = Checker("afterdel")
    for cmd, want in (((b"EXISTS", b"big"), 0), ((b"HLEN", b"big"), 0),
                      ((b"DBSIZE",), sets)):
        r = c.call(*cmd)
        if r != want:
            ck.fail("%s -> %r, want %r" % (b" ".join(cmd).decode(), r, want))
    sample = sorted(random.Random(4).sample(range(fields), min(fields, 20000)))
    resurfaced = 0
    for g in range(0, len(sample), BATCH):
        ids = sample[g:g + BATCH]
        reply = c.call(b"HMGET", b"big", *[b"field:%d" % i for i in ids])
        for i, got in zip(ids, reply if isinstance(reply, list) else [b"?"] * len(ids)):
            if got is not None:
                resurfaced += 1
                ck.fail("HGET big field:%d after DEL = %r" % (i, got))
    bad = check_scards(c, ck, sets, " after DEL")
    wrong = 0
    ids = chosen_sets(sets, n, 5)
    for g in range(0, len(ids), BATCH):
        group = ids[g:g + BATCH]
        c.send(*[(b"SMEMBERS", b"set:%d" % i) for i in group])
        for i in group:
            reply = c.read()
            if not isinstance(reply, list) or sorted(reply) != sorted(members(i)):
                wrong += 1
                ck.fail("SMEMBERS set:%d after DEL = %r" % (i, str(reply)[:300]))
    return ck.done(afterdel_fields_sampled=len(sample), afterdel_resurfaced=resurfaced,
                   afterdel_scard_wrong=bad, afterdel_smembers_checked=len(ids),
                   afterdel_smembers_wrong=wrong)


def main(argv):
    cmd, args = argv[1], [int(a) for a in argv[2:]]
    table = {
        "gen-hash": gen_hash, "gen-sets": gen_sets, "counts": counts, "hmget": hmget,
        "smembers": smembers, "hscan": hscan, "sscan": sscan, "latency": latency,
        "del": delete, "after-del": after_del,
    }
    return table[cmd](*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
