#include "lib/log/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace ebsp::log {
namespace {

std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
std::atomic<int> format{static_cast<int>(Format::kText)};

absl::Mutex sink_mu;
// Serializes writers, so a line longer than PIPE_BUF is not interleaved.
std::function<void(std::string_view)>* test_sink ABSL_GUARDED_BY(sink_mu) = nullptr;

const char* TextName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarning:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "INFO";
}

const char* JsonName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

// JSON string body (RFC 8259): quotes, backslashes and control characters escaped.
void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

// logfmt: bare when the value has no space, quote, '=' or control character
// and is not empty; otherwise quoted with the JSON escapes (one line always).
void AppendTextValue(std::string& out, std::string_view s) {
  bool bare = !s.empty();
  for (unsigned char c : s) {
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out.append(s);
  } else {
    AppendJsonString(out, s);
  }
}

void WriteAll(std::string_view line) {
  // One write(2) per line; retried only for the rest of a partial write.
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr closed: nowhere to report it
    line.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string FormatLine(Format fmt, absl::Time time, Level level, std::string_view event,
                       std::initializer_list<Field> fields) {
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  std::string out;
  if (fmt == Format::kJson) {
    out = absl::StrCat("{\"ts\":\"", ts, "\",\"level\":\"", JsonName(level), "\",\"event\":");
    AppendJsonString(out, event);
    for (const Field& f : fields) {
      out.push_back(',');
      AppendJsonString(out, f.key);
      out.push_back(':');
      if (f.json_literal) {
        out.append(f.value);
      } else {
        AppendJsonString(out, f.value);
      }
    }
    out += "}\n";
  } else {
    out = absl::StrCat(ts, " ", TextName(level), " ");
    AppendTextValue(out, event);
    for (const Field& f : fields) {
      out.push_back(' ');
      out.append(f.key);
      out.push_back('=');
      AppendTextValue(out, f.value);
    }
    out.push_back('\n');
  }
  return out;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

void Event(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const std::string line = FormatLine(static_cast<Format>(format.load(std::memory_order_relaxed)),
                                      absl::Now(), level, event, fields);
  absl::MutexLock lock(&sink_mu);
  if (test_sink != nullptr) {
    (*test_sink)(line);
  } else {
    WriteAll(line);
  }
}

void SetMinLevel(Level level) { min_level.store(static_cast<int>(level)); }
void SetFormat(Format f) { format.store(static_cast<int>(f)); }

absl::StatusOr<Level> ParseLevel(std::string_view text) {
  const std::string t = absl::AsciiStrToLower(std::string(text));
  if (t == "debug") return Level::kDebug;
  if (t == "info") return Level::kInfo;
  if (t == "warning" || t == "warn") return Level::kWarning;
  if (t == "error") return Level::kError;
  return absl::InvalidArgumentError(absl::StrCat("log level \"", std::string(text),
                                                 "\" is not one of debug, info, warning, error"));
}

absl::StatusOr<Format> ParseFormat(std::string_view text) {
  const std::string t = absl::AsciiStrToLower(std::string(text));
  if (t == "text") return Format::kText;
  if (t == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log format \"", std::string(text), "\" is not one of text, json"));
}

void SetSinkForTest(std::function<void(std::string_view line)> sink) {
  absl::MutexLock lock(&sink_mu);
  delete test_sink;
  test_sink = sink ? new std::function<void(std::string_view)>(std::move(sink)) : nullptr;
}

}  // namespace ebsp::log
