// The doctest runner for every unit test file (each file registers its own TEST_CASEs).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
