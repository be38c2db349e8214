#!/usr/bin/python3
"""redis-py compatibility tests for Organic KV.

Runs a fixed list of checks through Debian's python3-redis against the server on --port,
first in RESP2 and then, if the installed redis-py accepts protocol=3, in RESP3. Every
expectation below was taken from a real redis-server 7.0, so a failure means the server under
test answers differently from Redis (or the client could not parse what it sent).

The tests FLUSHALL the server: never point them at a server holding data you want.

Output: one line per test ("ok - redis-py/resp2/name" or "FAIL - ...: why"), then a line
"redis-py: N passed, M failed". Exit status 1 if anything failed.

Usage: /usr/bin/python3 py_test.py --port P [--host H]
"""

import argparse
import inspect
import os
import sys
import time
import traceback

import redis

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def expect_error(substring, fn, *args, **kwargs):
    """Runs fn and requires a redis ResponseError whose text contains substring."""
    try:
        fn(*args, **kwargs)
    except redis.exceptions.ResponseError as e:
        assert substring in str(e), f"error {str(e)!r} lacks {substring!r}"
        return e
    raise AssertionError(f"expected ResponseError containing {substring!r}")


class Ctx:
    """Connections for one protocol run. r: bytes replies, s: decoded strings, db1: SELECT 1."""

    def __init__(self, host, port, protocol):
        extra = {"protocol": protocol} if protocol == 3 else {}
        self.host, self.port, self.protocol = host, port, protocol
        self.r = redis.Redis(host=host, port=port, single_connection_client=True, **extra)
        self.s = redis.Redis(host=host, port=port, decode_responses=True,
                             single_connection_client=True, **extra)
        self.db1 = redis.Redis(host=host, port=port, db=1, decode_responses=True,
                               single_connection_client=True, **extra)

    def close(self):
        for c in (self.r, self.s, self.db1):
            c.close()


# ---------------------------------------------------------------------------------- strings

@test
def set_ex_px_nx_xx(c):
    s = c.s
    assert s.set("st:a", "1") is True
    assert s.set("st:a", "2", nx=True) is None  # exists: NX refuses, nil reply
    assert s.get("st:a") == "1"
    assert s.set("st:new", "x", xx=True) is None  # missing: XX refuses
    assert s.exists("st:new") == 0
    assert s.set("st:a", "3", xx=True) is True
    assert s.set("st:nx", "v", nx=True) is True
    assert s.set("st:ex", "v", ex=100) is True
    assert 98 <= s.ttl("st:ex") <= 100
    assert s.set("st:px", "v", px=50000) is True
    assert 48000 <= s.pttl("st:px") <= 50000
    expect_error("invalid expire time", s.set, "st:bad", "v", ex=0)
    expect_error("syntax error", s.execute_command, "SET", "st:a", "v", "NX", "XX")


@test
def set_keepttl_get_exat(c):
    s = c.s
    s.set("st:k", "v1", ex=200)
    assert s.set("st:k", "v2", keepttl=True) is True
    assert 198 <= s.ttl("st:k") <= 200, "KEEPTTL must keep the TTL"
    s.set("st:k", "v3")
    assert s.ttl("st:k") == -1, "plain SET clears the TTL"
    assert s.set("st:k", "v4", get=True) == "v3"  # SET ... GET returns the old value
    assert s.set("st:none", "v", get=True) is None
    assert s.get("st:k") == "v4"
    at = int(time.time()) + 300
    s.set("st:exat", "v", exat=at)
    assert s.expiretime("st:exat") == at
    s.set("st:pxat", "v", pxat=at * 1000 + 123)
    assert s.execute_command("PEXPIRETIME", "st:pxat") == at * 1000 + 123


@test
def getex_getdel(c):
    s = c.s
    s.set("gx", "val")
    assert s.getex("gx", ex=100) == "val"
    assert 98 <= s.ttl("gx") <= 100
    assert s.getex("gx", px=5000) == "val"
    assert 4000 <= s.pttl("gx") <= 5000
    assert s.getex("gx", persist=True) == "val"
    assert s.ttl("gx") == -1
    assert s.getex("gx") == "val"
    assert s.getex("gx:missing", ex=10) is None
    assert s.getdel("gx") == "val"
    assert s.exists("gx") == 0
    assert s.getdel("gx") is None


