// Fuzz target: the WAL payload decoders, ForEachMutationPayload (batches) and DecodeMutation.
//
// Input: one WAL record payload, as is (a single mutation, or a kMutationBatch of them).
//
// Besides memory errors, checks that every mutation that decodes survives a round trip:
// EncodeMutation of the decoded fields decodes to the same fields (the bytes may differ, since
// a varint can be written with redundant continuation bytes). A difference aborts the run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mutation.h"
#include "fuzz_check.h"

namespace {

using organic::engine::Mutation;

bool SameFields(const Mutation& a, const Mutation& b) {
  return a.op == b.op && a.sequence == b.sequence && a.db == b.db &&
         a.other_db == b.other_db && a.type == b.type && a.expire_at_ms == b.expire_at_ms &&
         a.encoding == b.encoding && a.key == b.key && a.value == b.value;
}

bool DecodeAndRoundTrip(std::string_view payload, std::vector<std::string>* encoded) {
  Mutation m;
  if (!organic::engine::DecodeMutation(payload, &m)) return false;
  std::string again;
  organic::engine::EncodeMutation(m, &again);
  Mutation m2;  // fields an op does not encode keep their defaults in both m and m2
  FUZZ_CHECK(organic::engine::DecodeMutation(again, &m2));
  FUZZ_CHECK(SameFields(m, m2));
  encoded->push_back(std::move(again));
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> encoded;
  const bool ok = organic::engine::ForEachMutationPayload(
      payload, [&](std::string_view one) { return DecodeAndRoundTrip(one, &encoded); });
  // A batch that decodes whole re-encodes into a batch that decodes to the same mutations.
  if (ok && !payload.empty() &&
      static_cast<uint8_t>(payload[0]) == organic::engine::kMutationBatch) {
    std::string batch;
    organic::engine::EncodeMutationBatch(encoded, encoded.size(), &batch);
    size_t i = 0;
    FUZZ_CHECK(organic::engine::ForEachMutationPayload(batch, [&](std::string_view one) {
      FUZZ_CHECK(i < encoded.size() && one == encoded[i]);
      ++i;
      return true;
    }));
    FUZZ_CHECK(i == encoded.size());
  }
  return 0;
}
