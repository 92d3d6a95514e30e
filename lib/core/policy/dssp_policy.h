// DSSP, Dynamic Stale Synchronous Parallel (Zhao, An, Liu, Chen, ICDCS 2019,
// arXiv 1908.11848): SSP whose threshold is chosen at run time within
// [s, s + r_max] (PolicyConfig::staleness, PolicyConfig::staleness_range).
//
// A worker whose lead over the slowest clock is at most its allowed lead
// (s to begin with) continues. When a report takes it past that, the policy
// decides how many more iterations r it may run: with the reporter finishing
// one iteration every I_f (its predictor) from now, and the slowest clock
// predicted to advance at T_s, r is the fewest iterations after which the
// reporter is predicted not to wait (now + r I_f >= T_s), if that is at most
// the budget left under s + r_max; otherwise r = 0. It then continues r
// iterations (its allowed lead rises by r) or, with r = 0, waits until the
// slowest clock advances. A worker back within s starts again from s.
// docs/dssp.md says where this differs from the paper.
//
// Internal to ebsp_core. Stateless: the job stores each worker's allowed lead.
#ifndef EBSP_LIB_CORE_POLICY_DSSP_POLICY_H_
#define EBSP_LIB_CORE_POLICY_DSSP_POLICY_H_

#include <cstdint>

#include "absl/time/time.h"
#include "lib/core/policy/policy.h"
#include "lib/core/policy/roundless_policies.h"

namespace ebsp::core {

// DSSP's choice of r: the fewest extra iterations, at most `budget`, after
// which a worker reporting at `now` and taking `interval` per iteration is
// predicted to finish no earlier than `slowest_advance`; 0 (wait now) when
// no r <= budget does, when the interval is not positive, or when the slowest
// is predicted to have advanced already (its wait is then predicted zero).
// O(1).
int ChooseExtraIterations(absl::Time now, absl::Duration interval, absl::Time slowest_advance,
                          int budget);

class DsspPolicy final : public RoundlessPolicy {
 public:
  using RoundlessPolicy::RoundlessPolicy;
  uint64_t BaseLead() const override { return static_cast<uint64_t>(config().staleness); }
  // O(1), plus one call of `slowest_advance` when the reporter passes its
  // allowed lead and has budget left.
  uint64_t AllowedLead(const ClockReport& report, SlowestAdvance slowest_advance) const override;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_DSSP_POLICY_H_
