#include "util/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <mutex>

namespace organic {

namespace {
std::mutex g_log_mutex;  // guards g_sink: the worker thread logs too
LogSink g_sink;
}  // namespace

void SetLogSink(const LogSink& sink) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_sink = sink;
}

bool ParseLogLevel(const std::string& name, LogLevel* level) {
  if (name == "debug") *level = LogLevel::kDebug;
  else if (name == "verbose") *level = LogLevel::kVerbose;
  else if (name == "notice") *level = LogLevel::kNotice;
  else if (name == "warning") *level = LogLevel::kWarning;
  else return false;
  return true;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kVerbose: return "verbose";
    case LogLevel::kNotice: return "notice";
    case LogLevel::kWarning: return "warning";
  }
  return "notice";
}

void Log(LogLevel level, const char* fmt, ...) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (level < g_sink.min_level) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);

  timeval tv;
  gettimeofday(&tv, nullptr);
  tm tm_now;
  localtime_r(&tv.tv_sec, &tm_now);
  char date[64];
  size_t off = strftime(date, sizeof(date), "%d %b %Y %H:%M:%S.", &tm_now);
  snprintf(date + off, sizeof(date) - off, "%03d", static_cast<int>(tv.tv_usec / 1000));
  static const char kMarks[] = ".-*#";
  FILE* out = stdout;
  bool close_after = false;
  if (!g_sink.path.empty()) {
    out = fopen(g_sink.path.c_str(), "a");
    if (out == nullptr) return;
    close_after = true;
  }
  fprintf(out, "%d:M %s %c %s\n", static_cast<int>(getpid()), date,
          kMarks[static_cast<int>(level)], msg);
  fflush(out);
  if (close_after) fclose(out);
}

}  // namespace organic
