// The demo's bookkeeping around its phases: splitting the --policies list,
// naming each phase's job, and the comparison table printed at the end.
#ifndef EBSP_TOOLS_DEMO_SUMMARY_H_
#define EBSP_TOOLS_DEMO_SUMMARY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/demo/policy_phase.h"

namespace ebsp::demo {

// "bsp,ebsp:R=8,objective=total_wait" -> {"bsp", "ebsp:R=8,objective=total_wait"}:
// a new policy starts at each part that begins with a policy name. Each is
// checked with ParsePolicyText; INVALID_ARGUMENT names the bad one.
absl::StatusOr<std::vector<std::string>> SplitPolicyList(absl::string_view list);

// "PREFIX-RUNID-INDEX-POLICY" with the characters a job name may not hold
// (anything but [A-Za-z0-9._-]) replaced by '_', at most 128 characters.
std::string JobName(absl::string_view prefix, absl::string_view run_id, size_t index,
                    absl::string_view policy);

// The table (policy, iterations/s, idle fraction, rounds, iterations) and,
// for every ElasticBSP phase when a BSP phase ran, its speedup over BSP.
std::string FormatSummary(const std::vector<PhaseResult>& results);

}  // namespace ebsp::demo

#endif  // EBSP_TOOLS_DEMO_SUMMARY_H_
