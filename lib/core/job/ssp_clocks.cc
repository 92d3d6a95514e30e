#include "lib/core/job/ssp_clocks.h"

namespace ebsp::core {

void SspClocks::Leave(const WorkerRecord& worker) {
  index_.Remove(worker.clock(), worker.id);
  if (worker.phase == WorkerPhase::kWaitingClock) {
    waiters_.erase({worker.ReleaseClock(), worker.id});
  }
}

std::vector<WorkerId> SspClocks::TakeReleased() {
  std::vector<WorkerId> released;
  const std::optional<uint64_t> slowest = index_.Slowest();
  if (!slowest.has_value()) return released;
  // Waiters sorted by release clock: the ones released are a prefix.
  while (!waiters_.empty() && waiters_.begin()->first <= *slowest) {
    released.push_back(waiters_.begin()->second);
    waiters_.erase(waiters_.begin());
  }
  return released;
}

}  // namespace ebsp::core
