#!/usr/bin/python3
"""Differential runner: the same commands against redis-server and organic-server.

Every script line is sent, as a RESP multibulk, over one raw TCP socket per server; exactly one
complete reply is read back from each and the two replies are compared as raw bytes. Raw sockets
(no client library) matter: a client library would decode, coerce and hide exactly the
differences we are looking for (a "$-1" versus a "*-1", an integer versus a bulk "1", a missing
trailing space in an error text).

Usage:
  runner.py --organic-bin build/organic-server [--scripts DIR] [--filter NAME]
  runner.py --organic-port 7777                      # an organic-server that is already running
  runner.py --self-test                              # redis against a second redis

The script format is described in README.md next to this file. Python stdlib only.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEFAULT_REDIS_BIN = '/usr/bin/redis-server'
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCRIPTS = os.path.join(HERE, 'scripts')
REPLY_TIMEOUT_S = 5.0
# After this many consecutive lines without a reply from one server, the rest of the script is
# counted as failed instead of waiting REPLY_TIMEOUT_S on each line.
MAX_LOST_IN_A_ROW = 3


class ProtocolError(Exception):
    """The peer sent bytes that are not a RESP2/RESP3 reply."""


class ConnectionLost(Exception):
    """The peer closed the connection or did not answer in time."""


# --------------------------------------------------------------------------------------------
# RESP reply reading.
#
# A reply is parsed into a Node: (kind, value, children, raw). `raw` is the exact bytes of the
# whole reply (for an attribute-prefixed reply: the attribute and the reply it annotates), which
# is what gets compared. `kind` is the type byte as a one-char string, except that nulls get their
# own kinds ('$-1' -> 'nil-bulk', '*-1' -> 'nil-array', '_' -> '_') so that "shape" comparisons
# still tell a null from a value. Map and attribute children are flattened key, value, key, ...
# --------------------------------------------------------------------------------------------

LINE_TYPES = b'+-:_,#('      # simple string, error, integer, null, double, boolean, big number
BULK_TYPES = b'$!='          # bulk string, bulk error, verbatim string
AGGREGATE_TYPES = b'*~>'     # array, set, push
PAIR_TYPES = b'%|'           # map, attribute (2 * count elements)


class Node:
    __slots__ = ('kind', 'value', 'children', 'raw')

    def __init__(self, kind, value, children, raw):
        self.kind = kind
        self.value = value
        self.children = children
        self.raw = raw

    def __repr__(self):
        return 'Node(%r, %r)' % (self.kind, self.raw)


class ReplyReader:
    """Reads complete RESP replies from a byte source.

    `recv` is a callable returning the next chunk of bytes (b'' at end of stream). Bytes beyond
    the reply that was asked for stay buffered for the next call, so pipelined or coalesced
    replies are split correctly.
    """

    def __init__(self, recv):
        self._recv = recv
        self._buf = bytearray()
        self._pos = 0

    def _fill(self):
        chunk = self._recv()
        if not chunk:
            raise ConnectionLost('connection closed by peer')
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += chunk

    def _line(self):
        """Returns the next line including its CRLF."""
        while True:
            end = self._buf.find(b'\r\n', self._pos)
            if end >= 0:
                line = bytes(self._buf[self._pos:end + 2])
                self._pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self._buf) - self._pos < n:
            self._fill()
        data = bytes(self._buf[self._pos:self._pos + n])
        self._pos += n
        return data

    def read(self):
        """Returns the Node of the next complete reply."""
        node = self._read_one()
        if node.kind == '|':
            # An attribute annotates the reply that follows it: both form one reply.
            target = self._read_one()
            return Node(target.kind, target.value, target.children, node.raw + target.raw)
        return node

    def _read_one(self):
        line = self._line()
        if len(line) < 3:
            raise ProtocolError('short line %r' % line)
        t = line[0:1]
        body = line[1:-2]
        if t not in LINE_TYPES + BULK_TYPES + AGGREGATE_TYPES + PAIR_TYPES:
            raise ProtocolError('unknown reply type %r' % line)
        if t in (b'+', b'-', b':', b',', b'#', b'('):
            if t == b':' and not _is_integer(body):
                raise ProtocolError('bad integer %r' % line)
            if t == b'#' and body not in (b't', b'f'):
                raise ProtocolError('bad boolean %r' % line)
            return Node(t.decode(), body, None, line)
        if t == b'_':
            if body:
                raise ProtocolError('bad null %r' % line)
            return Node('_', None, None, line)
        count = _parse_length(line, body)
        if t in (b'$', b'!', b'='):
            if count < 0:
                if t != b'$' or count != -1:
                    raise ProtocolError('bad length %r' % line)
                return Node('nil-bulk', None, None, line)
            payload = self._exact(count + 2)
            if payload[-2:] != b'\r\n':
                raise ProtocolError('bulk not terminated by CRLF: %r' % (line + payload))
            return Node(t.decode(), payload[:-2], None, line + payload)
        if t in (b'*', b'~', b'>', b'%', b'|'):
            if count < 0:
                if t != b'*' or count != -1:
                    raise ProtocolError('bad length %r' % line)
                return Node('nil-array', None, None, line)
            n = count * 2 if t in (b'%', b'|') else count
            children = [self.read() for _ in range(n)]
            raw = line + b''.join(c.raw for c in children)
            return Node(t.decode(), None, children, raw)
        raise AssertionError(t)  # Unreachable: every type byte is handled above.


def _is_integer(body):
    s = body[1:] if body[:1] == b'-' else body
    return bool(s) and s.isdigit()


def _parse_length(line, body):
    if not _is_integer(body):
        raise ProtocolError('bad length %r' % line)
    return int(body)


def encode_command(args):
    """RESP multibulk of a list of bytes arguments."""
    out = [b'*%d\r\n' % len(args)]
    for a in args:
        out.append(b'$%d\r\n%s\r\n' % (len(a), a))
    return b''.join(out)


# --------------------------------------------------------------------------------------------
# Reply comparison helpers.
# --------------------------------------------------------------------------------------------

def shape(node):
    """The type/shape of a reply: kinds and aggregate sizes, no scalar content."""
    if node.children is None:
        return node.kind
    return (node.kind, tuple(shape(c) for c in node.children))


def canonical_sorted(node):
    """Bytes of a reply where every aggregate's elements are sorted (maps: sorted by pairs).

    Two replies with the same canonical form hold the same multisets at every level, which is
    what KEYS / SCAN / unordered CONFIG GET results guarantee and no more.
    """
    if node.children is None:
        return node.raw
    parts = [canonical_sorted(c) for c in node.children]
    if node.kind in ('%', '|'):
        pairs = sorted(parts[i] + parts[i + 1] for i in range(0, len(parts), 2))
        parts = pairs
    else:
        parts.sort()
    return node.kind.encode() + b'%d\r\n' % len(node.children) + b''.join(parts)


# --------------------------------------------------------------------------------------------
# Script parsing.
# --------------------------------------------------------------------------------------------

class ScriptError(Exception):
    pass


_ESCAPES = {'n': b'\n', 'r': b'\r', 't': b'\t', 'b': b'\b', 'a': b'\a', '\\': b'\\', '"': b'"',
            '\'': b'\''}


def split_args(line):
    """Splits a script line into a list of bytes arguments.

    Shell-like: whitespace separates words; "double quotes" group and accept the escapes \\xHH,
    \\n \\r \\t \\b \\a \\\\ \\" ; 'single quotes' group literally (only \\' is an escape). Quoted
    parts may be glued to unquoted ones (a"b c"d is one word). Outside quotes a backslash is a
    literal character, so glob patterns like h\\[llo can be written bare.
    """
    args = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        word = bytearray()
        while i < n and not line[i].isspace():
            c = line[i]
            if c == '"':
                i += 1
                while True:
                    if i >= n:
                        raise ScriptError('unterminated double quote')
                    c = line[i]
                    if c == '"':
                        i += 1
                        break
                    if c == '\\' and i + 1 < n:
                        e = line[i + 1]
                        if e == 'x' and _is_hex(line[i + 2:i + 4]):
                            word.append(int(line[i + 2:i + 4], 16))
                            i += 4
                            continue
                        if e in _ESCAPES:
                            word += _ESCAPES[e]
                            i += 2
                            continue
                    word += c.encode('utf-8')
                    i += 1
            elif c == '\'':
                i += 1
                while True:
                    if i >= n:
                        raise ScriptError('unterminated single quote')
                    c = line[i]
                    if c == '\\' and i + 1 < n and line[i + 1] == '\'':
                        word += b'\''
                        i += 2
                        continue
                    if c == '\'':
                        i += 1
                        break
                    word += c.encode('utf-8')
                    i += 1
            else:
                word += c.encode('utf-8')
                i += 1
        args.append(bytes(word))


def _is_hex(s):
    return len(s) == 2 and all(ch in '0123456789abcdefABCDEF' for ch in s)


class Step:
    """One script line: a command with a comparison mode, or a sleep."""
    __slots__ = ('lineno', 'mode', 'args', 'lo', 'hi', 'sleep_ms', 'text')

    def __init__(self, lineno, text, mode, args=None, lo=None, hi=None, sleep_ms=None):
        self.lineno = lineno
        self.text = text
        self.mode = mode          # 'exact' | 'match-type' | 'range' | 'sorted' | 'sleep'
        self.args = args
        self.lo = lo
        self.hi = hi
        self.sleep_ms = sleep_ms


def parse_script(path):
    steps = []
    with open(path, encoding='utf-8') as f:
        for lineno, raw_line in enumerate(f, 1):
            text = raw_line.strip()
            if not text or text.startswith('#'):
                continue
            try:
                steps.append(_parse_line(lineno, text))
            except (ScriptError, ValueError) as e:
                raise ScriptError('%s:%d: %s' % (path, lineno, e))
    return steps


def _parse_line(lineno, text):
    if not text.startswith('!'):
        args = split_args(text)
        if not args:
            raise ScriptError('empty command')
        return Step(lineno, text, 'exact', args)
    directive, _, rest = text.partition(' ')
    if directive == '!sleep':
        ms = int(rest.strip())
        return Step(lineno, text, 'sleep', sleep_ms=ms)
    if directive in ('!match-type', '!sorted'):
        args = split_args(rest)
        if not args:
            raise ScriptError('%s needs a command' % directive)
        return Step(lineno, text, directive[1:], args)
    if directive == '!range':
        words = rest.split(None, 2)
        if len(words) < 3:
            raise ScriptError('usage: !range LO HI CMD ...')
        lo, hi = int(words[0]), int(words[1])
        args = split_args(words[2])
        return Step(lineno, text, 'range', args, lo=lo, hi=hi)
    raise ScriptError('unknown directive %s' % directive)


# --------------------------------------------------------------------------------------------
# Servers and connections.
# --------------------------------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Connection:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.sock = None
        self.reader = None

    def open(self):
        self.close()
        self.sock = socket.create_connection(('127.0.0.1', self.port), timeout=REPLY_TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = ReplyReader(self._recv)

    def _recv(self):
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise ConnectionLost('no reply within %.0f s' % REPLY_TIMEOUT_S)
        except OSError as e:
            raise ConnectionLost(str(e))

    def send(self, args):
        try:
            self.sock.sendall(encode_command(args))
        except OSError as e:
            raise ConnectionLost(str(e))

    def read(self):
        return self.reader.read()

    def call(self, *args):
        self.send([a if isinstance(a, bytes) else str(a).encode() for a in args])
        return self.read()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None


class ServerProcess:
    """A server binary started by us on a free port in a fresh temp dir; killed by stop()."""

    def __init__(self, name, argv_fn, keep_log=True):
        self.name = name
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix='organic-diff-%s-' % name)
        self.log_path = os.path.join(self.dir, 'server.log')
        argv = argv_fn(self.port, self.dir)
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)

    def wait_ready(self, timeout_s=10.0):
        deadline = time.monotonic() + timeout_s
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %d before answering PING; log:\n%s'
                                   % (self.name, self.proc.returncode, self.log_tail()))
            try:
                conn = Connection(self.name, self.port)
                conn.open()
                reply = conn.call('PING')
                conn.close()
                if reply.raw == b'+PONG\r\n':
                    return
                last_error = 'PING answered %r' % reply.raw
            except (OSError, ConnectionLost, ProtocolError) as e:
                last_error = str(e)
            time.sleep(0.05)
        raise RuntimeError('%s did not answer PING within %.0f s (%s); log:\n%s'
                           % (self.name, timeout_s, last_error, self.log_tail()))

    def log_tail(self, n=20):
        try:
            with open(self.log_path, 'rb') as f:
                return b'\n'.join(f.read().splitlines()[-n:]).decode('utf-8', 'replace')
        except OSError:
            return '(no log)'

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_argv(redis_bin):
    return lambda port, d: [redis_bin, '--save', '', '--appendonly', 'no', '--port', str(port),
                            '--dir', d, '--daemonize', 'no', '--bind', '127.0.0.1']


def organic_argv(organic_bin):
    organic_bin = os.path.abspath(organic_bin)
    return lambda port, d: [organic_bin, '--port', str(port), '--dir', d]


# --------------------------------------------------------------------------------------------
# Running scripts.
# --------------------------------------------------------------------------------------------

class Result:
    def __init__(self):
        self.passed = 0
        self.failed = 0


def setup_connection(conn):
    """Fresh connection in a known state; setup replies are not compared, only sanity checked."""
    conn.open()
    warnings = []
    for cmd, want in (((b'FLUSHALL',), b'+OK\r\n'), ((b'SELECT', b'0'), b'+OK\r\n'),
                      ((b'HELLO', b'2'), None)):
        reply = conn.call(*cmd)
        if reply.kind in ('-', '!') or (want is not None and reply.raw != want):
            warnings.append('%s: setup %s answered %r'
                            % (conn.name, b' '.join(cmd).decode(), reply.raw))
    return warnings


def compare(step, a, b):
    """Returns None when replies agree under the step's mode, else a reason."""
    if step.mode == 'exact':
        return None if a.raw == b.raw else 'bytes differ'
    if step.mode == 'match-type':
        return None if shape(a) == shape(b) else 'shapes differ: %r vs %r' % (shape(a), shape(b))
    if step.mode == 'sorted':
        return None if canonical_sorted(a) == canonical_sorted(b) else 'sorted contents differ'
    if step.mode == 'range':
        for node in (a, b):
            if node.kind != ':' or not step.lo <= int(node.value) <= step.hi:
                return 'integer not in [%d, %d]' % (step.lo, step.hi)
        return None
    raise AssertionError(step.mode)


def run_script(path, ref_port, test_port, ref_name, test_name, result, verbose):
    name = os.path.basename(path)
    steps = parse_script(path)
    ref = Connection(ref_name, ref_port)
    test = Connection(test_name, test_port)
    for conn in (ref, test):
        try:
            for w in setup_connection(conn):
                print('WARNING %s: %s' % (name, w))
        except (OSError, ConnectionLost, ProtocolError) as e:
            print('WARNING %s: %s setup failed: %s' % (name, conn.name, e))
    lost_in_a_row = {ref_name: 0, test_name: 0}
    for index, step in enumerate(steps):
        if max(lost_in_a_row.values()) >= MAX_LOST_IN_A_ROW:
            remaining = sum(1 for st in steps[index:] if st.mode != 'sleep')
            result.failed += remaining
            print('SKIP %s:%d..end: %d commands not run, a server stopped answering'
                  % (name, step.lineno, remaining))
            break
        if step.mode == 'sleep':
            time.sleep(step.sleep_ms / 1000.0)
            continue
        replies = {}
        errors = {}
        # Send to both before reading either, so time-sensitive lines see the same clock.
        for conn in (ref, test):
            try:
                if conn.sock is None:
                    conn.open()
                conn.send(step.args)
            except (OSError, ConnectionLost) as e:
                errors[conn.name] = e
        for conn in (ref, test):
            if conn.name in errors:
                continue
            try:
                replies[conn.name] = conn.read()
            except (ConnectionLost, ProtocolError) as e:
                errors[conn.name] = e
                # The stream is out of step (or gone): the next line starts a new connection,
                # which is back in db 0, RESP2, without a name.
                conn.close()
        for conn in (ref, test):
            if isinstance(errors.get(conn.name), (ConnectionLost, OSError)):
                lost_in_a_row[conn.name] += 1
            else:
                lost_in_a_row[conn.name] = 0
        if errors:
            reason = 'no comparable reply'
        else:
            reason = compare(step, replies[ref_name], replies[test_name])
        if reason is None:
            result.passed += 1
            if verbose:
                print('ok   %s:%d %s -> %r'
                      % (name, step.lineno, step.text, replies[ref_name].raw[:200]))
            continue
        result.failed += 1
        if errors:
            reason += '; reconnecting, so the next lines run in db 0, RESP2'
        print('FAIL %s:%d %s (%s)' % (name, step.lineno, step.text, reason))
        for conn_name in (ref_name, test_name):
            if conn_name in errors:
                shown = '<%s: %s>' % (type(errors[conn_name]).__name__, errors[conn_name])
            else:
                shown = repr(replies[conn_name].raw)
            print('  %-8s %s' % (conn_name + ':', shown))
    ref.close()
    test.close()


def list_scripts(scripts_dir, name_filter):
    names = sorted(n for n in os.listdir(scripts_dir) if n.endswith('.txt'))
    if name_filter:
        names = [n for n in names if name_filter in n]
    return [os.path.join(scripts_dir, n) for n in names]


# --------------------------------------------------------------------------------------------
# Self checks of the reader and tokenizer (part of --self-test).
# --------------------------------------------------------------------------------------------

def _reader_over(data, chunk=1):
    """A reader fed `chunk` bytes at a time, to exercise reassembly of split replies."""
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    it = iter(pieces)
    return ReplyReader(lambda: next(it, b''))


def unit_checks():
    """Checks the reply reader and the script tokenizer on crafted input. Returns failures."""
    failures = []

    def check(what, got, want):
        if got != want:
            failures.append('%s: got %r, want %r' % (what, got, want))

    replies = [
        b'+OK\r\n', b'-ERR x y\r\n', b':-12\r\n', b'$-1\r\n', b'*-1\r\n', b'$0\r\n\r\n',
        b'$4\r\na\r\nb\r\n', b'_\r\n', b',3.14\r\n', b',inf\r\n', b'#t\r\n', b'(1234567890123\r\n',
        b'!5\r\nERR x\r\n', b'=7\r\ntxt:abc\r\n',
        b'*2\r\n*1\r\n:1\r\n%1\r\n+k\r\n~2\r\n$1\r\na\r\n_\r\n',
        b'%2\r\n+a\r\n:1\r\n+b\r\n*0\r\n',
        b'|1\r\n+ttl\r\n:3\r\n$2\r\nhi\r\n',
        b'>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n',
    ]
    stream = b''.join(replies)
    for chunk in (1, 3, len(stream)):
        r = _reader_over(stream, chunk)
        got = [r.read().raw for _ in replies]
        check('reader chunk=%d' % chunk, got, replies)
        try:
            r.read()
            failures.append('reader chunk=%d: read past end did not raise' % chunk)
        except ConnectionLost:
            pass
    r = _reader_over(b'|1\r\n+a\r\n+b\r\n:5\r\n')
    node = r.read()
    check('attribute kind', node.kind, ':')
    for bad in (b'?1\r\n', b':x\r\n', b'$3\r\nabcd\r\n', b'#x\r\n', b'*-2\r\n'):
        try:
            _reader_over(bad).read()
            failures.append('reader accepted %r' % bad)
        except (ProtocolError, ConnectionLost):
            pass
    a = _reader_over(b'*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n', 100).read()
    b = _reader_over(b'*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n', 100).read()
    check('sorted equal', canonical_sorted(a) == canonical_sorted(b), True)
    c = _reader_over(b'*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\na\r\n', 100).read()
    check('sorted multiset', canonical_sorted(a) == canonical_sorted(c), False)
    check('shape', shape(_reader_over(b'*2\r\n$2\r\n17\r\n$1\r\n5\r\n', 100).read()),
          ('*', ('$', '$')))
    check('shape nil', shape(_reader_over(b'$-1\r\n').read()) == '$', False)

    check('split plain', split_args('SET  k   v'), [b'SET', b'k', b'v'])
    check('split dq', split_args('SET "a b" "\\x00\\xff\\n\\"\\\\"'),
          [b'SET', b'a b', b'\x00\xff\n"\\'])
    check('split sq', split_args("ECHO 'a \"b\\' \\x41'"), [b'ECHO', b'a "b\' \\x41'])
    check('split empty', split_args('SET k ""'), [b'SET', b'k', b''])
    check('split glued', split_args('a"b c"d'), [b'ab cd'])
    check('split bare backslash', split_args('KEYS h\\[llo'), [b'KEYS', b'h\\[llo'])
    check('split utf8', split_args('ECHO "é"'), [b'ECHO', 'é'.encode()])
    for bad in ('ECHO "abc', "ECHO 'abc"):
        try:
            split_args(bad)
            failures.append('split accepted %r' % bad)
        except ScriptError:
            pass
    check('encode', encode_command([b'GET', b'']), b'*2\r\n$3\r\nGET\r\n$0\r\n\r\n')
    return failures


# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument('--organic-bin', help='organic-server binary to start on a free port')
    who.add_argument('--organic-port', type=int, help='port of an already running organic-server')
    who.add_argument('--self-test', action='store_true',
                     help='compare redis with a second redis (the runner must report 0 failures)')
    ap.add_argument('--redis-bin', default=DEFAULT_REDIS_BIN)
    ap.add_argument('--scripts', default=DEFAULT_SCRIPTS, help='directory of *.txt scripts')
    ap.add_argument('--filter', default='', help='only scripts whose file name contains this')
    ap.add_argument('-v', '--verbose', action='store_true',
                    help='print passing lines too, with the redis reply')
    opts = ap.parse_args()

    if opts.self_test:
        failures = unit_checks()
        for f in failures:
            print('SELF-CHECK FAIL %s' % f)
        if failures:
            print('%d reader/tokenizer self-checks failed' % len(failures))
            return 1

    scripts = list_scripts(opts.scripts, opts.filter)
    if not scripts:
        print('no scripts match %r in %s' % (opts.filter, opts.scripts))
        return 2
    for path in scripts:           # Fail on a malformed script before starting anything.
        try:
            parse_script(path)
        except ScriptError as e:
            print('SCRIPT ERROR %s' % e)
            return 2

    started = []
    try:
        ref = ServerProcess('redis', redis_argv(opts.redis_bin))
        started.append(ref)
        if opts.self_test:
            test = ServerProcess('redis2', redis_argv(opts.redis_bin))
            started.append(test)
            test_name, test_port = 'redis2', test.port
        elif opts.organic_bin:
            test = ServerProcess('organic', organic_argv(opts.organic_bin))
            started.append(test)
            test_name, test_port = 'organic', test.port
        else:
            test_name, test_port = 'organic', opts.organic_port
        for proc in started:
            proc.wait_ready()

        result = Result()
        t0 = time.monotonic()
        dead = []
        for i, path in enumerate(scripts):
            dead = [p for p in started if p.proc.poll() is not None]
            if dead:
                remaining = sum(sum(1 for st in parse_script(q) if st.mode != 'sleep')
                                for q in scripts[i:])
                result.failed += remaining
                print('ABORT %s exited with %d; %d commands in %d scripts not run; log tail:\n%s'
                      % (dead[0].name, dead[0].proc.returncode, remaining, len(scripts) - i,
                         dead[0].log_tail()))
                break
            run_script(path, ref.port, test_port, 'redis', test_name, result, opts.verbose)
        if opts.verbose:
            print('elapsed %.1f s' % (time.monotonic() - t0))
        for proc in started:
            if proc.proc.poll() is not None and not dead:
                print('WARNING %s exited with %d during the run; log tail:\n%s'
                      % (proc.name, proc.proc.returncode, proc.log_tail()))
        print('%d passed, %d failed' % (result.passed, result.failed))
        return 1 if result.failed else 0
    except RuntimeError as e:
        print('ERROR %s' % e)
        return 2
    finally:
        for proc in started:
            proc.stop()


if __name__ == '__main__':
    sys.exit(main())
