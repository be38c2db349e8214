// organic-check-sst [--fix] <sst-file-or-data-dir>
//
// Checks SSTables the way organic-check-wal checks WAL files: reads every part of each table
// (footer, index, bloom filter, every data block) and reports each damaged part with its offset
// and, for a data block, the keys it covered (from the index, which stays readable). Given a
// data directory, checks every table its MANIFEST lists (with the manifest's file size, as the
// server opens them); given a file, that table alone.
//
// --fix (the server must be stopped: it owns the directory while it runs) makes the server's
// figures whole again (docs/sstable-format.md, "Damaged tables"):
//   - a table with damaged data blocks or a damaged filter is rewritten from its readable
//     entries (same number sst-N.sst; the original is kept as sst-N.sst.damaged, a name the
//     server neither opens nor deletes); a table left without a readable entry is dropped;
//   - a table whose footer or index cannot be read cannot be walked: it is dropped from the
//     manifest (the file is kept as sst-N.sst.damaged);
//   - then each database's key counts in the manifest are recomputed from the merged view of
//     its remaining tables, and the manifest is replaced atomically. The next start replays
//     the WAL over them, so DBSIZE and INFO keyspace are exact again.
// What a fix loses is what was unreadable anyway: the entries of the dropped blocks. A key
// whose newest record was in one shows its previous record if an older table holds one.
//
// Exit status: 0 when every table is valid (or was fixed), 1 otherwise (damage left in place,
// unreadable manifest, usage error).
//
// The logic lives in organic::check_sst::Run so unit tests can call it in-process; defining
// ORGANIC_CHECK_SST_NO_MAIN before including this file leaves out main().
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "engine/db_iterator.h"
#include "engine/manifest.h"
#include "engine/memtable.h"
#include "engine/sstable_builder.h"
#include "engine/sstable_reader.h"
#include "engine/table_damage.h"
#include "engine/version.h"
#include "util/file.h"
#include "check_tool_args.h"

