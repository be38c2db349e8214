// Client-facing server behaviour over real connections: databases (SELECT/SWAPDB/MOVE), client
// management (CLIENT SETNAME/LIST/KILL), idle timeout, SHUTDOWN, and start-up configuration
// (config file, command line, errors).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "server_process.h"

namespace organic::itest {
namespace {

using std::chrono::milliseconds;

void SleepMs(int ms) { std::this_thread::sleep_for(milliseconds(ms)); }

TEST_CASE("SELECT, MOVE and SWAPDB across databases, seen from two connections") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr a = server.Connect();
  RedisContextPtr b = server.Connect();
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);

  CHECK(Cmd(a.get(), {"SET", "k", "in-db0"}) == "OK");
  CHECK(Cmd(a.get(), {"SELECT", "1"}) == "OK");
  CHECK(Cmd(a.get(), {"GET", "k"}) == "(nil)");
  CHECK(Cmd(a.get(), {"SET", "k", "in-db1"}) == "OK");
  CHECK(Cmd(b.get(), {"GET", "k"}) == "in-db0");  // b is still on db 0
  CHECK(Cmd(a.get(), {"SELECT", "16"}) == "ERR DB index is out of range");
  CHECK(Cmd(a.get(), {"SELECT", "abc"}) == "ERR value is not an integer or out of range");
  CHECK(Cmd(a.get(), {"GET", "k"}) == "in-db1");  // a failed SELECT keeps the db

  // MOVE from db 1 to db 2.
  CHECK(Cmd(a.get(), {"SET", "m", "moving"}) == "OK");
  CHECK(CmdInt(a.get(), {"MOVE", "m", "2"}) == 1);
  CHECK(CmdInt(a.get(), {"EXISTS", "m"}) == 0);
  CHECK(Cmd(b.get(), {"SELECT", "2"}) == "OK");
  CHECK(Cmd(b.get(), {"GET", "m"}) == "moving");
  CHECK(Cmd(a.get(), {"SET", "m", "again"}) == "OK");
  CHECK(CmdInt(a.get(), {"MOVE", "m", "2"}) == 0);  // exists in the target: nothing moves
  CHECK(Cmd(a.get(), {"GET", "m"}) == "again");
  CHECK(CmdInt(a.get(), {"MOVE", "nosuchkey", "2"}) == 0);
  CHECK(Cmd(a.get(), {"MOVE", "m", "1"}) == "ERR source and destination objects are the same");
  CHECK(Cmd(a.get(), {"MOVE", "m", "16"}) == "ERR DB index is out of range");

  // SWAPDB changes what every connection selected on those databases sees.
  CHECK(Cmd(b.get(), {"SELECT", "0"}) == "OK");
  CHECK(Cmd(a.get(), {"SWAPDB", "0", "1"}) == "OK");
  CHECK(Cmd(b.get(), {"GET", "k"}) == "in-db1");
  CHECK(Cmd(b.get(), {"GET", "m"}) == "again");
  CHECK(Cmd(a.get(), {"GET", "k"}) == "in-db0");  // a is on db 1
  CHECK(Cmd(a.get(), {"SWAPDB", "0", "16"}) == "ERR DB index is out of range");
  CHECK(Cmd(a.get(), {"SWAPDB", "0", "x"}) == "ERR invalid second DB index");
  CHECK(Cmd(a.get(), {"SWAPDB", "x", "0"}) == "ERR invalid first DB index");
}

TEST_CASE("CLIENT SETNAME, LIST and KILL ID of another connection") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  RawConnection victim(server.port());
  REQUIRE(victim.ok());
  REQUIRE(victim.SendAll("CLIENT SETNAME victim\r\nCLIENT GETNAME\r\n"));
  REQUIRE(victim.ReadAtLeast(17) == "+OK\r\n$6\r\nvictim\r\n");
  REQUIRE(victim.SendAll("CLIENT ID\r\n"));
  const std::string id_reply = victim.ReadUntil("\r\n");  // ":<id>\r\n"
  REQUIRE(id_reply.size() > 3);
  REQUIRE(id_reply[0] == ':');
  const std::string victim_id = id_reply.substr(1, id_reply.size() - 3);
  CAPTURE(victim_id);

  std::string list = Cmd(control.get(), {"CLIENT", "LIST"});
  CHECK(list.find("id=" + victim_id + " ") != std::string::npos);
  CHECK(list.find(" name=victim ") != std::string::npos);
  CHECK(list.find("cmd=client|id") != std::string::npos);
  CHECK(Cmd(control.get(), {"CLIENT", "SETNAME", "bad name"}) ==
        "ERR Client names cannot contain spaces, newlines or special characters.");
  CHECK(Cmd(control.get(), {"CLIENT", "GETNAME"}) == "(nil)");
  CHECK(Cmd(control.get(), {"CLIENT", "LIST", "ID", victim_id}).find("name=victim") !=
        std::string::npos);

  CHECK(CmdInt(control.get(), {"CLIENT", "KILL", "ID", victim_id}) == 1);
  bool eof = false;
  CHECK(victim.ReadUntilEof(&eof, milliseconds(3000)).empty());
  CHECK(eof);
  CHECK(Cmd(control.get(), {"CLIENT", "LIST"}).find("name=victim") == std::string::npos);
  CHECK(CmdInt(control.get(), {"CLIENT", "KILL", "ID", victim_id}) == 0);
  CHECK(Cmd(control.get(), {"CLIENT", "KILL", "127.0.0.1:1"}) == "ERR No such client");
  CHECK(Cmd(control.get(), {"PING"}) == "PONG");  // the killer is unaffected
}

