// The collection engine: the metadata and member-key formats, the member spaces in the WAL
// and the manifest (version 2, version 1 still read), and hashes through the operation layer
// and the real command handlers: conversions, member records on disk, O(1) RENAME, DEL making
// ids dead and flushes and compactions dropping their records, restarts.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "command_harness.h"
#include "commands/collection_ops.h"
#include "engine/collection_meta.h"
#include "engine/compaction.h"
#include "engine/engine.h"
#include "engine/manifest.h"
#include "engine/mutation.h"
#include "engine/wal_writer.h"
#include "test_files.h"
#include "util/coding.h"
#include "util/crc32c.h"

using namespace organic;
using namespace organic::engine;

namespace {

// Runs real command handlers on an engine that can be closed and reopened on its directory,
// each command bracketed like the server does (one WAL record per command).
class Shell {
 public:
  explicit Shell(std::string dir, uint64_t budget = 0) : dir_(std::move(dir)), budget_(budget) {
    commands::RegisterAllCommands(&table_);
    server_ = std::make_unique<testing::FakeServerApi>(&table_);
    Open();
  }
  void Open() {
    EngineOptions o;
    o.dir = dir_;
    o.memtable_budget = budget_;
    o.memory_unlimited = budget_ == 0;
    engine_ = std::make_unique<Engine>(o);
    Status st = engine_->Open();
    REQUIRE_MESSAGE(st.ok(), st.ToString());
  }
  void Reopen() {
    REQUIRE(engine_->Close().ok());
    engine_.reset();
    Open();
  }
  std::string Run(std::vector<std::string> args) {
    std::string out;
    protocol::ReplyBuilder reply(&out, 2);
    const commands::CommandSpec* spec = table_.Resolve(args, &reply);
    if (spec != nullptr) {
      commands::CommandContext ctx{args, &reply, engine_.get(), &session_, server_.get()};
      engine_->BeginCommand();
      spec->handler(ctx);
      engine_->EndCommand();
    }
    REQUIRE(engine_->FlushWal().ok());
    engine_->PollBackground();
    return out;
  }
  // Every MemTable to tables, waiting for the manifest (SAVE).
  void Save() { REQUIRE(engine_->Flush().ok()); }
  Engine& engine() { return *engine_; }
  testing::FakeServerApi& server() { return *server_; }

 private:
  std::string dir_;
  uint64_t budget_;
  commands::CommandTable table_;
  std::unique_ptr<testing::FakeServerApi> server_;
  commands::Session session_;
  std::unique_ptr<Engine> engine_;
};

std::vector<std::string> HsetArgs(const std::string& key, int from, int to) {
  std::vector<std::string> args = {"HSET", key};
  for (int i = from; i < to; i++) {
    args.push_back("field:" + std::to_string(i));
    args.push_back("value:" + std::to_string(i));
  }
  return args;
}

uint64_t TableEntries(Engine& e, int index) {
  return e.version()->dbs[index]->table_entries();
}

}  // namespace

TEST_CASE("collections: metadata values round-trip and name their member id") {
  std::string v;
  EncodeMembersMeta(CollectionEncoding::kHashtable, 0x0102030405060708ull, 12345, &v);
  CollectionMeta m;
  REQUIRE(DecodeCollectionMeta(v, &m));
  CHECK(m.storage == CollectionStorage::kMembers);
  CHECK(m.encoding == CollectionEncoding::kHashtable);
  CHECK(m.id == 0x0102030405060708ull);
  CHECK(m.count == 12345);
  CHECK(MembersIdOf(ValueType::kHash, v) == 0x0102030405060708ull);
  CHECK(MembersIdOf(ValueType::kString, v) == 0);

  EncodeInlineMeta(CollectionEncoding::kListpack, 2, {"f1", "v1", "f2", ""}, &v);
  REQUIRE(DecodeCollectionMeta(v, &m));
  CHECK(m.storage == CollectionStorage::kInline);
  CHECK(m.count == 2);
  std::vector<std::string> items;
  REQUIRE(DecodeInlineItems(m.inline_entries, 4, &items));
  CHECK(items == std::vector<std::string>{"f1", "v1", "f2", ""});
  CHECK(MembersIdOf(ValueType::kHash, v) == 0);

  // Damage is refused, never misread.
  CHECK_FALSE(DecodeCollectionMeta("", &m));
  CHECK_FALSE(DecodeCollectionMeta(std::string(1, '\x30'), &m));  // unknown header bits
  std::string members_no_count = v.substr(0, 1);
  members_no_count[0] = 1;
  CHECK_FALSE(DecodeCollectionMeta(members_no_count, &m));
}

