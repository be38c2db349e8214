// The doctest runner for the integration tests (each file registers its own TEST_CASEs).
//
// The tests write to sockets the server may already have closed (that is often the point of
// the test), so SIGPIPE is ignored: such writes fail with EPIPE instead of killing the runner.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <signal.h>

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}
