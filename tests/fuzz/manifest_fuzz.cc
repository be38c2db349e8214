// Fuzz target: DecodeManifest, the reader of the engine's MANIFEST file.
//
// Input: flags:u8  file:byte[]
//   flags bit 0  rewrite the trailing checksum first (checksum_repair.h), so mutated contents
//                get past the checksum check
//
// Besides memory errors, checks that a manifest that decodes survives a round trip through
// EncodeManifest. A difference aborts the run.
#include <cstddef>
#include <cstdint>
#include <string>

#include "checksum_repair.h"
#include "engine/manifest.h"
#include "fuzz_check.h"

namespace {

using organic::engine::Manifest;

bool Same(const Manifest& a, const Manifest& b) {
  if (a.wal_floor != b.wal_floor || a.last_sequence != b.last_sequence ||
      a.next_file_number != b.next_file_number || a.user_databases != b.user_databases ||
      a.floor_sequence != b.floor_sequence ||
      a.databases.size() != b.databases.size() ||
      a.tables.size() != b.tables.size()) {
    return false;
  }
  for (size_t i = 0; i < a.databases.size(); ++i) {
    const auto& x = a.databases[i];
    const auto& y = b.databases[i];
    if (x.id != y.id || x.table_keys != y.table_keys ||
        x.table_volatile_keys != y.table_volatile_keys || x.dead != y.dead) {
      return false;
    }
  }
  for (size_t i = 0; i < a.tables.size(); ++i) {
    const auto& x = a.tables[i];
    const auto& y = b.tables[i];
    if (x.db_id != y.db_id || x.level != y.level || x.file_number != y.file_number ||
        x.file_size != y.file_size || x.entries != y.entries || x.smallest != y.smallest ||
        x.largest != y.largest || x.clean_since != y.clean_since) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) organic::fuzz::RepairManifestChecksum(&file);
  Manifest manifest;
  if (!organic::engine::DecodeManifest(file, "MANIFEST", &manifest).ok()) return 0;
  std::string again;
  organic::engine::EncodeManifest(manifest, &again);
  Manifest decoded;
  FUZZ_CHECK(organic::engine::DecodeManifest(again, "MANIFEST", &decoded).ok());
  FUZZ_CHECK(Same(manifest, decoded));
  return 0;
}
