// What a test asks the coordinator about a job (GetJob), and a bounded wait
// for a condition on another process's state.
#ifndef EBSP_TESTS_CLIENT_CPP_SUPPORT_JOB_PROBE_H_
#define EBSP_TESTS_CLIENT_CPP_SUPPORT_JOB_PROBE_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "elasticbsp/v1/coordinator.pb.h"

namespace ebsp::testing {

absl::StatusOr<elasticbsp::v1::Job> GetJob(const std::string& target, const std::string& job);

// Checks `condition` until it holds (true) or `timeout` passes (false). The
// condition reads another process, which cannot signal us, so it is checked
// again every `every`.
bool WaitUntil(absl::FunctionRef<bool()> condition, absl::Duration timeout,
               absl::Duration every = absl::Milliseconds(20));

}  // namespace ebsp::testing

#endif  // EBSP_TESTS_CLIENT_CPP_SUPPORT_JOB_PROBE_H_