@test
def mset_mget_msetnx(c):
    s = c.s
    assert s.mset({"m:a": "1", "m:b": "2", "m:c": "3"}) is True
    assert s.mget("m:a", "m:missing", "m:c") == ["1", None, "3"]
    assert s.mget(["m:b"]) == ["2"]
    assert s.msetnx({"m:a": "x", "m:new": "y"}) is False  # one exists: none set
    assert s.exists("m:new") == 0
    assert s.msetnx({"m:new": "y", "m:new2": "z"}) is True
    assert s.mget("m:new", "m:new2") == ["y", "z"]


@test
def incr_family(c):
    s = c.s
    assert s.incr("n") == 1
    assert s.incr("n", 10) == 11
    assert s.decr("n") == 10
    assert s.decr("n", 20) == -10
    assert s.incrby("n", 5) == -5
    assert s.get("n") == "-5"
    s.set("n64", str(2**63 - 1))
    expect_error("increment or decrement would overflow", s.incr, "n64")
    s.set("notint", "abc")
    expect_error("value is not an integer or out of range", s.incr, "notint")
    s.set("sp", " 1")
    expect_error("value is not an integer or out of range", s.incr, "sp")


@test
def incrbyfloat(c):
    s = c.s
    assert s.incrbyfloat("f", 10.5) == 10.5
    assert s.incrbyfloat("f", 0.1) == 10.6
    assert s.get("f") == "10.6"  # Redis prints the shortest exact decimal, not 10.600000000001
    assert s.incrbyfloat("f", -5) == 5.6
    s.set("fi", "3")
    assert s.incrbyfloat("fi", 2) == 5.0
    assert s.get("fi") == "5"
    s.set("fe", "5.0e3")
    assert s.incrbyfloat("fe", 200) == 5200.0
    assert s.get("fe") == "5200"
    s.set("fs", "abc")
    expect_error("value is not a valid float", s.incrbyfloat, "fs", 1)


@test
def append_strlen_getrange_setrange(c):
    s, r = c.s, c.r
    assert s.append("ap", "Hello") == 5
    assert s.append("ap", " World") == 11
    assert s.strlen("ap") == 11
    assert s.strlen("ap:missing") == 0
    assert s.getrange("ap", 0, 4) == "Hello"
    assert s.getrange("ap", -5, -1) == "World"
    assert s.getrange("ap", 0, -1) == "Hello World"
    assert s.getrange("ap", 5, 3) == ""
    assert s.getrange("ap", 100, 200) == ""
    assert s.getrange("ap:missing", 0, 10) == ""
    assert s.setrange("ap", 6, "Redis") == 11
    assert s.get("ap") == "Hello Redis"
    assert s.setrange("sr", 5, "x") == 6  # missing key: zero padded
    assert r.get("sr") == b"\x00\x00\x00\x00\x00x"
    assert s.setrange("sr2", 0, "") == 0
    assert s.exists("sr2") == 0, "SETRANGE with empty value on a missing key creates nothing"
    expect_error("offset is out of range", s.setrange, "sr", -1, "x")


@test
def lcs(c):
    s = c.s
    s.mset({"lcs1": "ohmytext", "lcs2": "mynewtext"})
    assert s.lcs("lcs1", "lcs2") == "mytext"
    assert s.lcs("lcs1", "lcs2", len=True) == 6
    assert s.lcs("lcs1", "lcs:missing") == ""
    reply = s.lcs("lcs1", "lcs2", idx=True, minmatchlen=4, withmatchlen=True)
    # RESP2: flat ["matches", [...], "len", 6]; RESP3: a map.
    if isinstance(reply, dict):
        matches, length = reply["matches"], reply["len"]
    else:
        assert reply[0] == "matches" and reply[2] == "len", reply
        matches, length = reply[1], reply[3]
    assert length == 6
    assert matches == [[[4, 7], [5, 8], 4]], matches


# ------------------------------------------------------------------------------------- keys

