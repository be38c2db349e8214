// CommandHarness: runs command handlers in-process against a real Engine in a temporary
// directory, returning the raw RESP reply bytes. No sockets, no event loop.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "commands/command_table.h"
#include "commands/scan_cursors.h"
#include "commands/server_api.h"
#include "engine/engine.h"
#include "server/config.h"

namespace organic::testing {

class FakeServerApi : public commands::ServerApi {
 public:
  explicit FakeServerApi(const commands::CommandTable* table) : table_(table) {}
  Config& config() override { return config_; }
  const commands::CommandTable& commands() const override { return *table_; }
  commands::ScanCursorTable& scan_cursors() override { return scan_cursors_; }
  void ForEachClient(const std::function<void(const commands::ClientInfo&)>&) override {}
  int KillClients(const commands::ClientKillFilter&, const commands::Session*) override {
    return 0;
  }
  std::string Info(const std::vector<std::string>&) override { return "# Server\r\n"; }
  void ResetStats() override {}
  bool RequestShutdown(ShutdownSave mode) override {
    shutdown_requested = true;
    shutdown_mode = mode;
    return true;
  }
  void OnConfigChanged(const std::string&) override {}
  int64_t start_time_ms() const override { return 0; }
  void Sleep(double) override {}
  bool shutdown_requested = false;
  ShutdownSave shutdown_mode = ShutdownSave::kDefault;

 private:
  Config config_;
  commands::ScanCursorTable scan_cursors_;
  const commands::CommandTable* table_;
};

class CommandHarness {
 public:
  CommandHarness() {
    char tmpl[] = "/tmp/organic-unit-XXXXXX";
    dir_ = mkdtemp(tmpl);
    engine::EngineOptions options;
    options.dir = dir_;
    engine_ = std::make_unique<engine::Engine>(options);
    engine_->Open();
    commands::RegisterAllCommands(&table_);
    server_ = std::make_unique<FakeServerApi>(&table_);
  }
  ~CommandHarness() {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs one command and returns its raw reply, e.g. Run({"SET", "a", "1"}) == "+OK\r\n".
  std::string Run(std::vector<std::string> args) {
    std::string out;
    protocol::ReplyBuilder reply(&out, session_.resp);
    const commands::CommandSpec* spec = table_.Resolve(args, &reply);
    if (spec != nullptr) {
      commands::CommandContext ctx{args, &reply, engine_.get(), &session_, server_.get()};
      spec->handler(ctx);
    }
    return out;
  }

  commands::Session& session() { return session_; }
  FakeServerApi& server() { return *server_; }
  engine::Engine& engine() { return *engine_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<engine::Engine> engine_;
  commands::CommandTable table_;
  std::unique_ptr<FakeServerApi> server_;
  commands::Session session_;
};

}  // namespace organic::testing
