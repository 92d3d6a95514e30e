// SspClocks: the clocks of a roundless job (ASP, SSP, DSSP) and the workers
// blocked in WaitForClock. A worker's clock is clock_base + done; a joiner
// starts at the slowest live clock. The live clocks sit in a ClockIndex (the
// one shared with the simulator); the waiters are keyed by the slowest clock
// that releases them (WorkerRecord::ReleaseClock), so the ones a release lets
// go are a prefix. O(log n) per event.
//
// Internal to ebsp_core. Not thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_JOB_SSP_CLOCKS_H_
#define EBSP_LIB_CORE_JOB_SSP_CLOCKS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "lib/core/clock_index.h"
#include "lib/core/job/worker_record.h"
#include "lib/core/types.h"

namespace ebsp::core {

class SspClocks {
 public:
  // The clock a joining worker starts at: the slowest live one (0 if none).
  uint64_t JoinClock() const { return index_.Slowest().value_or(0); }
  void Join(const WorkerRecord& worker) { index_.Add(worker.clock(), worker.id); }
  // The worker's clock moves one step, from `clock`.
  void Tick(uint64_t clock, WorkerId id) { index_.Move(clock, clock + 1, id); }
  // `worker` leaves: its clock and its wait (if any) go.
  void Leave(const WorkerRecord& worker);
  // `worker` waits until the slowest clock reaches its ReleaseClock().
  void Wait(const WorkerRecord& worker) { waiters_.emplace(worker.ReleaseClock(), worker.id); }
  // Forgets every wait (a policy change rekeys them with Wait).
  void ClearWaits() { waiters_.clear(); }

  std::optional<uint64_t> Slowest() const { return index_.Slowest(); }
  // Fastest minus slowest live clock.
  uint64_t Spread() const { return index_.Spread(); }
  // The workers at the slowest clock.
  std::vector<WorkerId> AtSlowest() const { return index_.AtSlowest(); }

  // Removes and returns the waiters the slowest live clock releases now, in
  // release-clock order.
  std::vector<WorkerId> TakeReleased();

 private:
  ClockIndex index_;
  std::set<std::pair<uint64_t, WorkerId>> waiters_;  // (release clock, id).
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_SSP_CLOCKS_H_
