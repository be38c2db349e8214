// A real full disk, as the user of issue #9 met it: the data directory on a small tmpfs that
// fills up under SETs. No write may be acknowledged that a restart does not show; writes are
// refused with Redis's MISCONF error while the disk is full, reads go on, and writes resume by
// themselves once space comes back. Mounting needs root: the test says so and skips otherwise.
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "server_process.h"

namespace organic::itest {
namespace {

using std::chrono::milliseconds;

// A tmpfs of `size` mounted on a fresh directory, unmounted (lazily) at scope exit.
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& size) {
    std::string options = "size=" + size;
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
};

std::string ValueFor(int i) { return "v" + std::to_string(i) + std::string(1000, 'x'); }

void RunDiskFull(const char* policy) {
  if (::geteuid() != 0) {
    MESSAGE("skipped: mounting a tmpfs for the full-disk test needs root");
    return;
  }
  TmpfsMount disk("4m");
  if (!disk.mounted()) {
    MESSAGE("skipped: could not mount a tmpfs (no CAP_SYS_ADMIN in this container?)");
    return;
  }
  // Room that the test gives back later, as a user deleting a file would.
  const std::string filler = disk.path() + "/filler";
  REQUIRE(WriteWholeFile(filler, std::string(1 << 20, 'f')));
  ServerProcess server({"--dir", disk.path() + "/data", "--appendfsync", policy, "--save", ""});
  REQUIRE(server.Start());

  // One SET at a time on a raw connection: the one whose batch fails gets no reply until the
  // disk recovers (it is held, not acknowledged), so a short read timeout finds it.
  RawConnection writer(server.port());
  REQUIRE(writer.ok());
  std::map<std::string, std::string> acked;
  std::string held_key;
  for (int i = 0; i < 20000 && held_key.empty(); i++) {
    std::string key = "k" + std::to_string(i);
    REQUIRE(writer.SendAll(EncodeCommand({"SET", key, ValueFor(i)})));
    std::string reply = writer.ReadUntil("\r\n", milliseconds(1500));
    if (reply == "+OK\r\n") {
      acked[key] = ValueFor(i);
    } else {
      REQUIRE_MESSAGE(reply.empty(), "unexpected reply: " << reply);
      held_key = key;
    }
  }
  REQUIRE_MESSAGE(!held_key.empty(), "the 4 MB disk never filled up");
  MESSAGE("disk full after " << acked.size() << " acknowledged SETs of 1 KB (" << std::string(policy) << ")");

  // Meanwhile: writes and PING are refused as Redis refuses them, reads go on.
  RedisContextPtr c = server.Connect();
  REQUIRE(c);
  const std::string misconf = "MISCONF Errors writing to the AOF file: No space left on device";
  CHECK(Cmd(c.get(), {"SET", "other", "x"}) == misconf);
  CHECK(Cmd(c.get(), {"PING"}) == misconf);
  CHECK(Cmd(c.get(), {"DEL", "k0"}) == misconf);
  CHECK(Cmd(c.get(), {"GET", "k0"}) == ValueFor(0));
  CHECK(CmdInt(c.get(), {"EXISTS", "k1"}) == 1);
  RedisReplyPtr info = Command(c.get(), {"INFO", "persistence"});
  REQUIRE(info);
  std::string text(info->str, info->len);
  CHECK(InfoField(text, "aof_last_write_status") == "err");
  CHECK(InfoField(text, "wal_write_error").find("No space left on device") != std::string::npos);
  CHECK(InfoField(text, "wal_write_errors") == "1");

  // Space comes back: without a restart, the held write is acknowledged and writes resume.
  REQUIRE(::unlink(filler.c_str()) == 0);
  std::string reply = writer.ReadUntil("\r\n", milliseconds(10000));
  REQUIRE(reply == "+OK\r\n");
  acked[held_key] = ValueFor(std::stoi(held_key.substr(1)));
  CHECK(Cmd(c.get(), {"SET", "other", "after"}) == "OK");
  acked["other"] = "after";
  CHECK(Cmd(c.get(), {"PING"}) == "PONG");
  info = Command(c.get(), {"INFO", "persistence"});
  REQUIRE(info);
  text.assign(info->str, info->len);
  CHECK(InfoField(text, "aof_last_write_status") == "ok");
  CHECK(InfoField(text, "wal_write_error").empty());

  // A crash now: every acknowledged write is there, nothing else.
  writer.Close();
  c.reset();
  server.Kill();
  REQUIRE(server.Start());
  c = server.Connect();
  REQUIRE(c);
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == static_cast<int64_t>(acked.size()));
  int wrong = 0;
  for (const auto& [key, value] : acked) {
    if (Cmd(c.get(), {"GET", key}) != value) wrong++;
  }
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("disk full: appendfsync always acknowledges nothing it lost, resumes by itself") {
  RunDiskFull("always");
}

TEST_CASE("disk full: appendfsync everysec acknowledges nothing it lost, resumes by itself") {
  RunDiskFull("everysec");
}

}  // namespace organic::itest
