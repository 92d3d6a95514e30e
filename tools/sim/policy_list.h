// The list of policies one simulator run compares, parsed from the
// --policies flag: comma-separated ParsePolicy texts, where a policy's own
// parameters may follow it after commas ("ebsp:R=15,objective=total_wait"):
// a new policy begins at each item that starts with a policy name. "all"
// stands for the default comparison set (kAllPolicies).
#ifndef EBSP_TOOLS_SIM_POLICY_LIST_H_
#define EBSP_TOOLS_SIM_POLICY_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/core/policy/policy_config.h"

namespace ebsp::sim {

inline constexpr absl::string_view kAllPolicies =
    "bsp,asp,ssp:s=3,dssp:s=3,r=12,local:H=4,ebsp:R=15,ebsp:R=15,objective=spread,"
    "ebsp:R=15,objective=total_wait,ebsp:R=15,binding=plan";

struct SimPolicy {
  // As the user wrote it; "ebsp-oracle:..." for the clairvoyant variants.
  std::string label;
  core::PolicyConfig config;
  bool oracle = false;
};

// With `add_oracles`, every ElasticBSP policy is followed by its oracle twin
// (same R and objective, clairvoyant predictor). INVALID_ARGUMENT naming the
// bad item, or for an empty list or a duplicate.
absl::StatusOr<std::vector<SimPolicy>> ParsePolicyList(absl::string_view text, bool add_oracles);

}  // namespace ebsp::sim

#endif  // EBSP_TOOLS_SIM_POLICY_LIST_H_
