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
  uint64_t client_output_buffer_limit_normal = 0;  // hard limit bytes; 0 = none (Redis)
  std::string client_output_buffer_limit = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
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

}  // namespace organic
