// A bounded memory of workers that left or were evicted, so that a later
// call from one of them gets NOT_FOUND saying what happened to it instead of
// a bare "unknown worker", and a retried Leave of a worker that left is
// answered OK (its tombstone). Internal to ebsp_core.
#ifndef EBSP_LIB_CORE_JOB_DEPARTURES_H_
#define EBSP_LIB_CORE_JOB_DEPARTURES_H_

#include <cstddef>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "lib/core/types.h"

namespace ebsp::core {

// Enough to explain the errors of a whole large job's departed workers
// while keeping memory bounded under churn.
inline constexpr size_t kRememberedDepartures = 16384;

enum class DepartureKind { kLeft, kEvicted };

class Departures {
 public:
  // `why` completes "worker 7 (\"a\") <why>", e.g. "left the job".
  void Record(WorkerId id, std::string name, DepartureKind kind, std::string why);
  void Forget(WorkerId id) { by_id_.erase(id); }
  // Empty when the id is not remembered.
  std::string Explain(WorkerId id) const;
  // True if `id` is remembered as having left (not evicted).
  bool Left(WorkerId id) const;

 private:
  struct Entry {
    std::string name;
    DepartureKind kind = DepartureKind::kLeft;
    std::string why;
  };
  absl::flat_hash_map<WorkerId, Entry> by_id_;
  std::deque<WorkerId> order_;  // Oldest first; may hold forgotten ids.
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_DEPARTURES_H_
