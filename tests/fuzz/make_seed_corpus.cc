// Writes the seed corpus of the fuzz targets: small, valid inputs produced by the project's own
// writers (WalWriter, EncodeMutation, SstableBuilder, EncodeManifest, the config table), so
// each fuzzer starts from inputs that get past the magic numbers and checksums and reaches
// the interesting code at once.
//
// Usage: fuzz_seed_corpus <corpus-dir>     (the committed corpus is tests/fuzz/corpus)
// Writes <corpus-dir>/<target>/<seed-name>, replacing files of the same name. The input
// layouts (leading flag bytes) are described at the top of each <target>.cc.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "engine/manifest.h"
#include "engine/mutation.h"
#include "engine/sstable_builder.h"
#include "engine/table_record.h"
#include "engine/wal_writer.h"
#include "memory_files.h"
#include "server/config.h"

namespace {

using namespace organic;
using namespace organic::engine;

// Set in the flag byte of the checksummed formats: the target rewrites checksums first.
constexpr char kRepairChecksums = 1;

class SeedWriter {
 public:
  explicit SeedWriter(std::filesystem::path root) : root_(std::move(root)) {}

  void Write(const std::string& target, const std::string& name, const std::string& bytes) {
    const std::filesystem::path dir = root_ / target;
    std::filesystem::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::cerr << "fuzz_seed_corpus: cannot write " << (dir / name) << "\n";
      ok_ = false;
    }
  }
  bool ok() const { return ok_; }

 private:
  const std::filesystem::path root_;
  bool ok_ = true;
};

std::string Encode(const Mutation& m) {
  std::string out;
  EncodeMutation(m, &out);
  return out;
}

// One mutation of each kind.
std::vector<std::string> SampleMutations() {
  std::vector<std::string> out;
  Mutation put;
  put.op = MutationOp::kPut;
  put.sequence = 7;
  put.db = 0;
  put.key = "user:1";
  put.value = "hello";
  out.push_back(Encode(put));
  put.sequence = 8;
  put.db = 3;
  put.expire_at_ms = 1767225600000;
  put.encoding = EncodingHint::kRaw;
  put.key = "k";
  put.value = "12345";
  out.push_back(Encode(put));
  Mutation del;
  del.op = MutationOp::kDelete;
  del.sequence = 9;
  del.key = "user:1";
  out.push_back(Encode(del));
  Mutation expire;
  expire.op = MutationOp::kSetExpire;
  expire.sequence = 10;
  expire.key = "k";
  expire.expire_at_ms = 1767225700000;
  out.push_back(Encode(expire));
  Mutation flushdb;
  flushdb.op = MutationOp::kFlushDb;
  flushdb.sequence = 11;
  flushdb.db = 2;
  out.push_back(Encode(flushdb));
  Mutation flushall;
  flushall.op = MutationOp::kFlushAll;
  flushall.sequence = 12;
  out.push_back(Encode(flushall));
  Mutation swap;
  swap.op = MutationOp::kSwapDb;
  swap.sequence = 13;
  swap.db = 0;
  swap.other_db = 1;
  out.push_back(Encode(swap));
  return out;
}

std::string Batch(const std::vector<std::string>& encoded) {
  std::string out;
  EncodeMutationBatch(encoded, encoded.size(), &out);
  return out;
}

