// A simulated training worker for the client tests: sleeps a fixed compute
// time per iteration (that is its work), reports it, and follows the
// directives, recording what the coordinator told it.
#ifndef EBSP_TESTS_CLIENT_CPP_SUPPORT_WORKER_LOOP_H_
#define EBSP_TESTS_CLIENT_CPP_SUPPORT_WORKER_LOOP_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/client.h"

namespace ebsp::testing {

struct WorkerRecord {
  absl::Status error;          // First failure, if any.
  int syncs = 0;               // Barriers passed.
  int syncs_since_rejoin = 0;  // Barriers passed since the last re-registration.
  int reregistrations = 0;
  int64_t iterations = 0;        // Iterations counted by the coordinator.
  std::vector<uint64_t> rounds;  // The round each Sync returned.
  std::vector<int> targets;      // Target of each round when sync_now came.
  // Rounds whose iteration count differed from the target then in force.
  int target_mismatches = 0;
  absl::Duration clock_wait = absl::ZeroDuration();
};

// Runs until `done(record)` holds, an error, or `deadline`; then leaves the
// job (so that the others' barriers stop waiting for it) and returns.
// `on_sync` (may be empty) is told after every barrier.
WorkerRecord RunWorker(ebsp::client::Client& client, absl::Duration compute,
                       const std::function<bool(const WorkerRecord&)>& done, absl::Time deadline,
                       const std::function<void(const WorkerRecord&)>& on_sync = {});

}  // namespace ebsp::testing

#endif  // EBSP_TESTS_CLIENT_CPP_SUPPORT_WORKER_LOOP_H_
