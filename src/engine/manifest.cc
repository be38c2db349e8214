#include "engine/manifest.h"

#include <cstdio>
#include <cstdlib>

#include "util/coding.h"
#include "util/crc32c.h"

namespace organic::engine {

namespace {
constexpr char kMagic[8] = {'O', 'K', 'V', 'M', 'A', 'N', 'I', 'F'};
constexpr const char* kManifestName = "MANIFEST";
constexpr const char* kTempName = "MANIFEST.tmp";
// A manifest describes at most this many databases and tables; anything bigger is damage.
constexpr uint64_t kMaxItems = 1ull << 24;
}  // namespace

std::string SstableFileName(uint64_t file_number) {
  return "sst-" + std::to_string(file_number) + ".sst";
}

bool ParseSstableFileName(const std::string& name, uint64_t* number) {
  if (name.size() < 9 || name.compare(0, 4, "sst-") != 0 ||
      name.compare(name.size() - 4, 4, ".sst") != 0) {
    return false;
  }
  std::string digits = name.substr(4, name.size() - 8);
  if (digits.empty() || digits.size() > 19) return false;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *number = n;
  return true;
}

void EncodeManifest(const Manifest& m, std::string* out) {
  out->assign(kMagic, sizeof(kMagic));
  PutFixed32(out, kManifestVersion);
  PutVarint64(out, m.wal_floor);
  PutVarint64(out, m.last_sequence);
  PutVarint64(out, m.next_file_number);
  PutVarint64(out, m.user_databases);
  PutVarint64(out, m.floor_sequence);
  PutVarint64(out, m.databases.size());
  for (const ManifestDatabase& d : m.databases) {
    PutVarint64(out, d.id);
    PutVarint64(out, d.table_keys);
    PutVarint64(out, d.table_volatile_keys);
    PutVarint64(out, d.dead.size());
    for (const auto& [id, since] : d.dead) {
      PutVarint64(out, id);
      PutVarint64(out, since);
    }
  }
  PutVarint64(out, m.tables.size());
  for (const ManifestTable& t : m.tables) {
    PutVarint64(out, t.db_id);
    PutVarint64(out, t.level);
    PutVarint64(out, t.file_number);
    PutVarint64(out, t.file_size);
    PutVarint64(out, t.entries);
    PutLengthPrefixed(out, t.smallest);
    PutLengthPrefixed(out, t.largest);
    PutVarint64(out, t.clean_since);
  }
  PutFixed32(out, Crc32cMask(Crc32c(out->data(), out->size())));
}

Status DecodeManifest(std::string_view in, const std::string& name, Manifest* m) {
  auto bad = [&name](const char* what) { return Status::Corruption(name + ": " + what); };
  if (in.size() < sizeof(kMagic) + 8) return bad("truncated");
  if (in.compare(0, sizeof(kMagic), std::string_view(kMagic, sizeof(kMagic))) != 0) {
    return bad("bad magic");
  }
  uint32_t stored_crc = DecodeFixed32(in.data() + in.size() - 4);
  if (Crc32cUnmask(stored_crc) != Crc32c(in.data(), in.size() - 4)) {
    return bad("checksum mismatch");
  }
  const uint32_t version = DecodeFixed32(in.data() + sizeof(kMagic));
  if (version == 0 || version > kManifestVersion) {
    return Status::NotSupported(name + ": format version " + std::to_string(version) +
                                " is not one this server reads (1 to " +
                                std::to_string(kManifestVersion) + ")");
  }
  Decoder d(in.substr(sizeof(kMagic) + 4, in.size() - sizeof(kMagic) - 8));
  Manifest out;
  uint64_t count = 0;
  if (!d.GetVarint(&out.wal_floor) || !d.GetVarint(&out.last_sequence) ||
      !d.GetVarint(&out.next_file_number) ||
      (version >= 2 && (!d.GetVarint(&out.user_databases) ||
                        !d.GetVarint(&out.floor_sequence))) ||
      !d.GetVarint(&count) ||
      count > kMaxItems) {
    return bad("undecodable header");
  }
  if (version == 1) out.user_databases = count;
  // The member spaces follow the user databases; fewer listed than user databases (a version 1
  // manifest re-encoded) leaves the rest empty.
  if (out.user_databases > count || count > 2 * out.user_databases) {
    return bad("database count does not match its member spaces");
  }
  // Items are appended as they decode, never allocated from the count up front: a damaged
  // count (up to kMaxItems, 2^24) would otherwise cost gigabytes before the first missing byte
  // is noticed (found by tests/fuzz/manifest_fuzz).
  for (uint64_t i = 0; i < count; ++i) {
    ManifestDatabase& db = out.databases.emplace_back();
    if (!d.GetVarint(&db.id) || !d.GetVarint(&db.table_keys) ||
        !d.GetVarint(&db.table_volatile_keys)) {
      return bad("undecodable database");
    }
    uint64_t dead = 0;
    if (version >= 2 && (!d.GetVarint(&dead) || dead > kMaxItems)) {
      return bad("undecodable database");
    }
    for (uint64_t j = 0; j < dead; j++) {
      auto& [id, since] = db.dead.emplace_back();
      if (!d.GetVarint(&id) || !d.GetVarint(&since)) return bad("undecodable dead id");
    }
  }
  if (!d.GetVarint(&count) || count > kMaxItems) return bad("undecodable table count");
  for (uint64_t i = 0; i < count; ++i) {
    ManifestTable& t = out.tables.emplace_back();
    uint64_t level = 0;
    std::string_view smallest, largest;
    if (!d.GetVarint(&t.db_id) || !d.GetVarint(&level) || !d.GetVarint(&t.file_number) ||
        !d.GetVarint(&t.file_size) || !d.GetVarint(&t.entries) ||
        !d.GetLengthPrefixed(&smallest) || !d.GetLengthPrefixed(&largest) || level > 64 ||
        t.file_number >= out.next_file_number) {
      return bad("undecodable table");
    }
    if (version >= 2 && !d.GetVarint(&t.clean_since)) return bad("undecodable table");
    t.level = static_cast<uint32_t>(level);
    t.smallest.assign(smallest);
    t.largest.assign(largest);
  }
  if (!d.done()) return bad("trailing bytes");
  *m = std::move(out);
  return Status::Ok();
}

Status WriteManifest(FileSystem* fs, const std::string& dir, const Manifest& m) {
  std::string bytes;
  EncodeManifest(m, &bytes);
  std::string tmp = dir + "/" + kTempName;
  std::unique_ptr<WritableFile> file;
  RETURN_IF_ERROR(fs->NewWritableFile(tmp, /*append=*/false, &file));
  RETURN_IF_ERROR(file->Append(bytes));
  RETURN_IF_ERROR(file->Sync());
  RETURN_IF_ERROR(file->Close());
  RETURN_IF_ERROR(fs->RenameFile(tmp, dir + "/" + kManifestName));
  return fs->SyncDir(dir);
}

Status ReadManifest(FileSystem* fs, const std::string& dir, Manifest* m, bool* exists) {
  std::string path = dir + "/" + kManifestName;
  *exists = fs->FileExists(path);
  if (!*exists) return Status::Ok();
  std::unique_ptr<SequentialFile> file;
  RETURN_IF_ERROR(fs->NewSequentialFile(path, &file));
  std::string bytes, chunk;
  constexpr size_t kChunk = 1 << 20;
  while (true) {
    RETURN_IF_ERROR(file->Read(kChunk, &chunk));
    bytes += chunk;
    if (chunk.size() < kChunk) break;  // end of file
  }
  return DecodeManifest(bytes, path, m);
}

}  // namespace organic::engine
