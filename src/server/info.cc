// INFO: Redis's sections and field names (so tools that parse INFO keep working), plus the
// `organic` section that explains the engine.
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <set>

#include "server/connection.h"
#include "server/server.h"
#include "util/clock.h"
#include "util/strings.h"

#ifdef ORGANIC_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace organic {

namespace {

struct MemoryFigures {
  uint64_t allocated = 0;
  uint64_t active = 0;
  uint64_t resident = 0;
  uint64_t rss = 0;
};

uint64_t ReadRss() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

MemoryFigures ReadMemory() {
  MemoryFigures m;
  m.rss = ReadRss();
#ifdef ORGANIC_WITH_JEMALLOC
  uint64_t epoch = 1;
  size_t sz = sizeof(epoch);
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  size_t v = 0;
  sz = sizeof(v);
  if (mallctl("stats.allocated", &v, &sz, nullptr, 0) == 0) m.allocated = v;
  if (mallctl("stats.active", &v, &sz, nullptr, 0) == 0) m.active = v;
  if (mallctl("stats.resident", &v, &sz, nullptr, 0) == 0) m.resident = v;
#else
  m.allocated = m.rss;
  m.active = m.rss;
  m.resident = m.rss;
#endif
  return m;
}

std::string Human(uint64_t bytes) {
  char buf[64];
  double d = static_cast<double>(bytes);
  if (bytes < 1024) snprintf(buf, sizeof(buf), "%" PRIu64 "B", bytes);
  else if (bytes < 1024ull * 1024) snprintf(buf, sizeof(buf), "%.2fK", d / 1024);
  else if (bytes < 1024ull * 1024 * 1024) snprintf(buf, sizeof(buf), "%.2fM", d / (1024 * 1024));
  else snprintf(buf, sizeof(buf), "%.2fG", d / (1024.0 * 1024 * 1024));
  return buf;
}

// A free-text value made safe for an INFO line: clients split fields on CRLF, and redis-py
// reads a value holding ',' and '=' as a dictionary.
std::string InfoSafe(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n' || c == ',' || c == '=') c = ' ';
  }
  return text;
}

