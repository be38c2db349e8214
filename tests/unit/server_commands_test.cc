// SHUTDOWN's arguments, checked against redis-server 7.0.15: SAVE and NOSAVE exclude each other,
// ABORT goes alone (and has no shutdown to abort), NOW and FORCE are accepted.
#include <doctest/doctest.h>

#include <string>

#include "command_harness.h"

namespace organic {
namespace {

using Mode = commands::ServerApi::ShutdownSave;
using testing::CommandHarness;

const std::string kSyntax = "-ERR syntax error\r\n";

TEST_CASE("SHUTDOWN: flags and their errors") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"SHUTDOWN", "FOO"},
           {"SHUTDOWN", "SAVE", "NOSAVE"},
           {"SHUTDOWN", "NOSAVE", "now", "SAVE"},
           {"SHUTDOWN", "ABORT", "NOW"},
           {"SHUTDOWN", "NOW", "NOSAVE", "FORCE", "ABORT"}}) {
    CommandHarness h;
    CHECK(h.Run(args) == kSyntax);
    CHECK_FALSE(h.server().shutdown_requested);
  }
  CommandHarness h;
  CHECK(h.Run({"SHUTDOWN", "ABORT"}) == "-ERR No shutdown in progress.\r\n");
  CHECK(h.Run({"SHUTDOWN", "abort", "ABORT"}) == "-ERR No shutdown in progress.\r\n");
  CHECK_FALSE(h.server().shutdown_requested);

  struct Case {
    std::vector<std::string> args;
    Mode mode;
  };
  for (const Case& c : {Case{{"SHUTDOWN"}, Mode::kDefault},
                        Case{{"SHUTDOWN", "NOW", "FORCE"}, Mode::kDefault},
                        Case{{"SHUTDOWN", "save", "SAVE"}, Mode::kSave},
                        Case{{"SHUTDOWN", "NOSAVE", "NOW"}, Mode::kNoSave}}) {
    CommandHarness h2;
    CHECK(h2.Run(c.args) == "");  // no reply: the connection closes
    CHECK(h2.server().shutdown_requested);
    CHECK(h2.server().shutdown_mode == c.mode);
    CHECK(h2.session().close_after_reply);
  }
}

}  // namespace
}  // namespace organic
