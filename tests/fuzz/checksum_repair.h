// Rewrites the checksums of a mutated file so the fuzzer's changes reach the parsing code
// behind them. A fuzzer that flips one byte of a checksummed record almost never produces a
// matching checksum by chance, so without this it would only ever test the checksum check.
//
// The repair is done on the input bytes, before the production reader sees them: the readers
// themselves are unchanged and still verify every checksum. Each function only touches
// checksum fields whose position can be read from the (possibly damaged) file; bytes it cannot
// make sense of are left alone, and the reader then reports them as damage.
#pragma once

#include <string>

namespace organic::fuzz {

// WAL generation file (engine/wal_writer.h): walks the records from offset 0 and rewrites each
// header's checksum while the record's declared length fits in the file.
void RepairWalChecksums(std::string* file);

// MANIFEST (engine/manifest.h): rewrites the trailing checksum over everything before it.
void RepairManifestChecksum(std::string* file);

// SSTable (engine/sstable_builder.h): rewrites the footer checksum, the filter and index block
// checksums, and the checksum of each data block the index names (when the index is readable).
void RepairSstableChecksums(std::string* file);

}  // namespace organic::fuzz
