// IdleAccounting: the job's idle fraction, wait time over live worker time
// since the job was created. Completed waits (barrier and clock) and the live
// time of departed workers are summed as they happen; the live workers'
// share is added when a snapshot asks, so no event scans the workers.
//
// Internal to ebsp_core. Not thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_JOB_IDLE_ACCOUNTING_H_
#define EBSP_LIB_CORE_JOB_IDLE_ACCOUNTING_H_

#include <map>

#include "absl/time/time.h"
#include "lib/core/job/worker_record.h"
#include "lib/core/types.h"

namespace ebsp::core {

class IdleAccounting {
 public:
  // A wait (barrier or clock) of `waited` ended.
  void AddWait(absl::Duration waited) { wait_total_ += waited; }
  // `worker` leaves at `now`: its live time and its wait in progress count.
  void OnDeparted(const WorkerRecord& worker, absl::Time now) {
    departed_live_time_ += now - worker.joined;
    if (worker.waiting_since.has_value()) wait_total_ += now - *worker.waiting_since;
  }
  // Waits / live time, counting `live` workers' time and waits up to `now`.
  double Fraction(const std::map<WorkerId, WorkerRecord>& live, absl::Time now) const {
    absl::Duration waited = wait_total_;
    absl::Duration lived = departed_live_time_;
    for (const auto& [id, w] : live) {
      lived += now - w.joined;
      if (w.waiting_since.has_value()) waited += now - *w.waiting_since;
    }
    return lived > absl::ZeroDuration() ? absl::FDivDuration(waited, lived) : 0.0;
  }

 private:
  absl::Duration wait_total_;
  absl::Duration departed_live_time_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_IDLE_ACCOUNTING_H_