TEST_CASE("collections: member keys group one collection and order by name") {
  std::string a = MemberKey(7, MemberKind::kMember, "b");
  std::string b = MemberKey(7, MemberKind::kMember, "ba");
  std::string c = MemberKey(8, MemberKind::kMember, "a");
  std::string d = MemberKey(256, MemberKind::kMember, "");
  CHECK(a < b);
  CHECK(b < c);  // every record of id 7 before any of id 8
  CHECK(c < d);  // big-endian: numeric order of ids
  CHECK(MemberKeyId(a) == 7);
  CHECK(MemberKeyId(d) == 256);
  CHECK(MemberKeyName(b) == "ba");
  CHECK(a.substr(0, kMemberKeyPrefix) == MemberPrefix(7, MemberKind::kMember));
}

TEST_CASE("collections: WAL mutations carry the member space and keep-members flags") {
  Mutation m;
  m.op = MutationOp::kPut;
  m.sequence = 9;
  m.db = 3;
  m.member_space = true;
  m.key = "k";
  m.value = "v";
  std::string enc;
  EncodeMutation(m, &enc);
  Mutation out;
  REQUIRE(DecodeMutation(enc, &out));
  CHECK(out.member_space);
  CHECK_FALSE(out.keep_members);
  CHECK(out.db == 3);

  Mutation del;
  del.op = MutationOp::kDelete;
  del.key = "h";
  del.keep_members = true;
  enc.clear();
  EncodeMutation(del, &enc);
  REQUIRE(DecodeMutation(enc, &out));
  CHECK(out.keep_members);
  CHECK_FALSE(out.member_space);

  // A flag on an op that cannot have it is damage.
  Mutation flush;
  flush.op = MutationOp::kFlushDb;
  enc.clear();
  EncodeMutation(flush, &enc);
  enc[0] = static_cast<char>(enc[0] | kOpMemberSpace);
  CHECK_FALSE(DecodeMutation(enc, &out));
  // An unknown value type too.
  m.member_space = false;
  m.type = static_cast<ValueType>(9);
  enc.clear();
  EncodeMutation(m, &enc);
  CHECK_FALSE(DecodeMutation(enc, &out));
}

TEST_CASE("collections: manifest version 2 lists member spaces; version 1 is read, 3 refused") {
  Manifest m;
  m.user_databases = 2;
  for (uint64_t id : {0, 1, 2, 3}) {
    ManifestDatabase d;
    d.id = id;
    if (id >= 2) d.dead = {{10, 100}, {20, 200}};
    m.databases.push_back(d);
  }
  std::string bytes;
  EncodeManifest(m, &bytes);
  Manifest back;
  REQUIRE(DecodeManifest(bytes, "MANIFEST", &back).ok());
  CHECK(back.user_databases == 2);
  REQUIRE(back.databases.size() == 4);
  CHECK(back.databases[3].dead ==
        std::vector<std::pair<uint64_t, uint64_t>>{{10, 100}, {20, 200}});

  // Version 1: magic, version, floor, last sequence, next file, databases, tables, crc.
  std::string v1("OKVMANIF", 8);
  PutFixed32(&v1, 1);
  PutVarint64(&v1, 1);
  PutVarint64(&v1, 5);
  PutVarint64(&v1, 1);
  PutVarint64(&v1, 2);  // two databases
  for (int i = 0; i < 2; i++) {
    PutVarint64(&v1, static_cast<uint64_t>(i));
    PutVarint64(&v1, 0);
    PutVarint64(&v1, 0);
  }
  PutVarint64(&v1, 0);  // no tables
  PutFixed32(&v1, Crc32cMask(Crc32c(v1.data(), v1.size())));
  REQUIRE(DecodeManifest(v1, "MANIFEST", &back).ok());
  CHECK(back.user_databases == 2);
  CHECK(back.databases.size() == 2);
  CHECK(back.last_sequence == 5);

  // A newer format is refused by name and version.
  std::string v3 = bytes;
  v3[8] = 3;
  v3.resize(v3.size() - 4);
  PutFixed32(&v3, Crc32cMask(Crc32c(v3.data(), v3.size())));
  Status st = DecodeManifest(v3, "MANIFEST", &back);
  CHECK_FALSE(st.ok());
  CHECK(st.ToString().find("format version 3") != std::string::npos);
}