@test
def exists_delete_unlink_type(c):
    s = c.s
    s.mset({"k:a": "1", "k:b": "2", "k:c": "3"})
    assert s.exists("k:a", "k:a", "k:missing", "k:b") == 3  # duplicates count
    assert s.type("k:a") == "string"
    assert s.type("k:missing") == "none"
    assert s.delete("k:a", "k:missing") == 1
    assert s.unlink("k:b", "k:c", "k:b") == 2
    assert s.exists("k:a", "k:b", "k:c") == 0
    assert s.delete("k:a") == 0
    expect_error("wrong number of arguments for 'del' command", s.execute_command, "DEL")


@test
def keys_dbsize_randomkey_touch(c):
    s = c.s
    s.flushdb()
    assert s.dbsize() == 0
    assert s.randomkey() is None
    s.mset({"user:1": "a", "user:2": "b", "user:10": "c", "other": "d", "u?x": "e"})
    assert s.dbsize() == 5
    assert sorted(s.keys("user:*")) == ["user:1", "user:10", "user:2"]
    assert sorted(s.keys("user:?")) == ["user:1", "user:2"]
    assert sorted(s.keys("user:[12]*")) == ["user:1", "user:10", "user:2"]
    assert s.keys("u\\?x") == ["u?x"]
    assert len(s.keys("*")) == 5
    assert s.keys("nomatch*") == []
    assert s.randomkey() in {"user:1", "user:2", "user:10", "other", "u?x"}
    assert s.touch("user:1", "user:2", "missing") == 2


@test
def scan_iter_match_count_type(c):
    s = c.s
    s.flushdb()
    with s.pipeline(transaction=False) as p:
        for i in range(1200):
            p.set(f"scan:{i}", i)
        for i in range(30):
            p.set(f"other:{i}", i)
        p.execute()
    all_keys = list(s.scan_iter(count=100))
    assert len(set(all_keys)) == 1230, len(set(all_keys))
    matched = set(s.scan_iter(match="scan:1*", count=50))
    assert matched == {f"scan:{i}" for i in range(1200) if str(i).startswith("1")}
    assert set(s.scan_iter(match="other:*", _type="string")) == {f"other:{i}" for i in range(30)}
    assert list(s.scan_iter(_type="list")) == []
    cursor, keys = s.scan(0, match="nomatch*", count=10)
    assert isinstance(cursor, int) and isinstance(keys, list)
    # A full iteration by hand ends with cursor 0.
    cursor, seen = 0, set()
    while True:
        cursor, keys = s.scan(cursor, count=500)
        seen.update(keys)
        if cursor == 0:
            break
    assert len(seen) == 1230


@test
def rename_renamenx(c):
    s = c.s
    s.set("rn:a", "1", ex=100)
    assert s.rename("rn:a", "rn:b") is True
    assert s.exists("rn:a") == 0 and s.get("rn:b") == "1"
    assert 98 <= s.ttl("rn:b") <= 100, "RENAME keeps the TTL"
    expect_error("no such key", s.rename, "rn:missing", "rn:x")
    s.set("rn:c", "2")
    assert s.renamenx("rn:b", "rn:c") is False
    assert s.renamenx("rn:b", "rn:d") is True
    assert s.get("rn:d") == "1"
    assert s.rename("rn:d", "rn:d") is True  # same name: OK, no change
    assert s.get("rn:d") == "1"


@test
def copy_and_move(c):
    s, db1 = c.s, c.db1
    db1.flushdb()
    s.set("cp:src", "v", ex=100)
    assert s.copy("cp:src", "cp:dst") is True
    assert s.get("cp:dst") == "v" and 98 <= s.ttl("cp:dst") <= 100
    s.set("cp:dst", "old")
    assert s.copy("cp:src", "cp:dst") is False  # exists, no REPLACE
    assert s.get("cp:dst") == "old"
    assert s.copy("cp:src", "cp:dst", replace=True) is True
    assert s.get("cp:dst") == "v"
    assert s.copy("cp:missing", "cp:x") is False
    assert s.copy("cp:src", "cp:indb1", destination_db=1) is True
    assert db1.get("cp:indb1") == "v"
    assert s.exists("cp:indb1") == 0
    expect_error("source and destination objects are the same", s.copy, "cp:src", "cp:src")
    # MOVE
    s.set("mv:a", "moved")
    assert s.move("mv:a", 1) is True
    assert s.exists("mv:a") == 0 and db1.get("mv:a") == "moved"
    s.set("mv:a", "again")
    assert s.move("mv:a", 1) is False  # target exists
    assert s.get("mv:a") == "again"
    assert s.move("mv:missing", 1) is False
    expect_error("source and destination objects are the same", s.move, "mv:a", 0)
    expect_error("index is out of range", s.move, "mv:a", 99)


