// BSP and LOCAL_STEPS: every member runs the same fixed number of iterations
// per round (1 for BSP, H for LOCAL_STEPS). Internal to ebsp_core.
#ifndef EBSP_LIB_CORE_POLICY_FIXED_TARGET_POLICY_H_
#define EBSP_LIB_CORE_POLICY_FIXED_TARGET_POLICY_H_

#include "lib/core/policy/policy.h"

namespace ebsp::core {

class FixedTargetPolicy final : public Policy {
 public:
  FixedTargetPolicy(const PolicyConfig& config, int target) : Policy(config), target_(target) {}

  RoundTargets StartRound(absl::Span<const RoundMember> members, absl::Time now) override {
    RoundTargets result;
    result.targets.assign(members.size(), target_);
    return result;
  }
  std::optional<int> JoinTarget(const RoundMember&) const override { return target_; }

 private:
  int target_;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_FIXED_TARGET_POLICY_H_