namespace organic::check_sst {

using engine::BlockDamage;
using engine::Manifest;
using engine::ManifestTable;
using engine::SstableReader;

inline constexpr char kUsage[] = "Usage: organic-check-sst [--fix] <sst-file-or-data-dir>";

// What is wrong with one table.
struct TableCheck {
  std::unique_ptr<SstableReader> reader;  // null when the footer or index cannot be read
  Status open;                            // why reader is null
  std::vector<BlockDamage> blocks;        // damaged data blocks
  bool damaged() const {
    return !open.ok() || !blocks.empty() || !reader->filter_status().ok();
  }
};

// Quotes a key for the report (bytes outside printable ASCII as \xNN).
inline std::string Quote(std::string_view key) {
  std::string out = "'";
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out + "'";
}

// Opens and reads every part of path (size bytes, as the manifest or the file system says) and
// prints what is damaged.
inline TableCheck CheckTable(FileSystem* fs, const std::string& path, const std::string& name,
                             uint64_t size, std::ostream& out) {
  TableCheck check;
  std::unique_ptr<RandomAccessFile> file;
  check.open = fs->NewRandomAccessFile(path, &file);
  if (check.open.ok()) {
    check.open = SstableReader::Open(std::move(file), size, name, &check.reader,
                                     /*allow_bad_filter=*/true);
  }
  if (!check.open.ok()) {
    check.reader.reset();
    out << "  footer or index unreadable, no key of the table can be read: "
        << check.open.ToString() << "\n";
    return check;
  }
  const SstableReader& t = *check.reader;
  if (!t.filter_status().ok()) {
    out << "  bloom filter damaged (the server ignores it; no data lost): "
        << t.filter_status().ToString() << "\n";
  }
  check.blocks = engine::FindDamagedBlocks(t);
  for (const BlockDamage& d : check.blocks) {
    out << "  data block " << d.block << " of " << t.num_blocks() << " at offset " << d.offset
        << " (" << d.size + 5 << " bytes), keys "
        << (d.block == 0 ? std::string("from the first") : "after " + Quote(d.after_key))
        << " through " << Quote(d.last_key) << ": " << d.status.ToString() << "\n";
  }
  out << "  " << t.num_blocks() << " data blocks, " << check.blocks.size() << " damaged, "
      << t.entries() << " entries\n";
  return check;
}

// Writes the readable entries of check's table to path + ".fix"; then the original becomes
// path + ".damaged" and the new file takes its name. *meta gets the new size, entry count and
// key range; *kept = 0 means no entry was readable (nothing renamed; the caller drops it).
inline Status RewriteTable(FileSystem* fs, const std::string& dir, const std::string& path,
                           const TableCheck& check, ManifestTable* meta, uint64_t* kept) {
  const SstableReader& t = *check.reader;
  const std::string tmp = path + ".fix";
  std::unique_ptr<WritableFile> file;
  RETURN_IF_ERROR(fs->NewWritableFile(tmp, /*append=*/false, &file));
  engine::SstableBuilder builder(std::move(file), engine::SstableOptions());
  Status st;
  std::string smallest, largest;
  size_t next_bad = 0;
  for (size_t i = 0; i < t.num_blocks() && st.ok(); i++) {
    if (next_bad < check.blocks.size() && check.blocks[next_bad].block == i) {
      next_bad++;
      continue;
    }
    st = t.VisitBlock(i, [&](std::string_view key, std::string_view value) {
      if (!st.ok()) return;
      if (builder.entries() == 0) smallest.assign(key);
      largest.assign(key);
      st = builder.Add(key, value);
    });
  }
  *kept = builder.entries();
  if (st.ok()) st = builder.Finish();
  if (!st.ok() || *kept == 0) {
    fs->RemoveFile(tmp);
    return st;
  }
  RETURN_IF_ERROR(fs->RenameFile(path, path + ".damaged"));
  RETURN_IF_ERROR(fs->RenameFile(tmp, path));
  RETURN_IF_ERROR(fs->SyncDir(dir));
  meta->file_size = builder.file_size();
  meta->entries = *kept;
  meta->smallest = smallest;
  meta->largest = largest;
  return Status::Ok();
}

// Recomputes every database's table-only counts from the merged view of its tables (as the
// engine keeps them: live keys, expired ones included, and those with a TTL).
inline Status Recount(FileSystem* fs, const std::string& dir, Manifest* m, std::ostream& out) {
  for (engine::ManifestDatabase& db : m->databases) {
    engine::DbTiers tiers;
    tiers.id = db.id;
    for (const ManifestTable& meta : m->tables) {  // level 0 newest first, as listed
      if (meta.db_id != db.id) continue;
      const std::string name = engine::SstableFileName(meta.file_number);
      std::unique_ptr<RandomAccessFile> file;
      RETURN_IF_ERROR(fs->NewRandomAccessFile(dir + "/" + name, &file));
      std::unique_ptr<SstableReader> reader;
      RETURN_IF_ERROR(SstableReader::Open(std::move(file), meta.file_size, name, &reader));
      auto table = std::make_shared<engine::TableFile>();
      table->meta = meta;
      table->reader = std::move(reader);
      if (tiers.levels.size() <= meta.level) tiers.levels.resize(meta.level + 1);
      tiers.levels[meta.level].push_back(std::move(table));
    }
    engine::MemTable empty;
    engine::DbIterator it(&empty, tiers);
    uint64_t keys = 0, volatile_keys = 0;
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      if (it.tombstone()) continue;
      keys++;
      if (it.record().expire_at_ms != 0) volatile_keys++;
    }
    RETURN_IF_ERROR(it.status());
    if (keys != db.table_keys || volatile_keys != db.table_volatile_keys) {
      out << "  database id " << db.id << ": keys " << db.table_keys << " -> " << keys
          << ", keys with a TTL " << db.table_volatile_keys << " -> " << volatile_keys << "\n";
    }
    db.table_keys = keys;
    db.table_volatile_keys = volatile_keys;
  }
  return Status::Ok();
}