@test
def flushdb_only_current_db(c):
    s, db1 = c.s, c.db1
    s.set("fl:0", "a")
    db1.set("fl:1", "b")
    assert s.flushdb() is True
    assert s.dbsize() == 0
    assert db1.get("fl:1") == "b"
    assert db1.flushdb() is True
    assert db1.dbsize() == 0


# ----------------------------------------------------------------------------------- expiry

@test
def expire_nx_xx_gt_lt(c):
    s = c.s
    s.set("ex:a", "v")
    assert s.expire("ex:a", 100, xx=True) is False  # no TTL yet: XX refuses
    assert s.ttl("ex:a") == -1
    assert s.expire("ex:a", 100, nx=True) is True
    assert s.expire("ex:a", 200, nx=True) is False
    assert s.expire("ex:a", 50, gt=True) is False
    assert s.expire("ex:a", 200, gt=True) is True
    assert 198 <= s.ttl("ex:a") <= 200
    assert s.expire("ex:a", 300, lt=True) is False
    assert s.expire("ex:a", 150, lt=True) is True
    assert s.expire("ex:a", 120, xx=True) is True
    assert 118 <= s.ttl("ex:a") <= 120
    s.set("ex:b", "v")
    # No TTL counts as infinite: GT never applies, LT always does.
    assert s.expire("ex:b", 100, gt=True) is False
    assert s.expire("ex:b", 100, lt=True) is True
    assert s.expire("ex:missing", 100) is False
    expect_error("not compatible", s.execute_command, "EXPIRE", "ex:a", 10, "NX", "XX")
    expect_error("not compatible", s.execute_command, "EXPIRE", "ex:a", 10, "GT", "LT")


@test
def ttl_pttl_expiretime_persist(c):
    s = c.s
    s.set("t:a", "v")
    assert s.ttl("t:a") == -1 and s.pttl("t:a") == -1
    assert s.ttl("t:missing") == -2 and s.pttl("t:missing") == -2
    assert s.expiretime("t:a") == -1 and s.expiretime("t:missing") == -2
    assert s.pexpire("t:a", 90000) is True
    assert 89000 <= s.pttl("t:a") <= 90000
    now = time.time()
    et = s.expiretime("t:a")
    assert abs(et - (now + 90)) <= 2, (et, now)
    at = int(now) + 500
    assert s.expireat("t:a", at) is True
    assert s.expiretime("t:a") == at
    assert s.pexpireat("t:a", at * 1000 + 7) is True
    assert s.execute_command("PEXPIRETIME", "t:a") == at * 1000 + 7
    assert s.persist("t:a") is True
    assert s.persist("t:a") is False
    assert s.ttl("t:a") == -1
    assert s.persist("t:missing") is False


@test
def expire_in_past_deletes(c):
    s = c.s
    s.set("past:a", "v")
    assert s.expire("past:a", -1) is True
    assert s.exists("past:a") == 0
    s.set("past:b", "v")
    assert s.pexpireat("past:b", 1000) is True
    assert s.get("past:b") is None
    s.set("short", "v", px=100)
    time.sleep(0.25)
    assert s.get("short") is None and s.exists("short") == 0 and s.ttl("short") == -2


# --------------------------------------------------------------------------------- pipeline

@test
def pipeline_10k(c):
    r = c.r
    p = r.pipeline(transaction=False)
    for i in range(5000):
        p.set(f"pl:{i}", f"v{i}")
    for i in range(5000):
        p.get(f"pl:{i}")
    res = p.execute()
    assert len(res) == 10000
    assert all(x is True for x in res[:5000])
    assert res[5000:] == [f"v{i}".encode() for i in range(5000)]
    assert len(r.keys("pl:*")) == 5000