TEST_CASE("collections: a hash converts to member records and back across SAVE and restarts") {
  testing::TempDir dir;
  Shell sh(dir.path());
  CHECK(sh.Run({"HSET", "h", "a", "1", "b", "2"}) == ":2\r\n");
  CHECK(sh.Run({"OBJECT", "ENCODING", "h"}) == "$8\r\nlistpack\r\n");
  // Past hash-max-listpack-entries (512): hashtable, and past the inline limit: members.
  CHECK(sh.Run(HsetArgs("h", 0, 600)) == ":600\r\n");
  CHECK(sh.Run({"OBJECT", "ENCODING", "h"}) == "$9\r\nhashtable\r\n");
  CHECK(sh.Run({"HLEN", "h"}) == ":602\r\n");
  const int space = sh.engine().MemberSpace(0);
  CHECK(sh.engine().KeyCount(0) == 1);  // one key, whatever its member count
  sh.Save();
  CHECK(TableEntries(sh.engine(), space) >= 600);
  CHECK(sh.Run({"HGET", "h", "field:599"}) == "$9\r\nvalue:599\r\n");
  CHECK(sh.Run({"HSET", "h", "field:5", "changed"}) == ":0\r\n");
  CHECK(sh.Run({"HDEL", "h", "field:6", "nosuch"}) == ":1\r\n");
  sh.Reopen();
  CHECK(sh.Run({"HLEN", "h"}) == ":601\r\n");
  CHECK(sh.Run({"HGET", "h", "field:5"}) == "$7\r\nchanged\r\n");
  CHECK(sh.Run({"HEXISTS", "h", "field:6"}) == ":0\r\n");
  CHECK(sh.Run({"HGET", "h", "a"}) == "$1\r\n1\r\n");
  CHECK(sh.Run({"DBSIZE"}) == ":1\r\n");
  CHECK(sh.Run({"OBJECT", "ENCODING", "h"}) == "$9\r\nhashtable\r\n");
  // Every field comes back from HGETALL (two strings per field).
  CHECK(sh.Run({"HGETALL", "h"}).rfind("*1202\r\n", 0) == 0);
}

TEST_CASE("collections: RENAME moves a large hash in O(1); DEL makes its members garbage") {
  testing::TempDir dir;
  Shell sh(dir.path());
  const int space = sh.engine().MemberSpace(0);
  CHECK(sh.Run(HsetArgs("h", 0, 1000)) == ":1000\r\n");
  const uint64_t records = sh.engine().memtable_entries();
  CHECK(sh.Run({"RENAME", "h", "h2"}) == "+OK\r\n");
  // Only the metadata moved: the member records are the same ones.
  CHECK(sh.engine().memtable_entries() <= records + 1);
  CHECK(sh.engine().dead_collections() == 0);
  CHECK(sh.Run({"HGET", "h2", "field:999"}) == "$9\r\nvalue:999\r\n");
  CHECK(sh.Run({"EXISTS", "h"}) == ":0\r\n");
  sh.Save();
  CHECK(TableEntries(sh.engine(), space) >= 1000);

  // DEL: the id dies; the records in memory go at once (a small hash fits one slice) and
  // those on disk at the next compaction or flush that meets them.
  CHECK(sh.Run({"DEL", "h2"}) == ":1\r\n");
  CHECK(sh.engine().dead_collections() == 1);
  CHECK(sh.Run({"HLEN", "h2"}) == ":0\r\n");
  // A new hash never sees the old members (new id).
  CHECK(sh.Run({"HSET", "h2", "field:1", "new"}) == ":1\r\n");
  CHECK(sh.Run({"HGET", "h2", "field:999"}) == "$-1\r\n");
  sh.Reopen();  // the dead id is in the manifest or replayed from the WAL
  CHECK(sh.engine().dead_collections() == 1);
  CHECK(sh.Run({"HGETALL", "h2"}) == "*2\r\n$7\r\nfield:1\r\n$3\r\nnew\r\n");
}

