// Shared fixtures for unit tests that touch the file system.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace organic::testing {

// A fresh directory under /tmp, removed (with its files) at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/organic_unit_XXXXXX";
    char* dir = ::mkdtemp(tmpl);
    REQUIRE(dir != nullptr);
    path_ = dir;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads a whole file with the standard library, independent of the code under test.
inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace organic::testing