TEST_CASE("timeout closes idle clients only") {
  ServerProcess server({"--timeout", "1", "--hz", "50"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RawConnection idle(server.port());
  RawConnection busy(server.port());
  REQUIRE(idle.SendAll("PING\r\n"));
  CHECK(idle.ReadAtLeast(7) == "+PONG\r\n");
  // busy talks every 300 ms for 1.5 s; idle says nothing.
  for (int i = 0; i < 5; i++) {
    REQUIRE(busy.SendAll("PING\r\n"));
    CHECK(busy.ReadAtLeast(7) == "+PONG\r\n");
    SleepMs(300);
  }
  bool eof = false;
  idle.ReadUntilEof(&eof, milliseconds(1500));
  CHECK(eof);
  REQUIRE(busy.SendAll("PING\r\n"));
  CHECK(busy.ReadAtLeast(7) == "+PONG\r\n");
}

TEST_CASE("SHUTDOWN makes the process exit 0 with the data durable") {
  ServerProcess server({"--appendfsync", "no"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  {
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    for (int i = 0; i < 100; i++) {
      REQUIRE(Cmd(c.get(), {"SET", "sd:" + std::to_string(i), std::to_string(i)}) == "OK");
    }
    RedisReplyPtr r = Command(c.get(), {"SHUTDOWN"});
    // Like Redis, a successful SHUTDOWN closes the connection instead of replying.
    CHECK(r == nullptr);
  }
  REQUIRE(server.WaitForExit(milliseconds(10000)));
  CHECK(server.exit_status() == 0);
  std::string log = server.log_since_start();
  CHECK_MESSAGE(log.find("ready to exit") != std::string::npos, log);

  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 100);
  CHECK(Cmd(c.get(), {"GET", "sd:99"}) == "99");
}

TEST_CASE("SIGTERM makes the process exit 0") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(Cmd(c.get(), {"SET", "k", "v"}) == "OK");
  CHECK(server.Stop() == 0);
  std::string log = server.log_since_start();
  CHECK_MESSAGE(log.find("Received SIGTERM") != std::string::npos, log);
}

TEST_CASE("a config file is read, and the command line overrides it") {
  TempDir tmp;
  std::string conf = tmp.path() + "/organic.conf";
  REQUIRE(WriteWholeFile(conf,
                         "# a comment\n"
                         "port 1\n"
                         "maxclients 7\n"
                         "  hz 20  \n"
                         "requirepass \"from file\"\n"));
  {
    ServerProcess server({"--requirepass", "cli"});
    // The config file must come first: organic-server [config-file] [--directive value ...].
    server.set_config_file(conf);
    REQUIRE_MESSAGE(server.Start(), server.log());
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    CHECK(Cmd(c.get(), {"AUTH", "from file"}) ==
          "WRONGPASS invalid username-password pair or user is disabled.");
    CHECK(Cmd(c.get(), {"AUTH", "cli"}) == "OK");
    CHECK(Cmd(c.get(), {"CONFIG", "GET", "port"}) ==
          "[port," + std::to_string(server.port()) + "]");
    CHECK(Cmd(c.get(), {"CONFIG", "GET", "maxclients"}) == "[maxclients,7]");
    CHECK(Cmd(c.get(), {"CONFIG", "GET", "hz"}) == "[hz,20]");
    std::string log = server.log_since_start();
    CHECK_MESSAGE(log.find(conf) != std::string::npos, log);
  }
}

TEST_CASE("configuration errors at start-up exit 1 with a precise message") {
  TempDir tmp;
  const std::string& dir = tmp.path();
  std::string data = dir + "/data";

  SUBCASE("unknown directive in a config file names the file, line and directive") {
    std::string conf = dir + "/bad.conf";
    REQUIRE(WriteWholeFile(conf, "# comment\nport 7777\nno-such-directive 42\nhz 10\n"));
    ProcessResult r = RunProgram({ServerBinary(), conf, "--dir", data});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find(conf) != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("line 3") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("no-such-directive") != std::string::npos, r.err);
  }
  SUBCASE("a bad value in a config file") {
    std::string conf = dir + "/bad.conf";
    REQUIRE(WriteWholeFile(conf, "appendfsync sometimes\n"));
    ProcessResult r = RunProgram({ServerBinary(), conf, "--dir", data});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find("line 1") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("appendfsync sometimes") != std::string::npos, r.err);
  }
  SUBCASE("a missing config file") {
    ProcessResult r = RunProgram({ServerBinary(), dir + "/nope.conf", "--dir", data});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find("nope.conf") != std::string::npos, r.err);
  }
  SUBCASE("--port abc") {
    ProcessResult r = RunProgram({ServerBinary(), "--port", "abc", "--dir", data});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find("port") != std::string::npos, r.err);
  }
  SUBCASE("--port out of range") {
    ProcessResult r = RunProgram({ServerBinary(), "--port", "70000", "--dir", data});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find("port") != std::string::npos, r.err);
  }
  SUBCASE("unknown directive on the command line") {
    ProcessResult r = RunProgram({ServerBinary(), "--no-such-thing", "1", "--dir", data});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.find("no-such-thing") != std::string::npos, r.err);
  }
  SUBCASE("--version exits 0") {
    ProcessResult r = RunProgram({ServerBinary(), "--version"});
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(r.out.find(std::string("v=") + ORGANIC_VERSION) != std::string::npos, r.out);
  }
  SUBCASE("a port already in use") {
    ServerProcess server;
    REQUIRE_MESSAGE(server.Start(), server.log());
    ProcessResult r = RunProgram(
        {ServerBinary(), "--port", std::to_string(server.port()), "--dir", data});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.out.find("Failed listening on port " + std::to_string(server.port())) !=
                      std::string::npos,
                  r.out << r.err);
  }
}

}  // namespace
}  // namespace organic::itest