TEST_CASE("collections: flushes drop the members of a dead collection") {
  testing::TempDir dir;
  Shell sh(dir.path());
  const int space = sh.engine().MemberSpace(0);
  CHECK(sh.Run(HsetArgs("big", 0, 2000)) == ":2000\r\n");
  sh.Save();
  // Members that only a frozen MemTable holds when the id dies are not written; those in the
  // active MemTable are erased.
  CHECK(sh.Run(HsetArgs("big", 2000, 2100)) == ":100\r\n");
  CHECK(sh.Run({"DEL", "big"}) == ":1\r\n");
  sh.Save();
  // Nothing new of the dead hash reached a table, and the garbage compaction that the flush's
  // install started (nothing else to compact) dropped the old records.
  CHECK(TableEntries(sh.engine(), space) <= 2000);
  sh.engine().MaybeStartCompaction();
  REQUIRE(sh.engine().WaitForBackground().ok());
  CHECK(TableEntries(sh.engine(), space) == 0);
  CHECK(sh.Run({"DBSIZE"}) == ":0\r\n");
}

TEST_CASE("collections: SET over a hash, FLUSHDB and SWAPDB take the members along") {
  testing::TempDir dir;
  Shell sh(dir.path());
  CHECK(sh.Run(HsetArgs("h", 0, 600)) == ":600\r\n");
  CHECK(sh.Run({"SET", "h", "string"}) == "+OK\r\n");
  CHECK(sh.engine().dead_collections() == 1);
  CHECK(sh.Run({"TYPE", "h"}) == "+string\r\n");
  CHECK(sh.Run(HsetArgs("h1", 0, 600)) == ":600\r\n");
  CHECK(sh.Run({"SWAPDB", "0", "1"}) == "+OK\r\n");
  CHECK(sh.Run({"HLEN", "h1"}) == ":0\r\n");
  CHECK(sh.Run({"SELECT", "1"}) == "+OK\r\n");
  CHECK(sh.Run({"HGET", "h1", "field:7"}) == "$7\r\nvalue:7\r\n");
  sh.Reopen();
  CHECK(sh.Run({"SELECT", "1"}) == "+OK\r\n");
  CHECK(sh.Run({"HGET", "h1", "field:7"}) == "$7\r\nvalue:7\r\n");
  CHECK(sh.Run({"FLUSHDB"}) == "+OK\r\n");
  CHECK(sh.Run({"HGET", "h1", "field:7"}) == "$-1\r\n");
  CHECK(sh.engine().dead_collections() == 0);  // the dead id went with db 0's member space
}

TEST_CASE("collections: COPY and MOVE give the copy its own members") {
  testing::TempDir dir;
  Shell sh(dir.path());
  CHECK(sh.Run(HsetArgs("h", 0, 600)) == ":600\r\n");
  CHECK(sh.Run({"COPY", "h", "c"}) == ":1\r\n");
  CHECK(sh.Run({"HDEL", "h", "field:1"}) == ":1\r\n");
  CHECK(sh.Run({"HGET", "c", "field:1"}) == "$7\r\nvalue:1\r\n");
  CHECK(sh.Run({"MOVE", "c", "2"}) == ":1\r\n");
  CHECK(sh.Run({"EXISTS", "c"}) == ":0\r\n");
  sh.Reopen();
  CHECK(sh.Run({"SELECT", "2"}) == "+OK\r\n");
  CHECK(sh.Run({"HLEN", "c"}) == ":600\r\n");
  CHECK(sh.Run({"HGET", "c", "field:1"}) == "$7\r\nvalue:1\r\n");
  CHECK(sh.Run({"OBJECT", "ENCODING", "c"}) == "$9\r\nhashtable\r\n");
}

TEST_CASE("collections: HSCAN walks a large hash with cursors, every field exactly once") {
  testing::TempDir dir;
  Shell sh(dir.path());
  CHECK(sh.Run(HsetArgs("h", 0, 700)) == ":700\r\n");
  sh.Save();  // half the walk from tables, half from memory after these writes
  CHECK(sh.Run(HsetArgs("h", 700, 1000)) == ":300\r\n");
  std::string cursor = "0";
  size_t seen = 0;
  int calls = 0;
  do {
    std::string reply = sh.Run({"HSCAN", "h", cursor, "COUNT", "100"});
    // *2\r\n$<n>\r\n<cursor>\r\n*<k>\r\n...
    size_t p = reply.find("\r\n", 4);
    size_t q = reply.find("\r\n", p + 2);
    cursor = reply.substr(p + 2, q - p - 2);
    size_t r = reply.find("\r\n", q + 2);
    seen += std::stoul(reply.substr(q + 3, r - q - 3)) / 2;
    calls++;
  } while (cursor != "0" && calls < 100);
  CHECK(seen == 1000);
  CHECK(calls == 10);
}

