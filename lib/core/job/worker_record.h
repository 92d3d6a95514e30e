// What JobState keeps about one live worker. Internal to ebsp_core.
#ifndef EBSP_LIB_CORE_JOB_WORKER_RECORD_H_
#define EBSP_LIB_CORE_JOB_WORKER_RECORD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "lib/core/job/job_state.h"
#include "lib/core/predict/predictor.h"
#include "lib/core/types.h"

namespace ebsp::core {

struct WorkerRecord {
  WorkerId id = 0;
  std::string name;
  WorkerPhase phase = WorkerPhase::kRunning;
  // Iterations finished in the current round (roundless: since joining).
  int done = 0;
  int target = 0;
  uint64_t iterations_total = 0;
  // SSP: the worker's clock is clock_base + done; a joiner starts at the
  // slowest live clock so it neither stalls the others nor waits for ages.
  uint64_t clock_base = 0;
  // SSP, DSSP: the lead over the slowest clock this worker may have and still
  // start an iteration (Policy::AllowedLead); fixed while it waits.
  uint64_t allowed_lead = 0;
  absl::Duration last_compute;
  absl::Time last_seen;  // The lease runs from here.
  absl::Time joined;
  absl::Time round_start;  // When this worker's current round began.
  std::optional<absl::Time> last_report_in_round;
  // Set while a Barrier (member or pending) or WaitForClock call waits.
  std::optional<absl::Time> waiting_since;
  std::unique_ptr<IterationPredictor> predictor;
  // The idempotency key of the Register that added this worker (may be
  // empty) and what that Register answered, for its retries.
  std::string register_request_id;
  RegisterResult registered_as;
  // SSP: released from WaitForClock and not reported since; a WaitForClock
  // now is a retry of the released one.
  bool clock_released = false;

  uint64_t clock() const { return clock_base + static_cast<uint64_t>(done); }
  // SSP, DSSP: a wait ends once the slowest clock reaches this.
  uint64_t ReleaseClock() const { return clock() > allowed_lead ? clock() - allowed_lead : 0; }
  // A member of the current round (pending workers join at the next one).
  bool IsRoundMember() const { return phase != WorkerPhase::kPending; }
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_WORKER_RECORD_H_
