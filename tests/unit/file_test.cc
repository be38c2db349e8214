#include "util/file.h"

#include <doctest/doctest.h>

#include "test_files.h"
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace organic {
namespace {

using testing::Slurp;
using testing::TempDir;

std::string ReadAllSequential(FileSystem* fs, const std::string& path) {
  std::unique_ptr<SequentialFile> file;
  REQUIRE(fs->NewSequentialFile(path, &file).ok());
  std::string all, chunk;
  do {
    REQUIRE(file->Read(1000, &chunk).ok());
    all += chunk;
  } while (!chunk.empty());
  return all;
}

}  // namespace

TEST_CASE("file: appends are buffered until Flush, then visible to readers") {
  TempDir dir;
  FileSystem* fs = DefaultFileSystem();
  std::string path = dir.File("a");
  std::unique_ptr<WritableFile> file;
  REQUIRE(fs->NewWritableFile(path, /*append=*/false, &file).ok());
  REQUIRE(file->Append("hello ").ok());
  REQUIRE(file->Append("world").ok());
  CHECK(file->Size() == 11);
  CHECK(Slurp(path).empty());  // still in the user-space buffer
  REQUIRE(file->Flush().ok());
  CHECK(Slurp(path) == "hello world");
  // A large append (> buffer) goes straight through, after what was buffered before it.
  REQUIRE(file->Append("!").ok());
  std::string big(200 * 1024, 'x');
  REQUIRE(file->Append(big).ok());
  CHECK(Slurp(path) == "hello world!" + big);
  REQUIRE(file->Append("tail").ok());
  REQUIRE(file->Sync().ok());
  REQUIRE(file->SyncFlushed().ok());
  CHECK(file->Size() == 12 + big.size() + 4);
  REQUIRE(file->Close().ok());
  CHECK(Slurp(path) == "hello world!" + big + "tail");

  uint64_t size = 0;
  REQUIRE(fs->GetFileSize(path, &size).ok());
  CHECK(size == 12 + big.size() + 4);
  CHECK(ReadAllSequential(fs, path) == "hello world!" + big + "tail");
}

TEST_CASE("file: destroying an unclosed writable file flushes it") {
  TempDir dir;
  std::string path = dir.File("a");
  {
    std::unique_ptr<WritableFile> file;
    REQUIRE(DefaultFileSystem()->NewWritableFile(path, false, &file).ok());
    REQUIRE(file->Append("abc").ok());
  }
  CHECK(Slurp(path) == "abc");
}

TEST_CASE("file: append mode continues, truncate mode restarts") {
  TempDir dir;
  FileSystem* fs = DefaultFileSystem();
  std::string path = dir.File("a");
  std::unique_ptr<WritableFile> file;
  REQUIRE(fs->NewWritableFile(path, false, &file).ok());
  REQUIRE(file->Append("one").ok());
  REQUIRE(file->Close().ok());

  REQUIRE(fs->NewWritableFile(path, /*append=*/true, &file).ok());
  CHECK(file->Size() == 3);
  REQUIRE(file->Append("two").ok());
  REQUIRE(file->Close().ok());
  CHECK(Slurp(path) == "onetwo");

  REQUIRE(fs->NewWritableFile(path, /*append=*/false, &file).ok());
  CHECK(file->Size() == 0);
  REQUIRE(file->Append("three").ok());
  REQUIRE(file->Close().ok());
  CHECK(Slurp(path) == "three");
}

TEST_CASE("file: sequential Read returns fewer bytes at EOF, Skip moves forward") {
  TempDir dir;
  FileSystem* fs = DefaultFileSystem();
  std::string path = dir.File("a");
  std::ofstream(path, std::ios::binary) << "0123456789";
  std::unique_ptr<SequentialFile> file;
  REQUIRE(fs->NewSequentialFile(path, &file).ok());
  std::string out;
  REQUIRE(file->Read(3, &out).ok());
  CHECK(out == "012");
  REQUIRE(file->Skip(4).ok());
  REQUIRE(file->Read(100, &out).ok());
  CHECK(out == "789");
  REQUIRE(file->Read(100, &out).ok());
  CHECK(out.empty());
  REQUIRE(file->Skip(100).ok());
  REQUIRE(file->Read(1, &out).ok());
  CHECK(out.empty());
}

TEST_CASE("file: random access reads") {
  TempDir dir;
  FileSystem* fs = DefaultFileSystem();
  std::string path = dir.File("a");
  std::ofstream(path, std::ios::binary) << "0123456789";
  std::unique_ptr<RandomAccessFile> file;
  REQUIRE(fs->NewRandomAccessFile(path, &file).ok());
  std::string out;
  REQUIRE(file->Read(5, 3, &out).ok());
  CHECK(out == "567");
  REQUIRE(file->Read(8, 10, &out).ok());
  CHECK(out == "89");
  REQUIRE(file->Read(50, 10, &out).ok());
  CHECK(out.empty());
  REQUIRE(file->Read(0, 2, &out).ok());
  CHECK(out == "01");
}

TEST_CASE("file: missing files give NotFound") {
  TempDir dir;
  FileSystem* fs = DefaultFileSystem();
  std::string path = dir.File("missing");
  std::unique_ptr<SequentialFile> seq;
  std::unique_ptr<RandomAccessFile> ra;
  uint64_t size;
  CHECK(fs->NewSequentialFile(path, &seq).IsNotFound());
  CHECK(fs->NewRandomAccessFile(path, &ra).IsNotFound());
  CHECK(fs->GetFileSize(path, &size).IsNotFound());
  CHECK(fs->RemoveFile(path).IsNotFound());
  CHECK_FALSE(fs->FileExists(path));
  Status s = fs->GetFileSize(path, &size);
  CHECK(s.message().find(path) != std::string::npos);  // errors name the path
}

TEST_CASE("file: Truncate, Rename, Remove, directories") {
  TempDir dir;
  FileSystem* fs = DefaultFileSystem();
  std::string a = dir.File("a");
  std::ofstream(a, std::ios::binary) << "0123456789";
  REQUIRE(fs->Truncate(a, 4).ok());
  CHECK(Slurp(a) == "0123");
  CHECK(fs->Truncate(a, 100).IsInvalidArgument());  // never extends
  CHECK(Slurp(a) == "0123");
  REQUIRE(fs->Truncate(a, 0).ok());
  CHECK(Slurp(a).empty());

  std::ofstream(a, std::ios::binary) << "A";
  std::string b = dir.File("b");
  std::ofstream(b, std::ios::binary) << "B";
  REQUIRE(fs->RenameFile(a, b).ok());  // replaces b
  CHECK_FALSE(fs->FileExists(a));
  CHECK(Slurp(b) == "A");

  std::string sub = dir.File("sub");
  REQUIRE(fs->CreateDirIfMissing(sub).ok());
  REQUIRE(fs->CreateDirIfMissing(sub).ok());  // idempotent
  CHECK_FALSE(fs->CreateDirIfMissing(b).ok());  // a file is in the way
  std::ofstream(sub + "/x", std::ios::binary) << "x";
  REQUIRE(fs->SyncDir(sub).ok());

  std::vector<std::string> names;
  REQUIRE(fs->GetChildren(dir.path(), &names).ok());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"b", "sub"});
  REQUIRE(fs->GetChildren(sub, &names).ok());
  CHECK(names == std::vector<std::string>{"x"});
  CHECK(fs->GetChildren(dir.File("nope"), &names).IsNotFound());

  REQUIRE(fs->RemoveFile(b).ok());
  CHECK_FALSE(fs->FileExists(b));
}