TEST_CASE("collections: random picks from member records are uniform and distinct") {
  testing::TempDir dir;
  Shell sh(dir.path());
  std::vector<std::string> sadd = {"SADD", "s"};
  for (int i = 0; i < 2000; i++) sadd.push_back("member:" + std::to_string(i * 7919 % 100003));
  CHECK(sh.Run(sadd) == ":2000\r\n");
  CHECK(sh.Run({"OBJECT", "ENCODING", "s"}) == "$9\r\nhashtable\r\n");
  std::map<std::string, int> seen;
  for (int i = 0; i < 40000; i++) {
    std::string r = sh.Run({"SRANDMEMBER", "s"});
    REQUIRE(r.rfind("$", 0) == 0);
    seen[r]++;
  }
  // 20 picks per member expected: every member comes up, none far more often than the rest.
  CHECK(seen.size() == 2000);
  int most = 0;
  for (const auto& [member, n] : seen) most = std::max(most, n);
  CHECK(most < 60);
  // SPOP with a count removes that many distinct members; the rest stay.
  std::string popped = sh.Run({"SPOP", "s", "100"});
  CHECK(popped.rfind("*100\r\n", 0) == 0);
  CHECK(sh.Run({"SCARD", "s"}) == ":1900\r\n");
  // SPOP one by one empties it exactly, every member once.
  std::set<std::string> out;
  for (int i = 0; i < 1900; i++) out.insert(sh.Run({"SPOP", "s"}));
  CHECK(out.size() == 1900);
  CHECK(sh.Run({"EXISTS", "s"}) == ":0\r\n");
}

TEST_CASE("collections: every key change reaches the key-change listener once") {
  testing::TempDir dir;
  Shell sh(dir.path());
  std::vector<std::string> events;
  sh.engine().set_key_change_listener([&](const KeyChangeEvent& e) {
    static const char* kNames[] = {"written", "ttl", "deleted", "expired", "flushed", "swapped"};
    events.push_back(std::string(kNames[static_cast<int>(e.change)]) + " " +
                     std::to_string(e.db) + " " + std::string(e.key));
  });
  auto take = [&] {
    std::vector<std::string> out;
    out.swap(events);
    return out;
  };
  using V = std::vector<std::string>;
  sh.Run({"SET", "s", "1"});
  CHECK(take() == V{"written 0 s"});
  sh.Run({"HSET", "h", "a", "1"});
  CHECK(take() == V{"written 0 h"});
  sh.Run(HsetArgs("big", 0, 600));
  CHECK(take() == V{"written 0 big"});
  // An overwritten field of a large hash writes only its member record: still one event.
  sh.Run({"HSET", "big", "field:1", "new"});
  CHECK(take() == V{"written 0 big"});
  sh.Run({"HSET", "big", "field:1", "new"});  // the same value is still a write, as in Redis
  CHECK(take() == V{"written 0 big"});
  sh.Run({"HDEL", "h", "nosuch"});
  CHECK(take().empty());  // nothing changed
  sh.Run({"HDEL", "h", "a"});
  CHECK(take() == V{"deleted 0 h"});  // the emptied hash goes
  sh.Run({"EXPIRE", "s", "100"});
  CHECK(take() == V{"ttl 0 s"});
  sh.Run({"RENAME", "big", "big2"});
  CHECK(take() == V{"written 0 big2", "deleted 0 big"});
  sh.Run({"PEXPIRE", "s", "1"});
  take();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  sh.Run({"GET", "s"});
  CHECK(take() == V{"expired 0 s"});
  sh.Run({"SWAPDB", "0", "1"});
  CHECK(take() == V{"swapped 0 "});
  sh.Run({"FLUSHALL"});
  CHECK(take() == V{"flushed -1 "});
}

