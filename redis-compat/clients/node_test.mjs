// Node client compatibility tests for Organic KV: node-redis (current major, RESP2 and RESP3),
// node-redis v4 (RESP2 only: v4 has no RESP3) and ioredis 5 (RESP2 only: ioredis 5 has no RESP3).
//
// Every expectation was taken from a real redis-server 7.0; a failure means the server under test
// answers differently from Redis, or answers in a shape the client cannot decode.
// The tests FLUSHALL the server: never point them at a server holding data you want.
//
// Output: "ok - <client>/<resp>/<test>" or "FAIL - ...: why" per test, then
// "node: N passed, M failed". Exit status 1 if anything failed.
//
// Usage: node node_test.mjs --port P [--host H]

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import * as redis6 from 'redis';
import * as redis4 from 'redis-v4';
import IORedis from 'ioredis';

const require = createRequire(import.meta.url);
const VERSIONS = {
  redis: require('redis/package.json').version,
  redisV4: require('redis-v4/package.json').version,
  ioredis: require('ioredis/package.json').version,
};

const { values: cli } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
if (!cli.port) {
  console.error('usage: node node_test.mjs --port P [--host H]');
  process.exit(2);
}
const HOST = cli.host;
const PORT = Number(cli.port);

let passed = 0;
let failed = 0;

async function run(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    const where = (e && e.stack ? e.stack.split('\n').find((l) => l.includes('node_test.mjs')) : '') || '';
    console.log(`FAIL - ${name}: ${e && e.message ? e.message.split('\n')[0] : e} ${where.trim()}`);
  }
}

