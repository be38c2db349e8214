// Config: every directive organic-server understands, with Redis's names, syntax and units.
// One table describes each directive (name, default, whether CONFIG SET may change it, how to
// parse and print it); the config file, the command line, CONFIG GET and CONFIG SET all go
// through it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace organic {

// The typed values the server reads.
struct ConfigValues {
  int port = 6379;
  std::vector<std::string> bind = {"127.0.0.1", "-::1"};  // '-' = optional, as Redis
  bool protected_mode = true;
  std::string dir = "./organic-data";
  std::string requirepass;
  int databases = 16;
  int maxclients = 10000;
  int timeout = 0;  // seconds; 0 = never close idle clients
  int tcp_keepalive = 300;
  std::string appendfsync = "everysec";
  bool appendonly = true;  // the WAL is always on; accepted for redis.conf compatibility
  uint64_t proto_max_bulk_len = 512ull * 1024 * 1024;
  uint64_t client_query_buffer_limit = 1024ull * 1024 * 1024;
  std::string loglevel = "notice";
  std::string logfile;
  int hz = 10;
  uint64_t maxmemory = 0;
  // "organic" (the default): when the memory budget is reached, cold keys move to SSTables on
  // disk and every key is kept; OBJECT FREQ reports access counts. Redis's eight policies make
  // a pure cache, as in Redis: with maxmemory set, nothing is tiered by size and keys are
  // evicted (or deny-oom commands refused) when used memory exceeds it (server/eviction.h).
  // OBJECT FREQ/IDLETIME follow Redis under them (FREQ only with an LFU policy).
  std::string maxmemory_policy = "organic";
  int maxmemory_samples = 5;
  // Redis's collection encoding thresholds (OBJECT ENCODING; commands/collection_ops.h).
  // Redis 7.0's built-in defaults (its sample redis.conf says 128 entries).
  uint64_t hash_max_listpack_entries = 512;
  uint64_t hash_max_listpack_value = 64;
  uint64_t set_max_intset_entries = 512;
  int lfu_log_factor = 10;
  int lfu_decay_time = 1;
  // Redis's save points: a metabolic flush starts when at least `changes` writes happened and
  // `seconds` passed since the last one (the periodic flush), and SHUTDOWN flushes when any
  // is set. Redis's default.
  struct SavePoint {
    int64_t seconds;
    int64_t changes;
  };
  std::vector<SavePoint> save_points = {{3600, 1}, {300, 100}, {60, 10000}};
  bool daemonize = false;
  std::string pidfile;
  int tcp_backlog = 511;
  // client-output-buffer-limit, per class as Redis keeps it (normal, slave, pubsub), Redis's
  // defaults. Only normal applies here (no replicas, no pub/sub); the others are kept so CONFIG
  // GET/SET round-trip as with redis-server. 0 = no limit.
  struct OutputBufferLimit {
    uint64_t hard = 0;         // close as soon as the unsent output exceeds it
    uint64_t soft = 0;         // close once over it for more than soft_seconds in a row
    int64_t soft_seconds = 0;
  };
  enum OutputBufferClass { kObufNormal = 0, kObufReplica = 1, kObufPubsub = 2, kObufClasses = 3 };
  OutputBufferLimit client_output_buffer_limits[kObufClasses] = {
      {0, 0, 0}, {256ull << 20, 64ull << 20, 60}, {32ull << 20, 8ull << 20, 60}};
  // maxmemory-clients (Redis 7): the memory all clients together may use (query buffers,
  // output buffers, pending input); past it the biggest clients are disconnected (client
  // eviction, server/client_limits.cc). Either bytes or, with maxmemory_clients_percent > 0,
  // that percentage of maxmemory (0 while maxmemory is 0). 0 = no bound, as Redis's default.
  // Organic's default is 512 MB: with the default configuration the sum of every client's
  // buffers stays under it whatever the clients do (thousands that never read, 200 pipelining
  // 1 MB replies), which keeps the whole server under 1 GB of RSS, and a single command with an
  // argument or a reply of a few hundred MB still fits (docs/reliability.md).
  uint64_t maxmemory_clients = 512ull * 1024 * 1024;
  int maxmemory_clients_percent = 0;
  bool lazyfree_lazy_user_flush = false;
  int active_expire_effort = 1;
  int64_t slowlog_log_slower_than = 10000;
  int slowlog_max_len = 128;
  int latency_tracking = 1;
  std::string dbfilename = "dump.rdb";
  std::string appendfilename = "appendonly.aof";
  std::string appenddirname = "appendonlydir";
  bool enable_debug_command = true;
  // Metabolic flush trigger by WAL growth, with Redis's AOF-rewrite names and defaults.
  int auto_aof_rewrite_percentage = 100;
  uint64_t auto_aof_rewrite_min_size = 64ull * 1024 * 1024;
  // Bytes the MemTables may hold before flushing to SSTables; 0 = half of maxmemory, and no
  // size-triggered flush when maxmemory is 0 too.
  uint64_t organic_memtable_budget = 0;
  // Weight of the newest flush in the temperature EWMA, in (0, 1].
  double organic_ewma_alpha = 0.5;
  // Bloom filter bits per key in new SSTables (0 = no filter).
  int organic_bloom_bits_per_key = 10;
  // Bytes of decompressed SSTable blocks cached for reads; 0 = automatic
  // (EffectiveBlockCacheSize).
  uint64_t organic_block_cache_size = 0;