@test
def pipeline_error_in_middle(c):
    s = c.s
    s.set("pe:s", "abc")
    p = s.pipeline(transaction=False)
    p.set("pe:a", "1")
    p.incr("pe:s")  # fails
    p.incr("pe:a")
    res = p.execute(raise_on_error=False)
    assert res[0] is True and res[2] == 2
    assert isinstance(res[1], redis.exceptions.ResponseError)
    assert "value is not an integer or out of range" in str(res[1])
    p = s.pipeline(transaction=False)
    p.incr("pe:s")
    p.get("pe:a")
    try:
        p.execute()
        raise AssertionError("expected ResponseError")
    except redis.exceptions.ResponseError as e:
        assert "value is not an integer" in str(e)


# ----------------------------------------------------------------------------------- client

@test
def client_name_id_list_info(c):
    s = c.s
    assert s.client_getname() is None
    assert s.client_setname("py-compat") is True
    assert s.client_getname() == "py-compat"
    cid = s.client_id()
    assert isinstance(cid, int) and cid > 0
    info = s.client_info()
    assert int(info["id"]) == cid and info["name"] == "py-compat"
    assert int(info["db"]) == 0
    assert "addr" in info and ":" in info["addr"]
    mine = [e for e in s.client_list() if e.get("name") == "py-compat"]
    assert len(mine) == 1 and int(mine[0]["id"]) == cid, mine
    assert int(mine[0]["db"]) == 0
    # The db=1 connection shows as db=1.
    db1_id = c.db1.client_id()
    other = [e for e in s.client_list() if int(e["id"]) == db1_id]
    assert len(other) == 1 and int(other[0]["db"]) == 1
    expect_error("spaces", s.client_setname, "has space")
    assert s.client_setname("") is True  # empty name clears it
    assert s.client_getname() is None


@test
def info_sections(c):
    s = c.s
    s.flushall()
    s.set("inf:a", "1")
    s.set("inf:b", "2", ex=1000)
    c.db1.set("inf:c", "3")
    full = s.info()
    assert "redis_version" in full and "used_memory" in full and "connected_clients" in full
    srv = s.info("server")
    assert int(srv["tcp_port"]) == c.port
    assert isinstance(srv["process_id"], int) and isinstance(srv["uptime_in_seconds"], int)
    assert len(str(srv["run_id"])) == 40
    assert "used_memory" not in srv, "INFO server must not include other sections"
    mem = s.info("memory")
    assert isinstance(mem["used_memory"], int) and mem["used_memory"] > 0
    assert "used_memory_human" in mem
    ks = s.info("keyspace")
    assert ks["db0"]["keys"] == 2 and ks["db0"]["expires"] == 1, ks
    assert ks["db1"] == {"keys": 1, "expires": 0, "avg_ttl": 0}, ks
    assert "db2" not in ks
    stats = s.info("stats")
    assert isinstance(stats["total_commands_processed"], int)
    multi = s.execute_command("INFO", "server", "keyspace")  # Redis 7: several sections
    assert "tcp_port" in multi and "db0" in multi and "used_memory" not in multi, multi


@test
def config_get_set(c):
    s = c.s
    assert s.config_get("maxmemory") == {"maxmemory": "0"}
    got = s.config_get("maxmemory*")
    assert {"maxmemory", "maxmemory-policy"} <= set(got), got
    assert s.config_get("no-such-param") == {}
    assert s.config_set("maxmemory", "100mb") is True
    assert s.config_get("maxmemory") == {"maxmemory": "104857600"}
    assert s.config_set("maxmemory", "0") is True
    assert s.config_get("maxmemory") == {"maxmemory": "0"}
    expect_error("Unknown option or number of arguments for CONFIG SET - 'no-such-param'",
                 s.config_set, "no-such-param", "1")
    port = s.config_get("port")
    assert port == {"port": str(c.port)}, port


@test
def ping_echo_time(c):
    s, r = c.s, c.r
    assert s.ping() is True
    assert s.echo("hello") == "hello"
    assert r.echo(b"\x00\xffbin") == b"\x00\xffbin"
    secs, usecs = s.time()
    assert abs(secs + usecs / 1e6 - time.time()) < 2
    assert 0 <= usecs < 1000000