// Requires fn to reject with an error whose message contains text (Redis's own error text).
async function rejectsWith(fn, text) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error containing ${JSON.stringify(text)}`);
  assert.ok(String(err.message).includes(text), `error ${JSON.stringify(err.message)} lacks ${JSON.stringify(text)}`);
  return err;
}

const nowSec = () => Math.floor(Date.now() / 1000);
const between = (x, lo, hi, what) => assert.ok(x >= lo && x <= hi, `${what ?? 'value'} ${x} not in [${lo}, ${hi}]`);

// Parses the text of INFO into { section: { field: value } } (the reply is CRLF-separated).
function parseInfo(text) {
  const out = {};
  let section = null;
  for (const line of String(text).split('\r\n')) {
    if (line.startsWith('# ')) {
      section = line.slice(2).toLowerCase();
      out[section] = {};
    } else if (line && section) {
      const i = line.indexOf(':');
      out[section][line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ node-redis

// Tests for node-redis. v4 (RESP2 only) and v6 differ in reply transforms: v4 turns 0/1 integers
// into booleans for a few commands and its scanIterator yields keys one by one; v6 keeps numbers
// and yields batches. `flag(b)` is the shape a 0/1 reply takes in the client under test.
function nodeRedisTests(lib, isV4, resp) {
  const tag = `${isV4 ? `node-redis@${VERSIONS.redisV4}` : `node-redis@${VERSIONS.redis}`}/resp${resp}`;
  const flag = (b) => (isV4 ? b : b ? 1 : 0);
  const opts = (extra = {}) => ({
    socket: { host: HOST, port: PORT, reconnectStrategy: false },
    ...(isV4 ? {} : { RESP: resp }),
    ...extra,
  });
  let c;
  let db1;
  let buf; // a view of c that returns Buffers for bulk strings
  const getBuf = async (key) => (isV4 ? c.get(lib.commandOptions({ returnBuffers: true }), key) : buf.get(key));

  const t = [];
  const test = (name, fn) => t.push([`${tag}/${name}`, fn]);

  test('connect_and_flush', async () => {
    c = lib.createClient(opts());
    db1 = lib.createClient(opts({ database: 1 }));
    for (const x of [c, db1]) x.on('error', () => {});
    await c.connect();
    await db1.connect();
    if (!isV4) buf = c.withTypeMapping({ [lib.RESP_TYPES.BLOB_STRING]: Buffer });
    assert.equal(await c.flushAll(), 'OK');
    assert.equal(await c.ping(), 'PONG');
  });

  test('set_options', async () => {
    assert.equal(await c.set('st:a', '1'), 'OK');
    assert.equal(await c.set('st:a', '2', { NX: true }), null);
    assert.equal(await c.get('st:a'), '1');
    assert.equal(await c.set('st:new', 'x', { XX: true }), null);
    assert.equal(await c.exists('st:new'), 0);
    assert.equal(await c.set('st:a', '3', { XX: true }), 'OK');
    assert.equal(await c.set('st:ex', 'v', { EX: 100 }), 'OK');
    between(await c.ttl('st:ex'), 98, 100, 'ttl');
    assert.equal(await c.set('st:px', 'v', { PX: 50000 }), 'OK');
    between(await c.pTTL('st:px'), 48000, 50000, 'pttl');
    assert.equal(await c.set('st:ex', 'v2', { KEEPTTL: true }), 'OK');
    between(await c.ttl('st:ex'), 98, 100, 'ttl after KEEPTTL');
    assert.equal(await c.set('st:ex', 'v3', { GET: true }), 'v2');
    assert.equal(await c.ttl('st:ex'), -1);
    assert.equal(await c.set('st:none', 'v', { GET: true }), null);
    const at = nowSec() + 300;
    assert.equal(await c.set('st:exat', 'v', { EXAT: at }), 'OK');
    assert.equal(await c.expireTime('st:exat'), at);
    await rejectsWith(() => c.set('st:bad', 'v', { EX: 0 }), "ERR invalid expire time in 'set' command");
  });

  test('getex_getdel', async () => {
    await c.set('gx', 'val');
    assert.equal(await c.getEx('gx', { EX: 100 }), 'val');
    between(await c.ttl('gx'), 98, 100);
    assert.equal(await c.getEx('gx', { PERSIST: true }), 'val');
    assert.equal(await c.ttl('gx'), -1);
    assert.equal(await c.getEx('gx:missing', { EX: 10 }), null);
    assert.equal(await c.getDel('gx'), 'val');
    assert.equal(await c.getDel('gx'), null);
  });

  test('mset_mget_msetnx', async () => {
    assert.equal(await c.mSet({ 'm:a': '1', 'm:b': '2', 'm:c': '3' }), 'OK');
    assert.deepEqual(await c.mGet(['m:a', 'm:missing', 'm:c']), ['1', null, '3']);
    assert.equal(await c.mSetNX({ 'm:a': 'x', 'm:new': 'y' }), flag(false));
    assert.equal(await c.exists('m:new'), 0);
    assert.equal(await c.mSetNX({ 'm:new': 'y', 'm:new2': 'z' }), flag(true));
  });

  test('incr_family_and_errors', async () => {
    assert.equal(await c.incr('n'), 1);
    assert.equal(await c.incrBy('n', 10), 11);
    assert.equal(await c.decr('n'), 10);
    assert.equal(await c.decrBy('n', 20), -10);
    assert.equal(await c.get('n'), '-10');
    assert.equal(await c.incrByFloat('f', 10.5), '10.5');
    assert.equal(await c.incrByFloat('f', 0.1), '10.6');
    await c.set('s', 'abc');
    const e = await rejectsWith(() => c.incr('s'), 'ERR value is not an integer or out of range');
    assert.ok(e instanceof lib.ErrorReply, `error is ${e.constructor.name}, not ErrorReply`);
    assert.equal(e.message, 'ERR value is not an integer or out of range');
    await rejectsWith(() => c.incrByFloat('s', 1), 'ERR value is not a valid float');
    await c.set('n64', '9223372036854775807');
    await rejectsWith(() => c.incr('n64'), 'ERR increment or decrement would overflow');
  });

  test('append_getrange_setrange', async () => {
    assert.equal(await c.append('ap', 'Hello'), 5);
    assert.equal(await c.append('ap', ' World'), 11);
    assert.equal(await c.strLen('ap'), 11);
    assert.equal(await c.getRange('ap', -5, -1), 'World');
    assert.equal(await c.getRange('ap', 5, 3), '');
    assert.equal(await c.setRange('ap', 6, 'Redis'), 11);
    assert.equal(await c.get('ap'), 'Hello Redis');
    assert.equal(await c.setRange('sr', 3, 'x'), 4);
    assert.deepEqual(await getBuf('sr'), Buffer.from([0, 0, 0, 0x78]));
  });

  test('lcs', async () => {
    await c.mSet({ lcs1: 'ohmytext', lcs2: 'mynewtext' });
    assert.equal(await c.lcs('lcs1', 'lcs2'), 'mytext');
    assert.equal(await c.lcsLen('lcs1', 'lcs2'), 6);
    // v4's lcsIdx takes no MINMATCHLEN and names the length "length"; v6 follows Redis ("len").
    const idx = isV4 ? await c.lcsIdx('lcs1', 'lcs2') : await c.lcsIdx('lcs1', 'lcs2', { MINMATCHLEN: 4 });
    const plain = JSON.parse(JSON.stringify(idx instanceof Map ? Object.fromEntries(idx) : idx));
    assert.equal(isV4 ? plain.length : plain.len, 6, JSON.stringify(plain));
    const ranges = plain.matches.map((m) => (Array.isArray(m)
      ? m.slice(0, 2) : [[m.key1.start, m.key1.end], [m.key2.start, m.key2.end]]));
    // "text" at 4..7 / 5..8, then (without MINMATCHLEN) "my" at 2..3 / 0..1.
    assert.deepEqual(ranges, isV4 ? [[[4, 7], [5, 8]], [[2, 3], [0, 1]]] : [[[4, 7], [5, 8]]],
      JSON.stringify(plain));
  });

  test('keys_exists_del_unlink_type', async () => {
    await c.flushDb();
    await c.mSet({ 'user:1': 'a', 'user:2': 'b', 'user:10': 'c', other: 'd' });
    assert.equal(await c.dbSize(), 4);
    assert.deepEqual((await c.keys('user:?')).sort(), ['user:1', 'user:2']);
    assert.equal(await c.exists(['user:1', 'user:1', 'nope']), 2);
    assert.equal(await c.type('other'), 'string');
    assert.equal(await c.type('nope'), 'none');
    assert.equal(await c.del(['user:1', 'nope']), 1);
    assert.equal(await c.unlink(['user:2', 'user:10']), 2);
    assert.deepEqual(await c.keys('*'), ['other']);
  });

  test('scan_iterator', async () => {
    await c.flushDb();
    const ops = [];
    for (let i = 0; i < 1000; i++) ops.push(c.set(`scan:${i}`, String(i)));
    for (let i = 0; i < 25; i++) ops.push(c.set(`other:${i}`, String(i)));
    await Promise.all(ops);
    const collect = async (o) => {
      const out = new Set();
      for await (const item of c.scanIterator(o)) {
        for (const k of isV4 ? [item] : item) out.add(k);
      }
      return out;
    };
    assert.equal((await collect({ COUNT: 100 })).size, 1025);
    const m = await collect({ MATCH: 'scan:9*', COUNT: 50 });
    assert.equal(m.size, 111); // 9, 90-99, 900-999
    assert.ok([...m].every((k) => k.startsWith('scan:9')));
    assert.equal((await collect({ MATCH: 'other:*', TYPE: 'string' })).size, 25);
    assert.equal((await collect({ TYPE: 'hash' })).size, 0);
  });

  test('rename_copy_move', async () => {
    await db1.flushDb();
    await c.set('rn:a', '1', { EX: 100 });
    assert.equal(await c.rename('rn:a', 'rn:b'), 'OK');
    between(await c.ttl('rn:b'), 98, 100);
    await rejectsWith(() => c.rename('rn:missing', 'x'), 'ERR no such key');
    await c.set('rn:c', '2');
    assert.equal(await c.renameNX('rn:b', 'rn:c'), flag(false));
    assert.equal(await c.renameNX('rn:b', 'rn:d'), flag(true));
    assert.equal(await c.copy('rn:d', 'rn:c'), flag(false));
    assert.equal(await c.copy('rn:d', 'rn:c', isV4 ? { replace: true } : { REPLACE: true }), flag(true));
    assert.equal(await c.get('rn:c'), '1');
    assert.equal(await c.copy('rn:d', 'in1', isV4 ? { destinationDb: 1 } : { DB: 1 }), flag(true));
    assert.equal(await db1.get('in1'), '1');
    assert.equal(await c.move('rn:c', 1), flag(true));
    assert.equal(await c.exists('rn:c'), 0);
    assert.equal(await db1.get('rn:c'), '1');
    await c.set('in1', 'x');
    assert.equal(await c.move('in1', 1), flag(false)); // exists in target
    await rejectsWith(() => c.move('in1', 0), 'ERR source and destination objects are the same');
  });

  test('expire_ttl_persist', async () => {
    await c.set('ex:a', 'v');
    assert.equal(await c.ttl('ex:a'), -1);
    assert.equal(await c.ttl('ex:missing'), -2);
    assert.equal(await c.expire('ex:a', 100, 'XX'), flag(false));
    assert.equal(await c.expire('ex:a', 100, 'NX'), flag(true));
    assert.equal(await c.expire('ex:a', 200, 'NX'), flag(false));
    assert.equal(await c.expire('ex:a', 50, 'GT'), flag(false));
    assert.equal(await c.expire('ex:a', 200, 'GT'), flag(true));
    assert.equal(await c.expire('ex:a', 300, 'LT'), flag(false));
    assert.equal(await c.expire('ex:a', 150, 'LT'), flag(true));
    between(await c.ttl('ex:a'), 148, 150);
    between(await c.pTTL('ex:a'), 148000, 150000);
    between(await c.expireTime('ex:a'), nowSec() + 148, nowSec() + 151, 'expiretime');
    assert.equal(await c.persist('ex:a'), flag(true));
    assert.equal(await c.persist('ex:a'), flag(false));
    assert.equal(await c.expireTime('ex:a'), -1);
    assert.equal(await c.expireTime('ex:missing'), -2);
    await c.set('ex:short', 'v', { PX: 100 });
    await sleep(250);
    assert.equal(await c.get('ex:short'), null);
    await rejectsWith(() => c.sendCommand(['EXPIRE', 'ex:a', '10', 'NX', 'XX']),
      'ERR NX and XX, GT or LT options at the same time are not compatible');
  });

  test('batches_10k', async () => {
    // Auto-pipelining: commands issued in the same tick go out in one write.
    const sets = [];
    for (let i = 0; i < 5000; i++) sets.push(c.set(`pl:${i}`, `v${i}`));
    assert.ok((await Promise.all(sets)).every((r) => r === 'OK'));
    const gets = [];
    for (let i = 0; i < 5000; i++) gets.push(c.get(`pl:${i}`));
    const got = await Promise.all(gets);
    for (let i = 0; i < 5000; i++) assert.equal(got[i], `v${i}`);
    // A batch without MULTI: multi().execAsPipeline() sends the commands plainly.
    const b = c.multi();
    for (let i = 0; i < 100; i++) b.incr('pl:counter');
    b.get('pl:counter');
    const res = await b.execAsPipeline();
    assert.equal(res.length, 101);
    assert.equal(res[99], 100);
    assert.equal(res[100], '100');
  });

  test('client_commands', async () => {
    assert.equal(await c.clientGetName(), null);
    assert.equal(await c.clientSetName('node-compat'), 'OK');
    assert.equal(await c.clientGetName(), 'node-compat');
    const id = await c.clientId();
    assert.ok(Number.isInteger(id) && id > 0);
    const info = await c.clientInfo();
    assert.equal(Number(info.id), id);
    assert.equal(info.name, 'node-compat');
    assert.equal(Number(info.db), 0);
    const list = await c.clientList();
    const mine = list.filter((e) => e.name === 'node-compat');
    assert.equal(mine.length, 1);
    assert.equal(Number(mine[0].id), id);
    const db1Id = await db1.clientId();
    assert.equal(Number(list.find((e) => Number(e.id) === db1Id).db), 1);
    await rejectsWith(() => c.clientSetName('has space'), 'ERR Client names cannot contain spaces');
  });

  test('info_sections', async () => {
    await c.flushAll();
    await c.set('inf:a', '1');
    await c.set('inf:b', '2', { EX: 1000 });
    await db1.set('inf:c', '3');
    const all = parseInfo(await c.info());
    assert.ok(all.server && all.memory && all.keyspace && all.clients && all.stats, Object.keys(all).join());
    const srv = parseInfo(await c.info('server'));
    assert.deepEqual(Object.keys(srv), ['server']);
    assert.equal(srv.server.tcp_port, String(PORT));
    assert.match(srv.server.run_id, /^[0-9a-f]{40}$/);
    const mem = parseInfo(await c.info('memory'));
    assert.ok(Number(mem.memory.used_memory) > 0);
    const ks = parseInfo(await c.info('keyspace')).keyspace;
    assert.match(ks.db0, /^keys=2,expires=1,avg_ttl=\d+$/);
    assert.equal(ks.db1, 'keys=1,expires=0,avg_ttl=0');
  });

  test('config_get_set', async () => {
    assert.deepEqual({ ...(await c.configGet('maxmemory')) }, { maxmemory: '0' });
    const many = { ...(await c.configGet('maxmemory*')) };
    assert.ok('maxmemory' in many && 'maxmemory-policy' in many, JSON.stringify(many));
    assert.equal(await c.configSet('maxmemory', '10mb'), 'OK');
    assert.equal((await c.configGet('maxmemory')).maxmemory, '10485760');
    assert.equal(await c.configSet('maxmemory', '0'), 'OK');
    await rejectsWith(() => c.configSet('no-such-param', '1'),
      "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-param'");
  });

  test('ping_echo_time', async () => {
    assert.equal(await c.ping(), 'PONG');
    assert.equal(await c.ping('hi'), 'hi');
    assert.equal(await c.echo('hello'), 'hello');
    const tm = await c.time();
    const secs = isV4 ? tm.getTime() / 1000 : Number(tm[0]) + Number(tm[1]) / 1e6;
    assert.ok(Math.abs(secs - Date.now() / 1000) < 2, `time ${secs}`);
  });

  test('database_option_selects', async () => {
    await c.flushAll();
    await db1.set('sel', 'one');
    assert.equal(await c.get('sel'), null);
    assert.equal(await db1.get('sel'), 'one');
    assert.equal(await db1.dbSize(), 1);
    assert.equal(await c.dbSize(), 0);
    await rejectsWith(() => c.sendCommand(['SELECT', '16']), 'ERR DB index is out of range');
  });

  test('binary_buffers', async () => {
    const all = Buffer.from([...Array(256).keys()]);
    const key = Buffer.from([0x62, 0x00, 0xff, 0x0d, 0x0a]);
    assert.equal(await c.set(key, all), 'OK');
    assert.deepEqual(await getBuf(key), all);
    assert.equal(await c.strLen(key), 256);
    const big = randomBytes(1 << 20);
    await c.set('bin:big', big);
    assert.ok((await getBuf('bin:big')).equals(big));
    await c.set('bin:empty', '');
    assert.equal(await c.get('bin:empty'), '');
    assert.equal(await c.exists('bin:empty'), 1);
    const uni = 'Grüße, 世界 🌍';
    await c.set('bin:uni', uni);
    assert.equal(await c.get('bin:uni'), uni);
    assert.equal(await c.strLen('bin:uni'), Buffer.byteLength(uni));
  });

  test('error_replies', async () => {
    await rejectsWith(() => c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command");
    const e = await rejectsWith(() => c.sendCommand(['NOSUCHCMD', 'x']), "ERR unknown command 'NOSUCHCMD'");
    assert.ok(e instanceof lib.ErrorReply);
    assert.ok(e.message.includes("with args beginning with: 'x'"), e.message);
    assert.equal(await c.ping(), 'PONG');
  });

  test('hello', async () => {
    const h = await c.sendCommand(['HELLO']);
    const m = h instanceof Map ? Object.fromEntries(h) : Array.isArray(h)
      ? Object.fromEntries(Array.from({ length: h.length / 2 }, (_, i) => [h[2 * i], h[2 * i + 1]])) : h;
    assert.equal(Number(m.proto), resp, JSON.stringify(m));
    assert.equal(Number(m.id), await c.clientId());
    for (const k of ['server', 'version', 'mode', 'role', 'modules']) assert.ok(k in m, k);
  });

  test('quit', async () => {
    await c.quit();
    await db1.quit();
  });
  return t;
}

// --------------------------------------------------------------------------------------- ioredis

function ioredisTests() {
  const tag = `ioredis@${VERSIONS.ioredis}/resp2`;
  let c;
  let db1;
  const t = [];
  const test = (name, fn) => t.push([`${tag}/${name}`, fn]);
  const mk = (db) => new IORedis({ host: HOST, port: PORT, db, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });

  test('connect_and_flush', async () => {
    c = mk(0);
    db1 = mk(1);
    for (const x of [c, db1]) x.on('error', () => {});
    await c.connect(); // waits for the ready check (INFO) to pass
    await db1.connect();
    assert.equal(c.status, 'ready');
    assert.equal(await c.flushall(), 'OK');
  });

  test('set_options', async () => {
    assert.equal(await c.set('st:a', '1'), 'OK');
    assert.equal(await c.set('st:a', '2', 'NX'), null);
    assert.equal(await c.set('st:new', 'x', 'XX'), null);
    assert.equal(await c.set('st:ex', 'v', 'EX', 100), 'OK');
    between(await c.ttl('st:ex'), 98, 100);
    assert.equal(await c.set('st:px', 'v', 'PX', 50000, 'NX'), 'OK');
    between(await c.pttl('st:px'), 48000, 50000);
    assert.equal(await c.set('st:ex', 'v2', 'KEEPTTL'), 'OK');
    between(await c.ttl('st:ex'), 98, 100);
    assert.equal(await c.set('st:ex', 'v3', 'GET'), 'v2');
    assert.equal(await c.ttl('st:ex'), -1);
    await rejectsWith(() => c.set('st:a', 'v', 'NX', 'XX'), 'ERR syntax error');
  });

  test('getex_getdel_mset', async () => {
    await c.set('gx', 'val');
    assert.equal(await c.getex('gx', 'EX', 100), 'val');
    between(await c.ttl('gx'), 98, 100);
    assert.equal(await c.getex('gx', 'PERSIST'), 'val');
    assert.equal(await c.ttl('gx'), -1);
    assert.equal(await c.getdel('gx'), 'val');
    assert.equal(await c.getdel('gx'), null);
    assert.equal(await c.mset({ 'm:a': '1', 'm:b': '2' }), 'OK');
    assert.deepEqual(await c.mget('m:a', 'm:x', 'm:b'), ['1', null, '2']);
    assert.equal(await c.msetnx('m:a', 'z', 'm:c', 'z'), 0);
    assert.equal(await c.msetnx('m:c', 'z', 'm:d', 'z'), 1);
  });

  test('incr_append_ranges_lcs', async () => {
    assert.equal(await c.incr('n'), 1);
    assert.equal(await c.incrby('n', 41), 42);
    assert.equal(await c.decrby('n', 2), 40);
    assert.equal(await c.incrbyfloat('f', '10.5'), '10.5');
    assert.equal(await c.incrbyfloat('f', '0.1'), '10.6');
    assert.equal(await c.append('ap', 'Hello World'), 11);
    assert.equal(await c.getrange('ap', 0, 4), 'Hello');
    assert.equal(await c.setrange('ap', 6, 'Redis'), 11);
    assert.equal(await c.get('ap'), 'Hello Redis');
    await c.mset('lcs1', 'ohmytext', 'lcs2', 'mynewtext');
    assert.equal(await c.lcs('lcs1', 'lcs2'), 'mytext');
    assert.equal(await c.lcs('lcs1', 'lcs2', 'LEN'), 6);
    assert.deepEqual(await c.lcs('lcs1', 'lcs2', 'IDX', 'MINMATCHLEN', 4, 'WITHMATCHLEN'),
      ['matches', [[[4, 7], [5, 8], 4]], 'len', 6]);
  });

  test('error_replies_are_ReplyError', async () => {
    await c.set('s', 'abc');
    const e = await rejectsWith(() => c.incr('s'), 'ERR value is not an integer or out of range');
    assert.equal(e.name, 'ReplyError');
    assert.equal(e.message, 'ERR value is not an integer or out of range');
    await rejectsWith(() => c.incrbyfloat('s', 1), 'ERR value is not a valid float');
    await rejectsWith(() => c.call('GET'), "ERR wrong number of arguments for 'get' command");
    await rejectsWith(() => c.call('NOSUCHCMD', 'a'), "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a'");
    await rejectsWith(() => c.rename('nokey', 'x'), 'ERR no such key');
    assert.equal(await c.ping(), 'PONG');
  });

  test('keys_scanstream', async () => {
    await c.flushdb();
    const p = c.pipeline();
    for (let i = 0; i < 1000; i++) p.set(`scan:${i}`, i);
    for (let i = 0; i < 25; i++) p.set(`other:${i}`, i);
    await p.exec();
    assert.equal(await c.dbsize(), 1025);
    assert.equal(await c.exists('scan:1', 'scan:1', 'nope'), 2);
    assert.equal(await c.type('scan:1'), 'string');
    assert.deepEqual((await c.keys('other:1?')).sort(), Array.from({ length: 10 }, (_, i) => `other:1${i}`).sort());
    const collect = (opts) => new Promise((resolve, reject) => {
      const out = new Set();
      const s = c.scanStream(opts);
      s.on('data', (batch) => batch.forEach((k) => out.add(k)));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    assert.equal((await collect({ count: 100 })).size, 1025);
    assert.equal((await collect({ match: 'scan:9*', count: 37 })).size, 111);
    assert.equal((await collect({ match: 'other:*', type: 'string' })).size, 25);
    assert.equal((await collect({ type: 'list' })).size, 0);
    assert.equal(await c.del('scan:1', 'scan:2', 'nope'), 2);
    assert.equal(await c.unlink('scan:3'), 1);
    assert.equal(await c.dbsize(), 1022);
  });

  test('rename_copy_move', async () => {
    await db1.flushdb();
    await c.set('a', '1', 'EX', 100);
    assert.equal(await c.rename('a', 'b'), 'OK');
    between(await c.ttl('b'), 98, 100);
    assert.equal(await c.renamenx('b', 'b2'), 1);
    assert.equal(await c.copy('b2', 'b3'), 1);
    assert.equal(await c.copy('b2', 'b3'), 0);
    assert.equal(await c.copy('b2', 'b3', 'REPLACE'), 1);
    assert.equal(await c.copy('b2', 'x', 'DB', 1), 1);
    assert.equal(await db1.get('x'), '1');
    assert.equal(await c.move('b3', 1), 1);
    assert.equal(await db1.get('b3'), '1');
    assert.equal(await c.exists('b3'), 0);
  });

  test('expire_ttl_persist', async () => {
    await c.set('ex', 'v');
    assert.equal(await c.expire('ex', 100, 'XX'), 0);
    assert.equal(await c.expire('ex', 100, 'NX'), 1);
    assert.equal(await c.expire('ex', 50, 'GT'), 0);
    assert.equal(await c.expire('ex', 50, 'LT'), 1);
    between(await c.ttl('ex'), 48, 50);
    between(await c.expiretime('ex'), nowSec() + 48, nowSec() + 51);
    assert.equal(await c.persist('ex'), 1);
    assert.equal(await c.ttl('ex'), -1);
    assert.equal(await c.pttl('nope'), -2);
    assert.equal(await c.pexpire('ex', 100), 1);
    await sleep(250);
    assert.equal(await c.exists('ex'), 0);
  });

  test('pipeline_10k', async () => {
    const p = c.pipeline();
    for (let i = 0; i < 5000; i++) p.set(`pl:${i}`, `v${i}`);
    for (let i = 0; i < 5000; i++) p.get(`pl:${i}`);
    const res = await p.exec();
    assert.equal(res.length, 10000);
    for (let i = 0; i < 5000; i++) assert.deepEqual(res[i], [null, 'OK']);
    for (let i = 0; i < 5000; i++) assert.deepEqual(res[5000 + i], [null, `v${i}`]);
    // An error inside a pipeline is reported in place; the rest still runs.
    await c.set('pl:s', 'abc');
    const r2 = await c.pipeline().incr('pl:s').set('pl:after', '1').get('pl:after').exec();
    assert.equal(r2[0][0].message, 'ERR value is not an integer or out of range');
    assert.deepEqual(r2.slice(1), [[null, 'OK'], [null, '1']]);
  });

  test('client_info_config', async () => {
    assert.equal(await c.client('SETNAME', 'io-compat'), 'OK');
    assert.equal(await c.client('GETNAME'), 'io-compat');
    const id = await c.client('ID');
    const info = await c.client('INFO');
    assert.match(info, new RegExp(`^id=${id} .*name=io-compat .*db=0 `));
    const list = await c.client('LIST');
    assert.equal(list.split('\n').filter((l) => l.includes(' name=io-compat ')).length, 1);
    assert.deepEqual(await c.config('GET', 'maxmemory'), ['maxmemory', '0']);
    assert.equal(await c.config('SET', 'maxmemory', '1gb'), 'OK');
    assert.deepEqual(await c.config('GET', 'maxmemory'), ['maxmemory', '1073741824']);
    assert.equal(await c.config('SET', 'maxmemory', '0'), 'OK');
    const srv = parseInfo(await c.info('server'));
    assert.equal(srv.server.tcp_port, String(PORT));
    assert.ok(Number(parseInfo(await c.info('memory')).memory.used_memory) > 0);
    // ioredis's ready check at connect reads INFO's "loading" field; a missing field or "0" is ready.
    const loading = parseInfo(await c.info('persistence')).persistence?.loading;
    assert.ok(loading === undefined || loading === '0', `loading:${loading}`);
  });

  test('ping_echo_time_db', async () => {
    assert.equal(await c.ping(), 'PONG');
    assert.equal(await c.ping('x'), 'x');
    assert.equal(await c.echo('hello'), 'hello');
    const [s, us] = await c.time();
    assert.ok(Math.abs(Number(s) + Number(us) / 1e6 - Date.now() / 1000) < 2);
    await c.flushall();
    await db1.set('sel', 'one');
    assert.equal(await c.get('sel'), null);
    assert.equal(await db1.get('sel'), 'one');
    assert.equal(parseInfo(await c.info('keyspace')).keyspace.db1, 'keys=1,expires=0,avg_ttl=0');
  });

  test('binary_buffers', async () => {
    const all = Buffer.from([...Array(256).keys()]);
    const key = Buffer.from([0x6b, 0x00, 0xff, 0x0d, 0x0a]);
    assert.equal(await c.set(key, all), 'OK');
    assert.ok((await c.getBuffer(key)).equals(all));
    const big = randomBytes(1 << 20);
    await c.set('big', big);
    assert.ok((await c.getBuffer('big')).equals(big));
    assert.deepEqual(await c.mgetBuffer('big', 'nope'), [big, null]);
    assert.equal(await c.strlen('big'), 1 << 20);
  });

  test('quit', async () => {
    assert.equal(await c.quit(), 'OK');
    await db1.quit();
  });
  return t;
}

// ------------------------------------------------------------------------------------------ main

async function runSuite(tests) {
  let aborted = false;
  for (const [name, fn] of tests) {
    if (aborted) {
      failed++;
      console.log(`FAIL - ${name}: not run (connect failed)`);
      continue;
    }
    const before = failed;
    await run(name, fn);
    if (name.endsWith('/connect_and_flush') && failed > before) aborted = true;
  }
}

console.log(`# node ${process.version}; redis ${VERSIONS.redis}, redis-v4 ${VERSIONS.redisV4}, ioredis ${VERSIONS.ioredis}`);
console.log('# skip ioredis/resp3: ioredis 5 has no RESP3 support; skip node-redis v4/resp3: v4 has no RESP3');
const deadline = setTimeout(() => {
  console.log(`FAIL - node: overall timeout\nnode: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, 90000);
await runSuite(nodeRedisTests(redis6, false, 2));
await runSuite(nodeRedisTests(redis6, false, 3));
await runSuite(nodeRedisTests(redis4, true, 2));
await runSuite(ioredisTests());
clearTimeout(deadline);
console.log(`node: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
