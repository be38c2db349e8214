#include <doctest/doctest.h>

#include "server/config.h"

using organic::Config;

TEST_CASE("config: defaults and typed directives") {
  Config c;
  CHECK(c.values().port == 6379);
  std::string err;
  CHECK(c.LoadText("port 7000\nmaxmemory 100mb\n# comment\n\nbind 127.0.0.1 ::1\n"
                   "appendfsync always\nprotected-mode no\n", "test.conf", &err));
  CHECK(c.values().port == 7000);
  CHECK(c.values().maxmemory == 100ull * 1024 * 1024);
  CHECK(c.values().bind.size() == 2);
  CHECK(c.values().appendfsync == "always");
  CHECK_FALSE(c.values().protected_mode);
  CHECK(c.Find("MAXMEMORY")->get() == "104857600");
}

TEST_CASE("config: errors name file, line and directive") {
  Config c;
  std::string err;
  CHECK_FALSE(c.LoadText("port 7000\nbogus-directive 1\n", "my.conf", &err));
  CHECK(err.find("my.conf") != std::string::npos);
  CHECK(err.find("line 2") != std::string::npos);
  CHECK(err.find("bogus-directive") != std::string::npos);
  CHECK(err.find("Bad directive") != std::string::npos);
  CHECK_FALSE(c.LoadText("port abc\n", "x.conf", &err));
  CHECK(err.find("argument couldn't be parsed into an integer") != std::string::npos);
  CHECK_FALSE(c.LoadText("port 70000\n", "x.conf", &err));
  CHECK(err.find("between 0 and 65535") != std::string::npos);
  CHECK_FALSE(c.LoadText("appendfsync sometimes\n", "x.conf", &err));
  CHECK(err.find("always, everysec, no") != std::string::npos);
  CHECK_FALSE(c.LoadText("maxmemory lots\n", "x.conf", &err));
  CHECK_FALSE(c.LoadText("dir \"unterminated\n", "x.conf", &err));
}
