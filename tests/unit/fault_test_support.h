// Shared by the fault tests (wal_fault_test.cc, flush_fault_test.cc): an engine opened on a
// FaultInjectionFileSystem, and faults built in one line.
#pragma once

#include <doctest/doctest.h>

#include <cerrno>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "util/file.h"

namespace organic::testing {

using Fault = FaultInjectionFileSystem::Fault;
using FaultOp = FaultInjectionFileSystem::FaultOp;

inline std::unique_ptr<engine::Engine> OpenEngineOn(const std::string& dir, FileSystem* fs,
                                                    engine::FsyncPolicy policy, int databases,
                                                    uint64_t budget = 0) {
  engine::EngineOptions o;
  o.dir = dir;
  o.databases = databases;
  o.fsync = policy;
  o.fs = fs;
  o.memtable_budget = budget;
  o.memory_unlimited = budget == 0;
  auto e = std::make_unique<engine::Engine>(o);
  Status st = e->Open();
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  return e;
}

// A fault on calls `op` whose path contains `path`, failing `count` times (-1: until cleared).
inline Fault MakeFault(FaultOp op, int error, const std::string& path, int64_t count = -1) {
  Fault f;
  f.op = op;
  f.error = error;
  f.path_contains = path;
  f.count = count;
  return f;
}

}  // namespace organic::testing