  // The MemTable budget the engine gets from maxmemory, maxmemory-policy and
  // organic-memtable-budget. A Redis policy with maxmemory set evicts instead of tiering: 0, no
  // flush for size (SAVE, BGSAVE, DEBUG RELOAD and the WAL-size rule still flush).
  uint64_t EffectiveMemtableBudget() const {
    if (maxmemory != 0 && maxmemory_policy != "organic") return 0;  // stored lowercase
    if (organic_memtable_budget != 0) return organic_memtable_budget;
    // Half: the rest of maxmemory covers the hash indexes, bloom filters and table indexes
    // held in memory, client buffers and allocator slack (measured: 3/4 let RSS pass
    // maxmemory x 1.1 + 64 MB with a dataset 10x maxmemory).
    return maxmemory / 2;
  }

  // The block cache capacity the engine gets (engine/block_cache.h). Set explicitly, it is
  // used as is, whatever the policy. Automatic (0):
  //  - organic policy with maxmemory: maxmemory / 8, on top of the MemTables' maxmemory / 2.
  //    The RSS bound maxmemory x 1.1 + 64 MB still holds with margin: the peaks measured at
  //    the half budget (docs/benchmarks.md: 97 MB at maxmemory 64 MB for 134 MB allowed, 115 of
  //    134 MB with 1000 clients, 159 of 204 MB with 100 KB values at 128 MB) leave more than
  //    the cache's 8-16 MB plus ~10% allocator rounding of its blocks (block_cache.h).
  //  - no maxmemory: 64 MB (memory is not budgeted; blocks of tables read after a restart).
  //  - a Redis policy with maxmemory (a pure cache: the data is in memory, tables hold only
  //    what SAVE, BGSAVE or the WAL-size rule flushed): 0, no cache. Its blocks would count in
  //    used_memory and make the server evict keys to keep copies of tables.
  // The client memory bound in bytes (maxmemory-clients resolved against maxmemory); 0 = none.
  // As Redis, a bound under 128 KB is raised to 128 KB: a mistaken tiny value must not cut
  // off every client, the one that could set it back included (checked against redis-server:
  // with 1 KB, idle clients of ~20 KB each are evicted only once they add up past ~128 KB).
  uint64_t EffectiveMaxmemoryClients() const {
    uint64_t bytes = maxmemory_clients_percent > 0
                         ? maxmemory / 100 * static_cast<uint64_t>(maxmemory_clients_percent)
                         : maxmemory_clients;
    if (bytes == 0) return 0;
    return bytes < 128 * 1024 ? 128 * 1024 : bytes;
  }

  uint64_t EffectiveBlockCacheSize() const {
    if (organic_block_cache_size != 0) return organic_block_cache_size;
    if (maxmemory == 0) return 64ull * 1024 * 1024;
    if (maxmemory_policy != "organic") return 0;  // stored lowercase
    return maxmemory / 8;
  }
};

class Config {
 public:
  enum class Type { kBool, kInt, kMemory, kEnum, kString, kMulti };
  struct Directive {
    std::string name;
    Type type;
    bool runtime_mutable;
    // Parses args (the words after the name) into the values; false + *error on bad input.
    std::function<bool(const std::vector<std::string>& args, std::string* error)> set;
    std::function<std::string()> get;  // CONFIG GET form
  };

  Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  ConfigValues& values() { return values_; }
  const ConfigValues& values() const { return values_; }

  const Directive* Find(const std::string& name) const;  // case-insensitive
  const std::vector<Directive>& directives() const { return directives_; }

  // Reads a redis.conf-style file. On error returns false with *error formatted as Redis's
  // fatal config error, naming the file, line number and directive.
  bool LoadFile(const std::string& path, std::string* error);
  // Reads redis.conf-style text (the command line's "--port 7000 --dir x" becomes such text).
  bool LoadText(const std::string& text, const std::string& source_name, std::string* error);
  // Applies one directive with its arguments (config file, command line, CONFIG SET).
  bool Set(const std::string& name, const std::vector<std::string>& args, std::string* error);

  const std::string& config_file() const { return config_file_; }

  // Set by the running server: CONFIG SET maxclients asks it to raise the open files limit
  // (Redis's adjustOpenFilesLimit); false + *error keeps the old value. Unset while loading.
  std::function<bool(int maxclients, std::string* error)> maxclients_hook;

 private:
  void Define();
  std::vector<Directive> directives_;
  ConfigValues values_;
  std::string config_file_;
};

// Splits a config line into words with sdssplitargs quoting rules; false on unbalanced quotes.
bool SplitConfigLine(const std::string& line, std::vector<std::string>* words);
// Splits the value of a multi-argument directive given as one word (CONFIG SET save "1 5",
// --save "1 5") at every space, as Redis (sdssplitlen): "" gives no words, "a  b" gives an empty
// word between a and b (which the directive then rejects, as Redis does).
std::vector<std::string> SplitMultiArg(const std::string& value);

// client-output-buffer-limit as Redis parses it: groups of <class> <hard> <soft> <soft-seconds>
// (class normal, slave|replica or pubsub; memory units allowed). Every group is checked before
// any applies; an empty list changes nothing. False + *error (Redis's text) on bad input.
bool ParseOutputBufferLimits(const std::vector<std::string>& args,
                             ConfigValues::OutputBufferLimit limits[ConfigValues::kObufClasses],
                             std::string* error);
// Redis's CONFIG GET form: "normal <hard> <soft> <secs> slave ... pubsub ...", in bytes.
std::string FormatOutputBufferLimits(
    const ConfigValues::OutputBufferLimit limits[ConfigValues::kObufClasses]);
// A memory-or-percent value (maxmemory-clients): "10%" gives *percent = 10 (0..100), else a
// memory value in *bytes with *percent = 0 ("0%" reads as 0 bytes, as Redis).
bool ParseMemoryOrPercent(const std::string& value, uint64_t* bytes, int* percent,
                          std::string* error);

}  // namespace organic