TEST_CASE("collections: compaction gives back the disk space of a deleted collection") {
  testing::TempDir dir;
  Shell sh(dir.path());
  const int space = sh.engine().MemberSpace(0);
  CHECK(sh.Run(HsetArgs("keep", 0, 1000)) == ":1000\r\n");
  CHECK(sh.Run(HsetArgs("gone", 0, 3000)) == ":3000\r\n");
  sh.Save();
  CHECK(TableEntries(sh.engine(), space) == 4000);
  CHECK(sh.Run({"DEL", "gone"}) == ":1\r\n");
  CHECK(sh.engine().dead_collections() == 1);
  // With nothing urgent to compact, the member space's table is rewritten without the dead
  // hash's records, and the id is forgotten once no table may hold it.
  // (Bounded by iterations, not time: the slices of work in 250 us per PollBackground take
  // many iterations under sanitizers.)
  for (int i = 0; i < 2000 && sh.engine().dead_collections() > 0; i++) {
    sh.engine().MaybeStartCompaction();
    REQUIRE(sh.engine().WaitForBackground().ok());
    sh.engine().PollBackground();
    sh.engine().OnSecondTick();
  }
  CHECK(TableEntries(sh.engine(), space) == 1000);
  CHECK(sh.engine().dead_collections() == 0);
  CHECK(sh.engine().stats().dead_records_dropped >= 3000);
  CHECK(sh.Run({"HLEN", "keep"}) == ":1000\r\n");
  CHECK(sh.Run({"HGET", "keep", "field:999"}) == "$9\r\nvalue:999\r\n");
  sh.Reopen();
  // The replayed DEL names the id again; the tables' promises let it go at once.
  sh.engine().OnSecondTick();
  CHECK(sh.engine().dead_collections() == 0);
  CHECK(sh.Run({"HGET", "keep", "field:0"}) == "$7\r\nvalue:0\r\n");
  CHECK(sh.Run({"EXISTS", "gone"}) == ":0\r\n");
}

TEST_CASE("collections: a garbage compaction rewrites a deepest-level table in its own level") {
  // Moving it down instead sank a member space one level at every collection's death: the
  // crash test (under ASan) reached level 65, which a manifest refuses as damage.
  auto table = [](uint64_t number, uint32_t level, const std::string& lo, const std::string& hi) {
    auto t = std::make_shared<TableFile>();
    t->meta.file_number = number;
    t->meta.level = level;
    t->meta.smallest = lo;
    t->meta.largest = hi;
    return std::shared_ptr<const TableFile>(t);
  };
  DbTiers tiers;
  tiers.levels.resize(3);
  tiers.levels[1] = {table(1, 1, "a", "c"), table(2, 1, "d", "f")};
  tiers.levels[2] = {table(3, 2, "a", "z")};
  CompactionJob job;
  REQUIRE(PickTableCompaction(tiers, 2, tiers.levels[2][0], &job));
  CHECK(job.input_level == 2);
  CHECK(job.output_level == 2);
  CHECK(job.lower.empty());
  // Above the deepest level it merges down as usual.
  REQUIRE(PickTableCompaction(tiers, 1, tiers.levels[1][1], &job));
  CHECK(job.output_level == 2);
  CHECK(job.lower.size() == 1);
}

TEST_CASE("collections: garbage compactions keep the member space's levels bounded") {
  // Each death used to push the member space's tables one level down; a manifest refuses a
  // level past 64 as damage (found by the crash test under ASan).
  testing::TempDir dir;
  Shell sh(dir.path());
  const int space = sh.engine().MemberSpace(0);
  CHECK(sh.Run(HsetArgs("keep", 0, 600)) == ":600\r\n");
  for (int round = 0; round < 80; round++) {
    CHECK(sh.Run(HsetArgs("gone", 0, 600)) == ":600\r\n");
    sh.Save();
    CHECK(sh.Run({"DEL", "gone"}) == ":1\r\n");
    for (int i = 0; i < 2000 && sh.engine().dead_collections() > 0; i++) {
      sh.engine().MaybeStartCompaction();
      REQUIRE(sh.engine().WaitForBackground().ok());
      sh.engine().PollBackground();
      sh.engine().OnSecondTick();
    }
  }
  CHECK(sh.engine().version()->dbs[space]->levels.size() <= 3);
  CHECK(TableEntries(sh.engine(), space) == 600);
  sh.Reopen();
  CHECK(sh.Run({"HLEN", "keep"}) == ":600\r\n");
}