TEST_CASE("file: SyncFlushed from another thread while the owner appends and flushes") {
  // The appendfsync everysec pattern. Under ThreadSanitizer this must be race-free.
  TempDir dir;
  std::string path = dir.File("wal");
  std::unique_ptr<WritableFile> file;
  REQUIRE(DefaultFileSystem()->NewWritableFile(path, false, &file).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> syncs{0};
  std::atomic<bool> sync_failed{false};
  std::thread syncer([&] {
    while (!stop.load()) {
      if (!file->SyncFlushed().ok()) sync_failed = true;
      ++syncs;
    }
  });
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    std::string line = "record " + std::to_string(i) + "\n";
    REQUIRE(file->Append(line).ok());
    expected += line;
    if (i % 10 == 0) REQUIRE(file->Flush().ok());
  }
  REQUIRE(file->Flush().ok());
  while (syncs.load() < 2) std::this_thread::yield();
  stop = true;
  syncer.join();  // the contract: the syncing thread stops before Close
  REQUIRE(file->Close().ok());
  CHECK_FALSE(sync_failed.load());
  CHECK(Slurp(path) == expected);
}

TEST_CASE("fault injection: DropUnsyncedData keeps exactly the synced prefix") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  std::string a = dir.File("a"), b = dir.File("b"), c = dir.File("c");

  std::unique_ptr<WritableFile> fa, fb, fc;
  REQUIRE(fs.NewWritableFile(a, false, &fa).ok());
  REQUIRE(fs.NewWritableFile(b, false, &fb).ok());
  REQUIRE(fa->Append("synced-").ok());
  REQUIRE(fa->Sync().ok());
  REQUIRE(fa->Append("flushed-only").ok());
  REQUIRE(fa->Flush().ok());
  REQUIRE(fa->Append("buffered-only").ok());
  CHECK(Slurp(a) == "synced-flushed-only");  // the fault FS passes flushed data through

  REQUIRE(fb->Append("x").ok());
  REQUIRE(fb->Flush().ok());
  REQUIRE(fb->SyncFlushed().ok());  // the everysec path counts as a sync
  REQUIRE(fb->Append("y").ok());
  REQUIRE(fb->Close().ok());  // closed but never synced after "y"

  // A file opened in append mode: its pre-existing bytes count as durable.
  std::ofstream(c, std::ios::binary) << "old";
  REQUIRE(fs.NewWritableFile(c, true, &fc).ok());
  REQUIRE(fc->Append("new").ok());
  REQUIRE(fc->Flush().ok());

  REQUIRE(fs.DropUnsyncedData().ok());
  CHECK(Slurp(a) == "synced-");
  CHECK(Slurp(b) == "x");
  CHECK(Slurp(c) == "old");

  // The "dead" instance can no longer write, and destroying it writes nothing.
  CHECK(fa->Append("more").IsIOError());
  CHECK(fa->Flush().IsIOError());
  CHECK(fa->Sync().IsIOError());
  fa.reset();
  fc.reset();
  CHECK(Slurp(a) == "synced-");
  CHECK(Slurp(c) == "old");

  // After the crash, a new instance writes normally and is tracked again.
  REQUIRE(fs.NewWritableFile(a, true, &fa).ok());
  REQUIRE(fa->Append("again").ok());
  REQUIRE(fa->Flush().ok());
  REQUIRE(fs.DropUnsyncedData().ok());
  CHECK(Slurp(a) == "synced-");
}

