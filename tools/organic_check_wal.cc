// organic-check-wal [--fix] <wal-file-or-data-dir>
//
// Checks WAL generation files the way redis-check-aof checks an AOF: counts records, reports the
// first problem (torn tail or corruption, with its offset) and, with --fix, truncates the file
// at the last good record and fsyncs it. Given a directory, checks every wal-N.log in it in
// generation order. Exit status: 0 when every file is valid (or was fixed), 1 otherwise
// (damage left in place, unreadable file, usage error).
//
// The logic lives in organic::check_wal::Run so unit tests can call it in-process; defining
// ORGANIC_CHECK_WAL_NO_MAIN before including this file leaves out main().
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

#include "engine/wal_reader.h"
#include "engine/wal_writer.h"
#include "util/file.h"
#include "check_tool_args.h"

namespace organic::check_wal {

inline constexpr char kUsage[] = "Usage: organic-check-wal [--fix] <wal-file-or-data-dir>";

enum class FileVerdict { kValid, kFixed, kInvalid };

// Checks one file; prints its report to out.
inline FileVerdict CheckFile(FileSystem* fs, const std::string& path, bool fix, std::ostream& out) {
  out << "Checking " << path << "\n";
  uint64_t file_size = 0;
  std::unique_ptr<SequentialFile> file;
  Status status = fs->GetFileSize(path, &file_size);
  if (status.ok()) status = fs->NewSequentialFile(path, &file);
  if (!status.ok()) {
    out << "  cannot read: " << status.ToString() << "\nWAL is not valid\n";
    return FileVerdict::kInvalid;
  }

  WalReader reader(std::move(file), file_size);
  std::string payload;
  uint64_t records = 0;
  WalReader::ReadResult result;
  while ((result = reader.ReadRecord(&payload)) == WalReader::ReadResult::kRecord) ++records;

  const uint64_t good = reader.last_record_end();
  out << "  records: " << records << ", valid bytes: " << good << " of " << file_size << "\n";
  const char* kind = nullptr;
  switch (result) {
    case WalReader::ReadResult::kEof:
      out << "WAL is valid\n";
      return FileVerdict::kValid;
    case WalReader::ReadResult::kTornTail: kind = "torn tail"; break;
    case WalReader::ReadResult::kCorruption: kind = "corruption"; break;
    case WalReader::ReadResult::kIOError:
      out << "  cannot read: " << reader.error_detail() << "\nWAL is not valid\n";
      return FileVerdict::kInvalid;
    case WalReader::ReadResult::kRecord: break;  // unreachable: the loop consumed them
  }
  out << "  problem: " << kind << " at offset " << reader.error_offset() << ": "
      << reader.error_detail() << "\n";
  const uint64_t dropped = file_size - good;
  if (!fix) {
    out << "  " << dropped << " bytes after offset " << good
        << " would be dropped by --fix\nWAL is not valid\n";
    return FileVerdict::kInvalid;
  }
  if (result == WalReader::ReadResult::kCorruption) {
    // No question asked (this is meant for scripts), but say plainly what is being given up.
    out << "  corruption in the middle of the file: all data after offset " << good
        << " is discarded, including any valid records there\n";
  }
  status = fs->Truncate(path, good);  // fsyncs the file
  if (!status.ok()) {
    out << "  truncation failed: " << status.ToString() << "\nWAL is not valid\n";
    return FileVerdict::kInvalid;
  }
  out << "  truncated from " << file_size << " to " << good << " bytes (" << dropped
      << " bytes dropped), synced\nWAL is valid after truncation\n";
  return FileVerdict::kFixed;
}

// args excludes the program name. Returns the process exit status.
inline int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  check_tool::CheckArgs parsed;
  if (std::optional<int> status = check_tool::ParseCheckArgs(args, kUsage, out, err, &parsed)) {
    return *status;
  }
  const bool fix = parsed.fix;
  const std::string& target = parsed.target;
  FileSystem* fs = DefaultFileSystem();

  struct stat st;
  if (::stat(target.c_str(), &st) != 0) {
    err << "Cannot open " << target << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::vector<std::string> files;
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> names;
    Status status = fs->GetChildren(target, &names);
    if (!status.ok()) {
      err << "Cannot list " << target << ": " << status.ToString() << "\n";
      return 1;
    }
    std::vector<std::pair<uint64_t, std::string>> generations;
    for (const std::string& name : names) {
      uint64_t generation;
      if (ParseWalFileName(name, &generation)) generations.emplace_back(generation, name);
    }
    std::sort(generations.begin(), generations.end());
    for (const auto& [generation, name] : generations) files.push_back(target + "/" + name);
    if (files.empty()) {
      out << "No WAL files (wal-N.log) in " << target << "\n";
      return 0;
    }
  } else {
    files.push_back(target);
  }

  size_t invalid = 0, fixed = 0;
  for (const std::string& path : files) {
    FileVerdict verdict = CheckFile(fs, path, fix, out);
    if (verdict == FileVerdict::kInvalid) ++invalid;
    if (verdict == FileVerdict::kFixed) ++fixed;
  }
  if (files.size() > 1) {
    out << "Checked " << files.size() << " WAL files: " << invalid << " not valid, " << fixed
        << " fixed\n";
  }
  return invalid == 0 ? 0 : 1;
}

}  // namespace organic::check_wal

#ifndef ORGANIC_CHECK_WAL_NO_MAIN
int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return organic::check_wal::Run(args, std::cout, std::cerr);
}
#endif
