#include "clients/cpp/ebsp/outage.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ebsp::client {
namespace {

using ebsp::log::Field;

std::string SecondsText(absl::Duration d) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", absl::ToDoubleSeconds(d));
  return buffer;
}

}  // namespace

Outage::Outage(const RetryPolicy& policy, std::string job, std::string worker, LogSink log,
               absl::BitGenRef gen)
    : policy_(policy),
      job_(std::move(job)),
      worker_(std::move(worker)),
      log_(std::move(log)),
      gen_(gen),
      backoff_(policy, gen) {}

void Outage::Failed(absl::string_view method, const absl::Status& status, absl::Time now,
                    absl::Duration max_wait) {
  if (!started_.has_value()) {
    started_ = now;
    failed_attempts_ = 0;
    backoff_ = Backoff(policy_, gen_);
    Log("ebsp_client_outage_started", {{"job", job_},
                                       {"worker", worker_},
                                       {"method", method},
                                       {"status", status.ToString()},
                                       {"budget_s", SecondsText(policy_.outage_budget)}});
  }
  ++failed_attempts_;
  last_status_ = status;
  next_attempt_at_ = now + std::min(backoff_.Next(), max_wait);
}

void Outage::Answered(absl::StatusCode code, absl::Time now) {
  if (!started_.has_value()) return;
  Log("ebsp_client_outage_ended", {{"job", job_},
                                   {"worker", worker_},
                                   {"outage_s", SecondsText(now - *started_)},
                                   {"failed_attempts", failed_attempts_},
                                   {"answer", absl::StatusCodeToString(code)}});
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
  Log("ebsp_client_outage_gave_up", {{"job", job_},
                                     {"worker", worker_},
                                     {"outage_s", SecondsText(waited)},
                                     {"failed_attempts", failed_attempts_},
                                     {"method", method},
                                     {"status", last_status_.ToString()}});
  started_.reset();
  next_attempt_at_ = absl::InfinitePast();
  return error;
}

void Outage::Log(std::string_view event, std::initializer_list<Field> fields) const {
  if (!log_) {
    ebsp::log::Event(ebsp::log::Level::kWarning, event, fields);
    return;
  }
  const std::string line = ebsp::log::FormatLine(ebsp::log::Format::kText, absl::Now(),
                                                 ebsp::log::Level::kWarning, event, fields);
  log_(absl::StripSuffix(line, "\n"));
}

}  // namespace ebsp::client