void WriteRequestParserSeeds(SeedWriter* w) {
  // flags (bit 0 unauthenticated, bit 1 small limits), split seed, stream.
  auto seed = [w](const std::string& name, char flags, char split, const std::string& stream) {
    w->Write("request_parser", name, std::string{flags, split} + stream);
  };
  seed("multibulk_set", 0, 3, "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n");
  seed("pipeline", 0, 0,
       "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
  seed("hello3_then_inline", 0, 1, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\nPING\r\nECHO x\n");
  seed("inline_quotes", 2, 5, "SET \"a\\x41\\n\" 'b c'\r\nGET a\n\r\n");
  seed("unauthenticated", 1, 2, "AUTH pw\r\n*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*11\r\n");
  seed("empty_requests", 0, 4, "*0\r\n*-1\r\n\r\n\n*1\r\n$4\r\nPING\r\n");
  seed("too_big_inline", 2, 6, std::string(40, 'x') + "\r\n");
  seed("too_big_bulk", 2, 2, "*1\r\n$100\r\n");
  seed("bad_bulk_len", 0, 1, "*1\r\n$x\r\n");
  seed("expected_dollar", 0, 3, "*2\r\n$1\r\na\r\n:1\r\n");
  seed("nul_in_inline", 2, 0, std::string("PI\0NG\r\n", 7));
  seed("big_count", 0, 2, "*1048577\r\n$1\r\nx\r\n");
  seed("unchecked_trailers", 0, 5, "*1\r\n$3\r\nabcXX*1\r\n$1\r\nqZZ");
}

void WriteInlineSplitSeeds(SeedWriter* w) {
  w->Write("inline_split", "plain", "SET key value");
  w->Write("inline_split", "quotes", "\"hello\\x41\\n\\t\" 'it\\'s' \"\" ''");
  w->Write("inline_split", "blanks", "  spaced \t words\r\n");
  w->Write("inline_split", "unbalanced", "\"unterminated");
  w->Write("inline_split", "quote_then_text", "\"a\"b");
  w->Write("inline_split", "nul", std::string("a\0b", 3));
}

void WriteMutationSeeds(SeedWriter* w) {
  const std::vector<std::string> mutations = SampleMutations();
  static const char* const kNames[] = {"put", "put_expire_raw", "delete", "set_expire",
                                       "flushdb", "flushall", "swapdb"};
  for (size_t i = 0; i < mutations.size(); ++i) w->Write("mutation", kNames[i], mutations[i]);
  w->Write("mutation", "batch", Batch({mutations[0], mutations[2], mutations[3]}));
}

std::string WalFile(const std::vector<std::string>& payloads) {
  std::string bytes;
  WalWriter writer(std::make_unique<fuzz::MemoryWritableFile>(&bytes));
  for (const std::string& p : payloads) {
    if (!writer.AddRecord(p).ok()) std::abort();
  }
  if (!writer.Close().ok()) std::abort();
  return bytes;
}

void WriteWalSeeds(SeedWriter* w) {
  std::vector<std::string> payloads = SampleMutations();
  payloads.push_back(Batch({payloads[0], payloads[1]}));
  const std::string wal = WalFile(payloads);
  w->Write("wal_reader", "records", kRepairChecksums + wal);
  w->Write("wal_reader", "records_checked", '\0' + wal);
  w->Write("wal_reader", "torn_tail", kRepairChecksums + wal.substr(0, wal.size() - 3));
  w->Write("wal_reader", "zero_tail", kRepairChecksums + wal + std::string(24, '\0'));
  w->Write("wal_reader", "empty_record", kRepairChecksums + WalFile({"", payloads[5]}));
  w->Write("wal_reader", "short_reads", static_cast<char>(kRepairChecksums | 2) + wal);
}

std::string Table(int count, uint64_t block_size, int bloom_bits, bool compressible) {
  std::string bytes;
  SstableOptions options;
  options.block_size = block_size;
  options.bloom_bits_per_key = bloom_bits;
  SstableBuilder builder(std::make_unique<fuzz::MemoryWritableFile>(&bytes), options);
  for (int i = 0; i < count; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "key:%04d", i * 7);
    TableRecord record;
    record.sequence = static_cast<uint64_t>(100 + i);
    record.tombstone = i % 5 == 4;
    record.expire_at_ms = i % 3 == 0 ? 1767225600000 + i : 0;
    const std::string value =
        compressible ? std::string(40, static_cast<char>('a' + i % 3)) : "v" + std::to_string(i);
    if (!record.tombstone) record.value = value;
    std::string encoded;
    EncodeTableRecord(record, &encoded);
    if (!builder.Add(key, encoded).ok()) std::abort();
  }
  if (!builder.Finish().ok()) std::abort();
  return bytes;
}

void WriteSstableSeeds(SeedWriter* w) {
  w->Write("sstable_reader", "raw_blocks", kRepairChecksums + Table(12, 64, 10, false));
  w->Write("sstable_reader", "zstd_blocks", kRepairChecksums + Table(16, 256, 10, true));
  w->Write("sstable_reader", "no_filter", kRepairChecksums + Table(6, 48, 0, false));
  w->Write("sstable_reader", "empty", kRepairChecksums + Table(0, 64, 10, false));
  w->Write("sstable_reader", "checked", '\0' + Table(5, 4096, 10, false));
}

void WriteManifestSeeds(SeedWriter* w) {
  std::string bytes;
  EncodeManifest(Manifest{}, &bytes);
  w->Write("manifest", "empty", kRepairChecksums + bytes);
  Manifest m;
  m.wal_floor = 5;
  m.last_sequence = 1234;
  m.next_file_number = 9;
  m.databases = {{0, 10, 2}, {NewDatabaseId(77, 1), 3, 0}};
  m.tables = {{0, 0, 4, 4096, 6, "a", "m"},
              {0, 1, 7, 8192, 4, "n", "z"},
              {NewDatabaseId(77, 1), 0, 8, 512, 3, "key:1", "key:3"}};
  EncodeManifest(m, &bytes);
  w->Write("manifest", "two_databases", kRepairChecksums + bytes);
  w->Write("manifest", "checked", '\0' + bytes);
}

void WriteConfigSeeds(SeedWriter* w) {
  // Mode 0: a whole config file.
  w->Write("config", "file", std::string(2, '\0') +
                                 "# comment\n"
                                 "port 7000\n"
                                 "bind 127.0.0.1 -::1\n"
                                 "save 3600 1 300 100\n"
                                 "save \"\"\n"
                                 "maxmemory 100mb\n"
                                 "maxmemory-policy allkeys-lru\n"
                                 "appendfsync always\r\n"
                                 "requirepass \"pa ss\\x21\"\n"
                                 "organic-ewma-alpha 0.25\n"
                                 "client-output-buffer-limit normal 0 0 0 pubsub 32mb 8mb 60\n");
  w->Write("config", "bad_line", std::string(2, '\0') + "port 7000\nport seventy\n");
  // Mode 1: every directive with the value CONFIG GET prints for its default.
  Config config;
  const auto& directives = config.directives();
  for (size_t i = 0; i < directives.size(); ++i) {
    w->Write("config", "set_" + directives[i].name,
             std::string{'\1', static_cast<char>(i)} + directives[i].get());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seed_corpus <corpus-dir>\n";
    return 2;
  }
  SeedWriter writer{std::filesystem::path(argv[1])};
  WriteRequestParserSeeds(&writer);
  WriteInlineSplitSeeds(&writer);
  WriteMutationSeeds(&writer);
  WriteWalSeeds(&writer);
  WriteSstableSeeds(&writer);
  WriteManifestSeeds(&writer);
  WriteConfigSeeds(&writer);
  return writer.ok() ? 0 : 1;
}
