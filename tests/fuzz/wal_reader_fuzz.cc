// Fuzz target: WalReader, the reader of WAL generation files, plus the mutation decoders run on
// every record it returns (what recovery does with them).
//
// Input: flags:u8  file:byte[]
//   flags bit 0  rewrite the record checksums first (checksum_repair.h), so mutated lengths
//                and payloads get past the checksum check
//   flags bit 1  the file returns short reads (as a file that shrank while read)
//   flags bit 2  the declared file size exceeds the bytes there by 1 + (flags >> 4)
//
// Besides memory errors, checks the reader's contract: records are returned until a final
// result, which then repeats; offsets stay within the file. A violation aborts the run.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "checksum_repair.h"
#include "engine/mutation.h"
#include "engine/wal_reader.h"
#include "engine/wal_writer.h"
#include "fuzz_check.h"
#include "memory_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using organic::WalReader;
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  if (flags & 1) organic::fuzz::RepairWalChecksums(&file);
  uint64_t file_size = file.size();
  if (flags & 4) file_size += 1 + (flags >> 4);

  WalReader reader(
      std::make_unique<organic::fuzz::MemorySequentialFile>(file, (flags & 2) != 0), file_size);
  std::string payload;
  WalReader::ReadResult result;
  uint64_t previous_end = 0;
  while ((result = reader.ReadRecord(&payload)) == WalReader::ReadResult::kRecord) {
    FUZZ_CHECK(reader.last_record_end() == previous_end + organic::kWalHeaderSize + payload.size());
    previous_end = reader.last_record_end();
    organic::engine::ForEachMutationPayload(payload, [](std::string_view one) {
      organic::engine::Mutation m;
      return organic::engine::DecodeMutation(one, &m);
    });
  }
  FUZZ_CHECK(reader.last_record_end() <= file.size());
  if (result != WalReader::ReadResult::kEof) {
    FUZZ_CHECK(reader.error_offset() == reader.last_record_end());
    FUZZ_CHECK(!reader.error_detail().empty());
  }
  FUZZ_CHECK(reader.ReadRecord(&payload) == result);
  return 0;
}
