// Helpers shared by the core tests: a virtual clock and a field-by-field
// equality check of JobSnapshot that says which field differs.
#ifndef EBSP_TESTS_CORE_TEST_SUPPORT_H_
#define EBSP_TESTS_CORE_TEST_SUPPORT_H_

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"

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

}  // namespace ebsp::core::testing

#endif  // EBSP_TESTS_CORE_TEST_SUPPORT_H_
