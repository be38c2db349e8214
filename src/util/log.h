// Logging in Redis's format: "pid:M 24 Nov 2026 18:11:58.123 * message".
// The role character is 'M' (main) for the loop thread; level marks are Redis's:
// '.' debug, '-' verbose, '*' notice, '#' warning.
#pragma once

#include <cstdarg>
#include <string>

namespace organic {

enum class LogLevel { kDebug = 0, kVerbose = 1, kNotice = 2, kWarning = 3 };

// Where and what to log. Owned by the server; the functions below take it explicitly so there
// is no hidden global logger state beyond this one process-wide sink (set once at start-up,
// before threads start).
struct LogSink {
  LogLevel min_level = LogLevel::kNotice;
  std::string path;  // empty = stdout
};

void SetLogSink(const LogSink& sink);
bool ParseLogLevel(const std::string& name, LogLevel* level);
const char* LogLevelName(LogLevel level);
void Log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace organic
