// Helpers shared by the core tests: a virtual clock, a field-by-field
// equality check of JobSnapshot that says which field differs, and round
// members with a history for the policy tests.
#ifndef EBSP_TESTS_CORE_TEST_SUPPORT_H_
#define EBSP_TESTS_CORE_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/policy.h"
#include "lib/core/predict/predictor.h"

namespace ebsp::core::testing {

// Time only moves when a test says so.
class VirtualClock {
 public:
  absl::Time Now() const { return now_; }
  absl::Time Advance(absl::Duration d) {
    now_ += d;
    return now_;
  }

 private:
  absl::Time now_ = absl::UnixEpoch() + absl::Hours(1000);
};

bool PolicyConfigsEqual(const PolicyConfig& a, const PolicyConfig& b);

// Every field of the two snapshots, except the options' predictor_factory.
::testing::AssertionResult SnapshotsEqual(const JobSnapshot& a, const JobSnapshot& b);

std::string PhaseName(WorkerPhase phase);

// Appends to `members` a member (id = its position + 1) whose round starts at
// `start` and whose predictor of `kind` saw `reports` reports every
// `interval` in a round an hour before; `predictors` owns the predictor.
void AddSteadyMember(PredictorKind kind, absl::Duration interval, int reports, absl::Time start,
                     std::vector<std::unique_ptr<IterationPredictor>>& predictors,
                     std::vector<RoundMember>& members);

}  // namespace ebsp::core::testing

#endif  // EBSP_TESTS_CORE_TEST_SUPPORT_H_
