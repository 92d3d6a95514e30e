// ASP and SSP: no rounds and no barrier. ASP never makes a worker wait; SSP(s)
// makes a worker wait while it is more than s iterations ahead of the slowest
// live worker (its clock minus the slowest clock). DSSP (dssp_policy.h) is
// a RoundlessPolicy too. Internal to ebsp_core.
#ifndef EBSP_LIB_CORE_POLICY_ROUNDLESS_POLICIES_H_
#define EBSP_LIB_CORE_POLICY_ROUNDLESS_POLICIES_H_

#include "lib/core/policy/policy.h"

namespace ebsp::core {

// No rounds, so no targets: StartRound answers 0 for every member.
class RoundlessPolicy : public Policy {
 public:
  using Policy::Policy;
  RoundTargets StartRound(absl::Span<const RoundMember> members, absl::Time now) final {
    return RoundTargets{std::vector<int>(members.size(), 0), std::nullopt, absl::ZeroDuration(),
                        false};
  }
};

// Never waits: the base BaseLead and AllowedLead are unbounded.
class AspPolicy final : public RoundlessPolicy {
 public:
  using RoundlessPolicy::RoundlessPolicy;
};

class SspPolicy final : public RoundlessPolicy {
 public:
  using RoundlessPolicy::RoundlessPolicy;
  uint64_t BaseLead() const override { return static_cast<uint64_t>(config().staleness); }
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_ROUNDLESS_POLICIES_H_