// Checks (and with fix repairs) the tables of dir's manifest; only_name, when not empty,
// restricts it to that one file name. Returns the process exit status.
inline int CheckDirectory(FileSystem* fs, const std::string& dir, const std::string& only_name,
                          bool fix, std::ostream& out, std::ostream& err) {
  Manifest manifest;
  bool exists = false;
  Status status = engine::ReadManifest(fs, dir, &manifest, &exists);
  if (!status.ok()) {
    err << "Cannot read the manifest of " << dir << ": " << status.ToString() << "\n";
    return 1;
  }
  if (!exists) {
    out << "No MANIFEST in " << dir << ": no tables\n";
    return 0;
  }
  size_t checked = 0, invalid = 0, fixed = 0;
  std::vector<ManifestTable> kept_tables;
  for (const ManifestTable& meta : manifest.tables) {
    const std::string name = engine::SstableFileName(meta.file_number);
    if (!only_name.empty() && name != only_name) {
      kept_tables.push_back(meta);
      continue;
    }
    checked++;
    const std::string path = dir + "/" + name;
    out << "Checking " << path << " (database id " << meta.db_id << ", level " << meta.level
        << ", " << meta.entries << " entries, keys " << Quote(meta.smallest) << " to "
        << Quote(meta.largest) << ")\n";
    TableCheck check = CheckTable(fs, path, name, meta.file_size, out);
    if (!check.damaged()) {
      out << "Table is valid\n";
      kept_tables.push_back(meta);
      continue;
    }
    if (!fix) {
      out << "Table is not valid\n";
      invalid++;
      kept_tables.push_back(meta);
      continue;
    }
    if (check.reader == nullptr) {
      // Nothing can be salvaged without the index; keep the bytes for forensics.
      if (fs->FileExists(path)) fs->RenameFile(path, path + ".damaged");
      out << "  dropped from the manifest: all " << meta.entries
          << " entries lost (file kept as " << name << ".damaged)\nTable removed\n";
      fixed++;
      continue;
    }
    ManifestTable fixed_meta = meta;
    uint64_t kept = 0;
    status = RewriteTable(fs, dir, path, check, &fixed_meta, &kept);
    if (!status.ok()) {
      out << "  rewrite failed: " << status.ToString() << "\nTable is not valid\n";
      invalid++;
      kept_tables.push_back(meta);
      continue;
    }
    fixed++;
    if (kept == 0) {
      fs->RenameFile(path, path + ".damaged");
      out << "  no readable entry: dropped from the manifest (file kept as " << name
          << ".damaged)\nTable removed\n";
      continue;
    }
    out << "  rewritten without its " << check.blocks.size() << " damaged blocks: " << kept
        << " of " << meta.entries << " entries kept (" << meta.entries - kept
        << " lost), original kept as " << name << ".damaged\nTable is valid after the fix\n";
    kept_tables.push_back(fixed_meta);
  }
  if (fixed > 0) {
    manifest.tables = std::move(kept_tables);
    out << "Recounting keys from the remaining tables\n";
    status = Recount(fs, dir, &manifest, out);
    if (status.ok()) status = engine::WriteManifest(fs, dir, manifest);
    if (!status.ok()) {
      err << "Cannot update the manifest of " << dir << ": " << status.ToString() << "\n";
      return 1;
    }
    out << "Manifest updated\n";
  }
  if (checked > 1) {
    out << "Checked " << checked << " tables: " << invalid << " not valid, " << fixed
        << " fixed\n";
  }
  if (!only_name.empty() && checked == 0) {
    err << only_name << " is not listed in " << dir << "/MANIFEST\n";
    return 1;
  }
  return invalid == 0 ? 0 : 1;
}

// args excludes the program name. Returns the process exit status.
inline int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  check_tool::CheckArgs parsed;
  if (std::optional<int> status = check_tool::ParseCheckArgs(args, kUsage, out, err, &parsed)) {
    return *status;
  }
  const bool fix = parsed.fix;
  std::string target = parsed.target;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  FileSystem* fs = DefaultFileSystem();
  struct stat st;
  if (::stat(target.c_str(), &st) != 0) {
    err << "Cannot open " << target << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  if (S_ISDIR(st.st_mode)) return CheckDirectory(fs, target, "", fix, out, err);

  // One file: in a data directory whose manifest lists it, checked (and fixed) as the server
  // sees it; otherwise on its own, with its size from the file system.
  const size_t slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : target.substr(0, slash);
  const std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  uint64_t number;
  if (engine::ParseSstableFileName(name, &number) && fs->FileExists(dir + "/MANIFEST")) {
    return CheckDirectory(fs, dir, name, fix, out, err);
  }
  out << "Checking " << target << " (no manifest lists it)\n";
  TableCheck check = CheckTable(fs, target, name, static_cast<uint64_t>(st.st_size), out);
  if (!check.damaged()) {
    out << "Table is valid\n";
    return 0;
  }
  if (!fix || check.reader == nullptr) {
    out << (fix ? "  cannot be repaired (no readable index)\n" : "") << "Table is not valid\n";
    return 1;
  }
  ManifestTable meta;
  uint64_t kept = 0;
  Status status = RewriteTable(fs, dir, target, check, &meta, &kept);
  if (!status.ok() || kept == 0) {
    out << "  " << (status.ok() ? "no readable entry" : "rewrite failed: " + status.ToString())
        << "\nTable is not valid\n";
    return 1;
  }
  out << "  rewritten: " << kept << " of " << check.reader->entries()
      << " entries kept, original kept as " << name << ".damaged\nTable is valid after the fix\n";
  return 0;
}

}  // namespace organic::check_sst

#ifndef ORGANIC_CHECK_SST_NO_MAIN
int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return organic::check_sst::Run(args, std::cout, std::cerr);
}
#endif
