// ebsp::log: one line per rare event (job created, worker evicted, barrier
// deadline passed, shutdown), to stderr, as text or as JSON.
//
//   #include "lib/log/log.h"
//   ebsp::log::Event(ebsp::log::Level::kInfo, "worker_evicted",
//                    {{"job", job}, {"worker", name}, {"reason", "lease_expired"},
//                     {"silence_s", 12.3}});
//
// text: 2026-12-01T04:00:00.123Z INFO worker_evicted job=a worker=b reason=lease_expired ...
// json: {"ts":"2026-12-01T04:00:00.123Z","level":"info","event":"worker_evicted","job":"a",...}
//
// Never call it on the per-iteration path (ReportIteration, Barrier arrivals):
// it takes a process-wide mutex and makes one write(2) per line.
//
// Thread-safe. The level and format are process-wide (set once from the
// --log_level / --log_format flags, lib/log/log_flags.h). Why our own and not
// spdlog or glog: docs/logging.md.
#ifndef EBSP_LIB_LOG_LOG_H_
#define EBSP_LIB_LOG_LOG_H_

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ebsp::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class Format { kText, kJson };

// One key=value pair of an event. The value is text (std::string,
// std::string_view, const char*, absl::string_view), a number, a bool or an
// absl::Duration (written as Abseil prints it, "1.5s"), converted once, here.
struct Field {
  template <typename T>
  Field(std::string_view k, const T& v)
      : key(k), value(ToText(v)), json_literal(IsJsonLiteral(v)) {}
  std::string_view key;
  std::string value;
  // A bool or a finite number: written without quotes in JSON.
  bool json_literal;

 private:
  template <typename T>
  static bool IsJsonLiteral(const T& v) {
    if constexpr (std::is_floating_point_v<T>) {
      return v == v && v - v == 0;  // not NaN, not infinite
    } else {
      return std::is_arithmetic_v<T>;
    }
  }
  template <typename T>
  static std::string ToText(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else if constexpr (std::is_same_v<T, char>) {
      static_assert(!std::is_same_v<T, char>, "pass a char as a string");
    } else if constexpr (std::is_arithmetic_v<T>) {
      return absl::StrCat(v);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      return std::string(std::string_view(v));
    } else if constexpr (std::is_convertible_v<const T&, absl::string_view>) {
      return std::string(absl::string_view(v));
    } else if constexpr (std::is_same_v<T, absl::Duration>) {
      return absl::FormatDuration(v);
    } else {
      static_assert(std::is_same_v<T, bool>, "unsupported log field value type");
    }
  }
};

// Writes one line for `event` if `level` passes the filter.
void Event(Level level, std::string_view event, std::initializer_list<Field> fields = {});

// True when an event at `level` would be written: lets a caller skip building
// expensive fields (a list of missing worker names) for a filtered event.
bool Enabled(Level level);

void SetMinLevel(Level level);
void SetFormat(Format format);

// "debug", "info", "warning" (or "warn"), "error"; "text", "json".
absl::StatusOr<Level> ParseLevel(std::string_view text);
absl::StatusOr<Format> ParseFormat(std::string_view text);

// The line (with its trailing newline) that Event writes; pure, for tests.
std::string FormatLine(Format format, absl::Time time, Level level, std::string_view event,
                       std::initializer_list<Field> fields);

// Replaces the stderr writer (nullptr restores it). Tests only.
void SetSinkForTest(std::function<void(std::string_view line)> sink);

}  // namespace ebsp::log

#endif  // EBSP_LIB_LOG_LOG_H_
