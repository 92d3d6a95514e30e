// RestartHold: after a coordinator restart, the names that were live before
// it and are not back yet. While any is missing and the deadline has not
// passed, the barrier of the current round does not release, so the first
// release after the restart has the membership of the last one before it
// (job_state.h, "Restart hold").
//
// Internal to ebsp_core. Not thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_JOB_RESTART_HOLD_H_
#define EBSP_LIB_CORE_JOB_RESTART_HOLD_H_

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"

namespace ebsp::core {

class RestartHold {
 public:
  // Holds until every name in `missing` registered again, or `until`.
  // Replaces any earlier hold; an empty `missing` holds nothing.
  void Start(std::vector<std::string> missing, absl::Time until) {
    awaited_.clear();
    until_.reset();
    awaited_.insert(missing.begin(), missing.end());
    if (!awaited_.empty()) until_ = until;
  }
  void Clear() { Start({}, absl::InfinitePast()); }

  // `name` registered. True if it was the last awaited name: the hold ended.
  bool OnJoined(const std::string& name) {
    if (awaited_.erase(name) == 0 || !awaited_.empty()) return false;
    until_.reset();
    return true;
  }
  // True if the deadline passed by `now` and ended the hold (the names not
  // back by then are taken as gone).
  bool ExpireAt(absl::Time now) {
    if (!until_.has_value() || now < *until_) return false;
    Clear();
    return true;
  }
  // `name` is one the hold waits for (it joins the held round as a member).
  bool Awaits(const std::string& name) const { return awaited_.count(name) > 0; }
  // The barrier may not release at `now`.
  bool Holds(absl::Time now) const { return until_.has_value() && now < *until_; }

  std::vector<std::string> awaited_names() const {
    std::vector<std::string> names(awaited_.begin(), awaited_.end());
    std::sort(names.begin(), names.end());
    return names;
  }
  const std::optional<absl::Time>& until() const { return until_; }

 private:
  absl::flat_hash_set<std::string> awaited_;
  std::optional<absl::Time> until_;  // Set iff awaited_ is not empty.
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_RESTART_HOLD_H_