class InfoWriter {
 public:
  void Section(const char* name) {
    if (!out_.empty()) out_ += "\r\n";
    out_ += "# ";
    out_ += name;
    out_ += "\r\n";
  }
  void Field(const char* name, const std::string& value) {
    out_ += name;
    out_ += ':';
    out_ += value;
    out_ += "\r\n";
  }
  void Field(const char* name, uint64_t v) { Field(name, std::to_string(v)); }
  void FieldI(const char* name, int64_t v) { Field(name, std::to_string(v)); }
  void FieldF(const char* name, double v) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%.2f", v);
    Field(name, buf);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string Server::Info(const std::vector<std::string>& requested) {
  static const char* kDefault[] = {"server",  "clients", "memory",      "persistence", "stats",
                                   "replication", "cpu", "modules", "errorstats", "cluster",
                                   "keyspace", "organic"};
  std::set<std::string> sections;
  bool all = false;
  if (requested.empty()) {
    sections.insert(std::begin(kDefault), std::end(kDefault));
  }
  for (const std::string& r : requested) {
    std::string s = ToLowerAscii(r);
    if (s == "default") {
      sections.insert(std::begin(kDefault), std::end(kDefault));
    } else if (s == "all" || s == "everything") {
      sections.insert(std::begin(kDefault), std::end(kDefault));
      sections.insert("commandstats");
      sections.insert("latencystats");
      all = true;
    } else {
      sections.insert(s);
    }
  }
  (void)all;
  const ConfigValues& cfg = config_->values();
  InfoWriter w;
  int64_t now_ms = UnixTimeMs();
  int64_t uptime = (now_ms - start_time_ms_) / 1000;

  if (sections.count("server")) {
    w.Section("Server");
    utsname un;
    uname(&un);
    w.Field("redis_version", "7.0.15");
    w.Field("organic_version", ORGANIC_VERSION);
    w.Field("redis_git_sha1", "00000000");
    w.Field("redis_git_dirty", "0");
    w.Field("redis_build_id", "0");
    w.Field("redis_mode", "standalone");
    w.Field("os", std::string(un.sysname) + " " + un.release + " " + un.machine);
    w.Field("arch_bits", "64");
    w.Field("monotonic_clock", "POSIX clock_gettime");
    w.Field("multiplexing_api", "epoll");
    w.Field("atomicvar_api", "c11-builtin");
    w.Field("gcc_version", std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) +
                               "." + std::to_string(__GNUC_PATCHLEVEL__));
    w.FieldI("process_id", getpid());
    w.Field("process_supervised", "no");
    w.Field("run_id", run_id_);
    w.FieldI("tcp_port", cfg.port);
    w.FieldI("server_time_usec", UnixTimeUs());
    w.FieldI("uptime_in_seconds", uptime);
    w.FieldI("uptime_in_days", uptime / 86400);
    w.FieldI("hz", cfg.hz);
    w.FieldI("configured_hz", cfg.hz);
    w.Field("lru_clock", static_cast<uint64_t>((now_ms / 1000) & ((1 << 24) - 1)));
    w.Field("executable", "organic-server");
    w.Field("config_file", config_->config_file());
    w.Field("io_threads_active", "0");
  }
  if (sections.count("clients")) {
    w.Section("Clients");
    w.Field("connected_clients", static_cast<uint64_t>(clients_.size()));
    w.Field("cluster_connections", "0");
    w.FieldI("maxclients", cfg.maxclients);
    uint64_t max_in = 0, max_out = 0;
    for (auto& [id, conn] : clients_) {
      max_in = std::max<uint64_t>(max_in, conn->query_bytes());
      max_out = std::max<uint64_t>(max_out, conn->output_bytes());
    }
    w.Field("client_recent_max_input_buffer", max_in);
    w.Field("client_recent_max_output_buffer", max_out);
    w.Field("blocked_clients", "0");
    w.Field("tracking_clients", "0");
    w.Field("clients_in_timeout_table", "0");
  }
  if (sections.count("memory")) {
    MemoryFigures m = ReadMemory();
    w.Section("Memory");
    w.Field("used_memory", m.allocated);
    w.Field("used_memory_human", Human(m.allocated));
    w.Field("used_memory_rss", m.rss);
    w.Field("used_memory_rss_human", Human(m.rss));
    w.Field("used_memory_peak", m.allocated);
    w.Field("used_memory_peak_human", Human(m.allocated));
    w.Field("used_memory_dataset", static_cast<uint64_t>(engine_->memtable_bytes()));
    w.Field("mem_clients_slaves", "0");
    w.Field("mem_clients_normal", clients_memory_);  // what maxmemory-clients bounds
    w.Field("allocator_allocated", m.allocated);
    w.Field("allocator_active", m.active);
    w.Field("allocator_resident", m.resident);
    w.Field("maxmemory", cfg.maxmemory);
    w.Field("maxmemory_human", Human(cfg.maxmemory));
    w.Field("maxmemory_policy", cfg.maxmemory_policy);
    w.FieldF("mem_fragmentation_ratio",
             m.allocated == 0 ? 0.0 : static_cast<double>(m.rss) / static_cast<double>(m.allocated));
    w.Field("mem_allocator", "jemalloc-5.3.0");
    w.Field("lazyfree_pending_objects", "0");
  }
  if (sections.count("persistence")) {
    const engine::WalLog& wal = engine_->wal();
    const engine::EngineStats& es = engine_->stats();
    w.Section("Persistence");
    w.Field("loading", "0");
    w.Field("async_loading", "0");
    w.Field("current_cow_peak", "0");
    w.Field("current_cow_size", "0");
    w.Field("rdb_changes_since_last_save", es.changes_since_save);
    w.Field("rdb_bgsave_in_progress", engine_->flush_in_progress() ? "1" : "0");
    w.FieldI("rdb_last_save_time", es.last_save_unix);
    // A metabolic flush is our BGSAVE and our AOF rewrite (it lets WAL generations go).
    const char* flush_status = es.last_flush_failed ? "err" : "ok";
    w.Field("rdb_last_bgsave_status", flush_status);
    w.FieldI("rdb_last_bgsave_time_sec", es.last_flush_duration_us / 1000000);
    w.Field("rdb_current_bgsave_time_sec", "-1");
    w.Field("aof_enabled", "1");
    w.Field("aof_rewrite_in_progress", engine_->flush_in_progress() ? "1" : "0");
    w.Field("aof_rewrite_scheduled", "0");
    w.Field("aof_last_bgrewrite_status", flush_status);
    w.Field("aof_last_write_status", wal.last_write_status().ok() ? "ok" : "err");
    w.Field("aof_current_size", wal.total_size());
    w.Field("wal_fsync_policy", engine::FsyncPolicyName(wal.policy()));
    w.Field("wal_generation", wal.current_generation());
    w.Field("wal_current_generation_bytes", wal.current_size());
    w.Field("wal_total_bytes", wal.total_size());
    w.Field("wal_fsyncs", wal.fsyncs());
    w.FieldI("wal_last_fsync_time", wal.last_sync_unix_ms() / 1000);
    w.Field("wal_records_logged", es.mutations_logged);
    // The standing write error (empty while the WAL is healthy), how often one struck, and the
    // records kept in memory until durable (wal_log.h).
    w.Field("wal_write_error", InfoSafe(wal.write_error().ok() ? "" : wal.write_error().ToString()));
    w.Field("wal_write_errors", wal.write_errors());
    w.Field("wal_kept_bytes", wal.retained_bytes());
    w.Field("wal_recovered_records", es.recovery.records);
    w.Field("wal_recovered_truncated_bytes", es.recovery.truncated_bytes);
    w.FieldI("wal_recovery_time_usec", es.recovery_duration_us);
  }
  if (sections.count("stats")) {
    const engine::EngineStats& es = engine_->stats();
    w.Section("Stats");
    w.Field("total_connections_received", stats_.total_connections_received);
    w.Field("total_commands_processed", stats_.total_commands_processed);
    w.Field("instantaneous_ops_per_sec", "0");
    w.Field("total_net_input_bytes", stats_.total_net_input_bytes);
    w.Field("total_net_output_bytes", stats_.total_net_output_bytes);
    w.Field("rejected_connections", stats_.rejected_connections);
    w.Field("expired_keys", es.expired_keys);
    w.Field("expired_stale_perc", "0.00");
    w.Field("expired_time_cap_reached_count", "0");
    w.Field("evicted_keys", stats_.evicted_keys);
    w.Field("evicted_clients", stats_.evicted_clients);
    w.Field("keyspace_hits", es.keyspace_hits);
    w.Field("keyspace_misses", es.keyspace_misses);
    w.Field("pubsub_channels", "0");
    w.Field("pubsub_patterns", "0");
    w.Field("total_error_replies", stats_.total_error_replies);
    w.Field("unexpected_error_replies", stats_.unexpected_error_replies);
    w.Field("client_query_buffer_limit_disconnections",
            stats_.client_query_buffer_limit_disconnections);
    w.Field("client_output_buffer_limit_disconnections",
            stats_.client_output_buffer_limit_disconnections);
  }
  if (sections.count("replication")) {
    w.Section("Replication");
    w.Field("role", "master");
    w.Field("connected_slaves", "0");
    w.Field("master_replid", run_id_);
    w.Field("master_repl_offset", "0");
  }
  if (sections.count("cpu")) {
    rusage self;
    getrusage(RUSAGE_SELF, &self);
    char buf[64];
    w.Section("CPU");
    snprintf(buf, sizeof(buf), "%ld.%06ld", self.ru_stime.tv_sec, self.ru_stime.tv_usec);
    w.Field("used_cpu_sys", buf);
    snprintf(buf, sizeof(buf), "%ld.%06ld", self.ru_utime.tv_sec, self.ru_utime.tv_usec);
    w.Field("used_cpu_user", buf);
  }
  if (sections.count("modules")) w.Section("Modules");
  if (sections.count("commandstats")) {
    w.Section("Commandstats");
    auto emit = [&](const commands::CommandSpec& spec) {
      const ServerStats::CommandStat& cs = stats_.commands[spec.id];
      if (cs.calls == 0 && cs.rejected_calls == 0 && cs.failed_calls == 0) return;
      char buf[256];
      snprintf(buf, sizeof(buf),
               "calls=%" PRIu64 ",usec=%" PRIu64 ",usec_per_call=%.2f,rejected_calls=%" PRIu64
               ",failed_calls=%" PRIu64,
               cs.calls, cs.usec, cs.calls == 0 ? 0.0 : static_cast<double>(cs.usec) / cs.calls,
               cs.rejected_calls, cs.failed_calls);
      w.Field(("cmdstat_" + spec.name).c_str(), buf);
    };
    for (const commands::CommandSpec& spec : table_.all()) {
      emit(spec);
      for (const commands::CommandSpec& sub : spec.subcommands) emit(sub);
    }
  }
  if (sections.count("errorstats")) {
    w.Section("Errorstats");
    for (const auto& [code, count] : stats_.error_counts) {
      std::string field = "errorstat_" + code;
      w.Field(field.c_str(), "count=" + std::to_string(count));
    }
  }
  if (sections.count("cluster")) {
    w.Section("Cluster");
    w.Field("cluster_enabled", "0");
  }
  if (sections.count("keyspace")) {
    w.Section("Keyspace");
    for (int db = 0; db < engine_->databases(); db++) {
      uint64_t keys = engine_->KeyCount(db);
      if (keys == 0) continue;
      std::string field = "db" + std::to_string(db);
      w.Field(field.c_str(), "keys=" + std::to_string(keys) +
                                 ",expires=" + std::to_string(engine_->VolatileCount(db)) +
                                 ",avg_ttl=" + std::to_string(engine_->AverageTtlMs(db)));
    }
  }
  if (sections.count("organic")) {
    w.Section("Organic");
    const engine::EngineStats& es = engine_->stats();
    std::shared_ptr<const engine::Version> v = engine_->version();
    // Tables and bytes per level, over the live databases.
    std::vector<uint64_t> level_tables, level_bytes;
    for (const auto& db : v->dbs) {
      for (size_t level = 0; level < db->levels.size(); level++) {
        if (level_tables.size() <= level) {
          level_tables.resize(level + 1);
          level_bytes.resize(level + 1);
        }
        for (const auto& t : db->levels[level]) {
          level_tables[level]++;
          level_bytes[level] += t->meta.file_size;
        }
      }
    }
    uint64_t tables = 0, table_bytes = 0;
    for (size_t i = 0; i < level_tables.size(); i++) {
      tables += level_tables[i];
      table_bytes += level_bytes[i];
    }
    char temperature[32];
    snprintf(temperature, sizeof(temperature), "%.2f", engine_->temperature());
    w.Field("organic_generation", engine_->generation());
    w.Field("organic_temperature", temperature);
    w.Field("organic_memtable_budget", config_->values().EffectiveMemtableBudget());
    w.Field("organic_memtable_entries", engine_->memtable_entries() -
                                            engine_->frozen_memtable_entries());
    w.Field("organic_memtable_bytes",
            static_cast<uint64_t>(engine_->memtable_bytes() - engine_->frozen_memtable_bytes()));
    w.Field("organic_frozen_memtable_entries", engine_->frozen_memtable_entries());
    w.Field("organic_frozen_memtable_bytes",
            static_cast<uint64_t>(engine_->frozen_memtable_bytes()));
    w.Field("organic_memory_hits", es.memory_hits);
    w.Field("organic_disk_hits", es.disk_hits);
    w.Field("organic_bloom_checks", es.bloom_checks);
    w.Field("organic_bloom_useful", es.bloom_skips);
    const engine::BlockCache& block_cache = engine_->block_cache();
    w.Field("organic_block_cache_bytes", block_cache.usage());
    w.Field("organic_block_cache_hits", block_cache.hits());
    w.Field("organic_block_cache_misses", block_cache.misses());
    w.Field("organic_promotions", es.promotions);
    w.Field("organic_flush_in_progress", engine_->flush_in_progress() ? "1" : "0");
    w.Field("organic_flushes", es.flushes);
    w.Field("organic_flush_errors", es.flush_errors);
    w.FieldI("organic_last_flush_duration_usec", es.last_flush_duration_us);
    w.Field("organic_last_flush_entries", es.last_flush_entries);
    w.Field("organic_last_flush_survivors", es.last_flush_survivors);
    w.Field("organic_last_flush_written", es.last_flush_written);
    w.Field("organic_last_flush_evicted", es.last_flush_clean_dropped);
    w.Field("organic_flush_bytes_written", es.flush_bytes_written);
    w.Field("organic_sstables", tables);
    w.Field("organic_sstable_bytes", table_bytes);
    for (size_t i = 0; i < level_tables.size(); i++) {
      std::string field = "organic_level" + std::to_string(i);
      w.Field(field.c_str(), "tables=" + std::to_string(level_tables[i]) +
                                 ",bytes=" + std::to_string(level_bytes[i]));
    }
    w.Field("organic_compaction_in_progress", engine_->compaction_in_progress() ? "1" : "0");
    w.Field("organic_compactions", es.compactions);
    w.Field("organic_compaction_errors", es.compaction_errors);
    w.Field("organic_compaction_bytes_read", es.compaction_bytes_read);
    w.Field("organic_compaction_bytes_written", es.compaction_bytes_written);
    w.Field("organic_compaction_expired_keys", es.compaction_expired_found);
    // Damaged tables (docs/sstable-format.md): listed tables with an unreadable part, and
    // replayed writes whose old record sat in an unreadable block (key counts inexact by up to
    // that many until organic-check-sst --fix and a restart).
    w.Field("organic_damaged_tables", engine_->DamagedTables());
    w.Field("organic_replay_read_errors", es.replay_read_errors);
    // Collections (docs/record-format.md): member records in memory (counted in
    // organic_memtable_entries too), collections deleted whose records are not all dropped yet,
    // and the records flushes and compactions dropped for them.
    w.Field("organic_member_memtable_entries", engine_->member_memtable_entries());
    w.Field("organic_dead_collections", engine_->dead_collections());
    w.Field("organic_dead_records_dropped", es.dead_records_dropped);
    // Table bytes written (flushes + compactions) per byte flushed.
    char amp[32];
    snprintf(amp, sizeof(amp), "%.2f",
             es.flush_bytes_written == 0
                 ? 0.0
                 : static_cast<double>(es.flush_bytes_written + es.compaction_bytes_written) /
                       static_cast<double>(es.flush_bytes_written));
    w.Field("organic_write_amplification", amp);
    w.Field("organic_write_stalls", stats_.write_stalls);
    w.FieldI("organic_write_stall_usec", static_cast<int64_t>(stats_.write_stall_us));
    w.Field("organic_write_stalls_cut", stats_.write_stalls_cut);
    w.Field("organic_read_errors", es.read_errors);
    w.Field("organic_sequence", engine_->sequence());
  }
  return w.out();
}

}  // namespace organic