@test
def select_via_db1(c):
    s, db1 = c.s, c.db1
    s.flushall()
    db1.set("sel:k", "one")
    assert s.get("sel:k") is None
    assert db1.get("sel:k") == "one"
    assert db1.dbsize() == 1 and s.dbsize() == 0
    assert int(db1.client_info()["db"]) == 1
    # An explicit SELECT on a dedicated connection.
    r3 = redis.Redis(host=c.host, port=c.port, db=3, single_connection_client=True,
                     **({"protocol": 3} if c.protocol == 3 else {}))
    try:
        r3.set("sel:k", "three")
        assert r3.execute_command("SELECT", 1) in (True, b"OK", "OK")
        assert r3.get("sel:k") == b"one"
    finally:
        r3.close()
    expect_error("DB index is out of range", s.execute_command, "SELECT", 16)


@test
def binary_values(c):
    r = c.r
    allbytes = bytes(range(256))
    assert r.set(b"bin:\x00\xff\r\n", allbytes) is True
    assert r.get(b"bin:\x00\xff\r\n") == allbytes
    assert r.strlen(b"bin:\x00\xff\r\n") == 256
    assert r.exists(b"bin:\x00\xff") == 0  # the NUL and CRLF are part of the key
    big = os.urandom(1 << 20)
    r.set("bin:big", big)
    assert r.get("bin:big") == big
    assert r.append("bin:big", b"\r\n") == (1 << 20) + 2
    assert r.getrange("bin:big", -2, -1) == b"\r\n"
    assert r.set("bin:empty", b"") is True
    assert r.get("bin:empty") == b"" and r.exists("bin:empty") == 1
    assert r.mget("bin:empty", "bin:missing") == [b"", None]
    uni = "Grüße, 世界 🌍"
    c.s.set("bin:uni", uni)
    assert c.s.get("bin:uni") == uni
    assert r.strlen("bin:uni") == len(uni.encode())
    assert sorted(r.keys(b"bin:\x00*")) == [b"bin:\x00\xff\r\n"]


@test
def error_replies(c):
    s = c.s
    expect_error("wrong number of arguments for 'get' command", s.execute_command, "GET")
    e = expect_error("unknown command 'NOSUCHCMD'", s.execute_command, "NOSUCHCMD", "x")
    assert "with args beginning with: 'x'" in str(e)
    expect_error("syntax error", s.execute_command, "SET", "k", "v", "BADOPT")
    # The connection is still usable after errors.
    assert s.ping() is True


@test
def hello_reports_protocol(c):
    reply = c.s.execute_command("HELLO")  # no version: report, don't switch
    d = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
    d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}
    assert d["proto"] == c.protocol, d
    assert {"server", "version", "proto", "id", "mode", "role", "modules"} <= set(d), d
    assert int(d["id"]) == c.s.client_id()


def supports_resp3():
    return "protocol" in inspect.signature(redis.Redis.__init__).parameters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    print(f"# redis-py {redis.__version__} (python {sys.version.split()[0]})")
    protocols = [2]
    if supports_resp3():
        protocols.append(3)
    else:
        print(f"# skip redis-py/resp3: redis-py {redis.__version__} has no protocol=3 option")
    passed = failed = 0
    for proto in protocols:
        ctx = None
        try:
            try:
                ctx = Ctx(args.host, args.port, proto)
                ctx.r.flushall()
            except redis.exceptions.RedisError as e:
                for fn in TESTS:
                    failed += 1
                    print(f"FAIL - redis-py/resp{proto}/{fn.__name__}: not run (setup: {e})")
                continue
            for fn in TESTS:
                name = f"redis-py/resp{proto}/{fn.__name__}"
                try:
                    fn(ctx)
                    passed += 1
                    print(f"ok - {name}")
                except Exception as e:  # noqa: BLE001 - any failure is reported, not raised
                    failed += 1
                    own = [f for f in traceback.extract_tb(e.__traceback__)
                           if os.path.abspath(f.filename) == os.path.abspath(__file__)]
                    where = f" (py_test.py line {own[-1].lineno})" if own else ""
                    print(f"FAIL - {name}: {type(e).__name__}: {e}{where}")
        finally:
            if ctx is not None:
                ctx.close()
    print(f"redis-py: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