TEST_CASE("fault injection: files whose directory was never synced disappear") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  std::string kept = dir.File("kept"), lost = dir.File("lost"), renamed = dir.File("renamed");
  std::unique_ptr<WritableFile> f;
  REQUIRE(fs.NewWritableFile(kept, false, &f).ok());
  REQUIRE(f->Append("k").ok());
  REQUIRE(f->Sync().ok());
  REQUIRE(f->Close().ok());
  REQUIRE(fs.SyncDir(dir.path()).ok());

  REQUIRE(fs.NewWritableFile(lost, false, &f).ok());
  REQUIRE(f->Append("l").ok());
  REQUIRE(f->Sync().ok());  // contents synced, directory entry not
  REQUIRE(f->Close().ok());
  REQUIRE(fs.RenameFile(lost, renamed).ok());

  REQUIRE(fs.DropUnsyncedData().ok());
  REQUIRE(fs.RemoveFilesCreatedAfterLastDirSync().ok());
  CHECK(fs.FileExists(kept));
  CHECK(Slurp(kept) == "k");
  CHECK_FALSE(fs.FileExists(lost));
  CHECK_FALSE(fs.FileExists(renamed));
}

TEST_CASE("fault injection: Truncate through the wrapper is durable") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  std::string a = dir.File("a");
  std::unique_ptr<WritableFile> f;
  REQUIRE(fs.NewWritableFile(a, false, &f).ok());
  REQUIRE(f->Append("0123456789").ok());
  REQUIRE(f->Sync().ok());
  REQUIRE(f->Close().ok());
  REQUIRE(fs.Truncate(a, 4).ok());
  REQUIRE(fs.DropUnsyncedData().ok());
  CHECK(Slurp(a) == "0123");
}

}  // namespace organic
