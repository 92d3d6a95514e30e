// The invariants of JobState after one event, as one function that the
// random-sequence test (job_state_random_test.cc) and the libFuzzer target
// (tests/fuzz/job_state_fuzz.cc) both check after every event: a rejected
// event changes nothing, a barrier never waits for nobody and releases only
// when every live member arrived, targets stay within the policy's bounds
// (and under late binding never move down once a worker has reported),
// SSP releases respect the staleness bound, the idle fraction is a fraction.
#ifndef EBSP_TESTS_CORE_JOB_INVARIANTS_H_
#define EBSP_TESTS_CORE_JOB_INVARIANTS_H_

#include <string>

#include "absl/status/status.h"
#include "lib/core/job/job_state.h"

namespace ebsp::core::testing {

// One event as the checker sees it: the snapshots just before and just after
// it (taken at the same time), its status and, if it succeeded, its effects.
struct CheckedEvent {
  const JobSnapshot& before;
  const JobSnapshot& after;
  const absl::Status& status;
  const Effects& effects;
};

// Empty if every invariant holds after `event` of `job` (run under
// `policy`); otherwise what broke, with the worker or round it broke for.
std::string CheckInvariants(const PolicyConfig& policy, const JobState& job,
                            const CheckedEvent& event);

}  // namespace ebsp::core::testing

#endif  // EBSP_TESTS_CORE_JOB_INVARIANTS_H_
