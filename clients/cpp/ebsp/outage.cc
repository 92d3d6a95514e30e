#include "clients/cpp/ebsp/outage.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace ebsp::client {
namespace {

// A value as one token of a log line: quoted, inner quotes escaped.
std::string Quoted(absl::string_view value) {
  return absl::StrCat("\"", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

std::string SecondsText(absl::Duration d) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", absl::ToDoubleSeconds(d));
  return buffer;
}

}  // namespace

void LogToStderr(absl::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

Outage::Outage(const RetryPolicy& policy, std::string who, LogSink log, absl::BitGenRef gen)
    : policy_(policy),
      who_(std::move(who)),
      log_(log ? std::move(log) : LogSink(&LogToStderr)),
      gen_(gen),
      backoff_(policy, gen) {}

void Outage::Failed(absl::string_view method, const absl::Status& status, absl::Time now) {
  if (!started_.has_value()) {
    started_ = now;
    first_method_ = std::string(method);
    failed_attempts_ = 0;
    backoff_ = Backoff(policy_, gen_);
    Log("WARN", "ebsp_client_outage_started",
        absl::StrCat("method=", method, " status=", Quoted(status.ToString()),
                     " budget_s=", SecondsText(policy_.outage_budget)));
  }
  ++failed_attempts_;
  last_status_ = status;
  next_attempt_at_ = now + backoff_.Next();
}

void Outage::Answered(absl::StatusCode code, absl::Time now) {
  if (!started_.has_value()) return;
  Log("WARN", "ebsp_client_outage_ended",
      absl::StrCat("outage_s=", SecondsText(now - *started_), " failed_attempts=", failed_attempts_,
                   " answer=", absl::StatusCodeToString(code)));
  started_.reset();
  next_attempt_at_ = absl::InfinitePast();
}

bool Outage::BudgetSpent(absl::Time now) const {
  return started_.has_value() && policy_.outage_budget > absl::ZeroDuration() &&
         now - *started_ >= policy_.outage_budget;
}

absl::Duration Outage::BudgetLeft(absl::Time now) const {
  if (policy_.outage_budget <= absl::ZeroDuration()) return absl::InfiniteDuration();
  if (!started_.has_value()) return policy_.outage_budget;
  return std::max(policy_.outage_budget - (now - *started_), absl::ZeroDuration());
}

absl::Status Outage::GiveUp(absl::string_view method, absl::Time now) {
  const absl::Duration waited = started_.has_value() ? now - *started_ : absl::ZeroDuration();
  absl::Status error(last_status_.ok() ? absl::StatusCode::kUnavailable : last_status_.code(),
                     absl::StrCat(method, ": the coordinator was unreachable for ",
                                  SecondsText(waited), " s, which spent the outage budget of ",
                                  SecondsText(policy_.outage_budget), " s (", failed_attempts_,
                                  " failed attempts); last status: ", last_status_.ToString()));
  Log("WARN", "ebsp_client_outage_gave_up",
      absl::StrCat("outage_s=", SecondsText(waited), " failed_attempts=", failed_attempts_,
                   " method=", method, " status=", Quoted(last_status_.ToString())));
  started_.reset();
  next_attempt_at_ = absl::InfinitePast();
  return error;
}

void Outage::Log(absl::string_view level, absl::string_view event, absl::string_view fields) const {
  log_(absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
                    level, " ", event, " ", who_, " ", fields));
}

}  // namespace ebsp::client
