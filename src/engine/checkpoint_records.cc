#include "engine/checkpoint_records.h"

#include <algorithm>

#include "util/coding.h"

namespace organic::engine {

void CheckpointRecords::Add(std::string_view key, std::string_view record) {
  const size_t need = key.size() + record.size() + 20;
  if (chunks_.empty() || chunks_.back().size() + need > chunks_.back().capacity()) {
    chunks_.emplace_back();
    chunks_.back().reserve(std::max(kChunkBytes, need));
  }
  std::string& chunk = chunks_.back();
  PutLengthPrefixed(&chunk, key);
  PutLengthPrefixed(&chunk, record);
  count_++;
  bytes_ += key.size() + record.size();
}

std::string_view CheckpointRecords::Next(std::string_view* rest) {
  uint64_t n = 0;
  const char* p = DecodeVarint64(rest->data(), rest->data() + rest->size(), &n);
  std::string_view s(p, n);
  rest->remove_prefix(static_cast<size_t>(p - rest->data()) + n);
  return s;
}

}  // namespace organic::engine