TEST_CASE("collections: replay skips WAL records the manifest's floor sequence covers") {
  // A record written twice by a WAL retry, once before a flush's freeze and once into a later
  // generation, must not be applied again on top of the tables: a SWAPDB twice swaps back.
  testing::TempDir dir;
  uint64_t swap_sequence = 0;
  {
    Shell sh(dir.path());
    sh.Run({"SET", "a", "in0"});
    sh.Run({"SWAPDB", "0", "1"});
    swap_sequence = sh.engine().sequence();
    sh.Save();  // the tables hold "a" in db 1; the floor sequence covers the SWAPDB
    REQUIRE(sh.engine().version()->floor_sequence >= swap_sequence);
  }
  // The retry's duplicate: the same SWAPDB record appended to the newest generation.
  std::vector<std::string> wals;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind("wal-", 0) == 0) wals.push_back(e.path().string());
  }
  REQUIRE(!wals.empty());
  std::sort(wals.begin(), wals.end(), [](const std::string& x, const std::string& y) {
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  });
  Mutation swap;
  swap.op = MutationOp::kSwapDb;
  swap.sequence = swap_sequence;
  swap.db = 0;
  swap.other_db = 1;
  std::string payload;
  EncodeMutation(swap, &payload);
  std::unique_ptr<WritableFile> file;
  REQUIRE(DefaultFileSystem()->NewWritableFile(wals.back(), /*append=*/true, &file).ok());
  WalWriter writer(std::move(file));
  REQUIRE(writer.AddRecord(payload).ok());
  REQUIRE(writer.Sync().ok());
  REQUIRE(writer.Close().ok());
  Shell sh(dir.path());
  CHECK(sh.Run({"SELECT", "1"}) == "+OK\r\n");
  CHECK(sh.Run({"GET", "a"}) == "$3\r\nin0\r\n");
}

// A checkpoint's copy is fuzzy (Engine::CheckpointCopy): it may catch a key in a state later
// than the checkpoint's start. A restart then replays the WAL records after the start over a
// table that already holds their outcome: they must not be applied over it (an EXPIRE would
// copy the later value up under its older sequence, and the DEL after it would take the new
// hash's id for the old one's and kill it, losing its fields at the next compaction).
TEST_CASE("collections: a restart over a checkpoint that caught a later state keeps the new hash") {
  testing::TempDir dir;
  Shell sh(dir.path());
  CHECK(sh.Run(HsetArgs("h", 0, 600)) == ":600\r\n");  // member records, a first id
  // 200,000 keys before "h" in key order: the copy is far from "h" for the next commands
  // (each runs one 250 us copy slice).
  for (int i = 0; i < 200000; i++) {
    sh.engine().Put(0, "a:" + std::to_string(i), ValueType::kString, "v", 0);
  }
  Status st;
  REQUIRE(sh.engine().StartFlush(&st));
  CHECK(sh.Run({"EXPIRE", "h", "100000"}) == ":1\r\n");
  CHECK(sh.Run({"DEL", "h"}) == ":1\r\n");
  CHECK(sh.Run(HsetArgs("h", 1000, 1600)) == ":600\r\n");  // a new id
  REQUIRE(sh.engine().WaitForBackground().ok());
  auto check = [&] {
    CHECK(sh.Run({"HLEN", "h"}) == ":600\r\n");
    CHECK(sh.Run({"HGET", "h", "field:1000"}) == "$10\r\nvalue:1000\r\n");
    CHECK(sh.Run({"HGET", "h", "field:1599"}) == "$10\r\nvalue:1599\r\n");
    CHECK(sh.Run({"HEXISTS", "h", "field:0"}) == ":0\r\n");
    CHECK(sh.Run({"TTL", "h"}) == ":-1\r\n");
  };
  check();
  sh.Reopen();  // no shutdown flush: the checkpoint's table and the WAL after its start
  check();
  // Nothing took the live hash for a dead one (a dead id would be dropped by the compactions
  // below, and its fields with it).
  sh.engine().OnSecondTick();
  CHECK(sh.engine().dead_collections() == 0);
  sh.Save();
  for (int i = 0; i < 2000 && (i < 10 || sh.engine().dead_collections() > 0); i++) {
    sh.engine().MaybeStartCompaction();
    REQUIRE(sh.engine().WaitForBackground().ok());
    sh.engine().PollBackground();
    sh.engine().OnSecondTick();
  }
  sh.Reopen();
  check();
  CHECK(sh.Run({"DBSIZE"}) == ":200001\r\n");
}
