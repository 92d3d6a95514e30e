#include "tests/client/cpp/support/worker_loop.h"

#include "absl/strings/str_cat.h"

namespace ebsp::testing {

WorkerRecord RunWorker(ebsp::client::Client& client, absl::Duration compute,
                       const std::function<bool(const WorkerRecord&)>& done, absl::Time deadline,
                       const std::function<void(const WorkerRecord&)>& on_sync) {
  WorkerRecord record;
  while (!done(record)) {
    if (absl::Now() > deadline) {
      record.error = absl::DeadlineExceededError(
          absl::StrCat("worker ran out of time after ", record.syncs, " syncs"));
      break;
    }
    absl::SleepFor(compute);  // The simulated iteration.
    absl::StatusOr<ebsp::client::StepResult> step = client.IterationDone(compute);
    if (!step.ok()) {
      record.error = step.status();
      break;
    }
    if (step->reregistered) {
      ++record.reregistrations;
      record.syncs_since_rejoin = 0;
      continue;
    }
    ++record.iterations;
    record.clock_wait += step->clock_wait;
    if (!step->sync_now) continue;
    record.targets.push_back(step->target);
    if (step->iteration != step->target) ++record.target_mismatches;
    absl::StatusOr<ebsp::client::SyncResult> sync = client.Sync();
    if (!sync.ok()) {
      record.error = sync.status();
      break;
    }
    if (sync->reregistered) {
      ++record.reregistrations;
      record.syncs_since_rejoin = 0;
      continue;
    }
    ++record.syncs;
    ++record.syncs_since_rejoin;
    record.rounds.push_back(sync->round);
    if (on_sync) on_sync(record);
  }
  if (absl::Status left = client.Leave(); record.error.ok() && !left.ok()) {
    record.error = left;
  }
  return record;
}

}  // namespace ebsp::testing
