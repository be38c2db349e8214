# libFuzzer targets, one per parser (docs/reliability.md, "Fuzzing"). Included by the top-level
# CMakeLists.txt; does nothing unless configured with -DORGANIC_FUZZ=ON and clang:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DORGANIC_FUZZ=ON
#   cmake --build build-fuzz --target fuzz_targets
# `make fuzz` does that and runs them (tests/fuzz/run-fuzz.sh).
if(NOT ORGANIC_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ORGANIC_FUZZ needs clang (CXX=clang++): libFuzzer comes with clang")
endif()

set(ORGANIC_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
# ASan + UBSan on everything; UBSan reports abort (a finding) instead of printing and going on.
set(ORGANIC_FUZZ_SANITIZERS address,undefined)
set(ORGANIC_FUZZ_COMMON_FLAGS -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all)

# The parsers under test and what they need, compiled with coverage instrumentation for
# libFuzzer (fuzzer-no-link) but without libFuzzer's main. Only these sources: the fuzz build
# does not depend on the server, the commands or the engine's other parts.
add_library(organic_fuzz_core STATIC
  ${PROJECT_SOURCE_DIR}/src/util/crc32c.cc
  ${PROJECT_SOURCE_DIR}/src/util/strings.cc
  ${PROJECT_SOURCE_DIR}/src/protocol/request_parser.cc
  ${PROJECT_SOURCE_DIR}/src/server/config.cc
  ${PROJECT_SOURCE_DIR}/src/engine/block_cache.cc
  ${PROJECT_SOURCE_DIR}/src/engine/bloom.cc
  ${PROJECT_SOURCE_DIR}/src/engine/key_index.cc
  ${PROJECT_SOURCE_DIR}/src/engine/manifest.cc
  ${PROJECT_SOURCE_DIR}/src/engine/mutation.cc
  ${PROJECT_SOURCE_DIR}/src/engine/sstable_builder.cc
  ${PROJECT_SOURCE_DIR}/src/engine/sstable_reader.cc
  ${PROJECT_SOURCE_DIR}/src/engine/table_record.cc
  ${PROJECT_SOURCE_DIR}/src/engine/wal_reader.cc
  ${PROJECT_SOURCE_DIR}/src/engine/wal_writer.cc
  ${ORGANIC_FUZZ_DIR}/checksum_repair.cc
)
target_include_directories(organic_fuzz_core PUBLIC ${PROJECT_SOURCE_DIR}/src ${ORGANIC_FUZZ_DIR})
target_compile_definitions(organic_fuzz_core PUBLIC ORGANIC_VERSION="${PROJECT_VERSION}")
target_compile_options(organic_fuzz_core PUBLIC ${ORGANIC_FUZZ_COMMON_FLAGS}
  -fsanitize=fuzzer-no-link,${ORGANIC_FUZZ_SANITIZERS})
target_link_options(organic_fuzz_core PUBLIC -fsanitize=${ORGANIC_FUZZ_SANITIZERS})
target_link_libraries(organic_fuzz_core PUBLIC PkgConfig::ZSTD Threads::Threads)

set(ORGANIC_FUZZ_TARGETS
  request_parser_fuzz
  inline_split_fuzz
  wal_reader_fuzz
  mutation_fuzz
  sstable_reader_fuzz
  manifest_fuzz
  config_fuzz
)
foreach(target IN LISTS ORGANIC_FUZZ_TARGETS)
  add_executable(${target} ${ORGANIC_FUZZ_DIR}/${target}.cc)
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${target} PRIVATE organic_fuzz_core)
endforeach()

# Writes the seed corpus (tests/fuzz/corpus) with the project's own writers; see
# tests/fuzz/make_seed_corpus.cc. Not a fuzz target: an ordinary program with a main.
add_executable(fuzz_seed_corpus ${ORGANIC_FUZZ_DIR}/make_seed_corpus.cc)
target_link_libraries(fuzz_seed_corpus PRIVATE organic_fuzz_core)

add_custom_target(fuzz_targets DEPENDS ${ORGANIC_FUZZ_TARGETS} fuzz_seed_corpus)
