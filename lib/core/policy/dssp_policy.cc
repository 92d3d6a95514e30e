#include "lib/core/policy/dssp_policy.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace ebsp::core {

int ChooseExtraIterations(absl::Time now, absl::Duration interval, absl::Time slowest_advance,
                          int budget) {
  if (budget <= 0 || interval <= absl::ZeroDuration() || slowest_advance <= now) return 0;
  absl::Duration remainder;
  const int64_t whole = absl::IDivDuration(slowest_advance - now, interval, &remainder);
  const int64_t needed = whole + (remainder > absl::ZeroDuration() ? 1 : 0);
  return needed <= budget ? static_cast<int>(needed) : 0;
}

uint64_t DsspPolicy::AllowedLead(const ClockReport& report, SlowestAdvance slowest_advance) const {
  const uint64_t s = static_cast<uint64_t>(config().staleness);
  const uint64_t ceiling = s + static_cast<uint64_t>(config().staleness_range);
  const uint64_t lead = report.clock - report.slowest_clock;
  if (lead <= s) return s;  // Back within SSP's bound: the next excess decides afresh.
  const uint64_t allowed = std::clamp(report.allowed_lead, s, ceiling);
  if (lead <= allowed) return allowed;
  // Past its allowed lead. It may still start iterations at leads up to the
  // ceiling: `budget` of them from here.
  if (lead > ceiling) return allowed;
  const int budget = static_cast<int>(ceiling - lead + 1);
  int extra = 0;
  if (report.predictor->HasHistory()) {
    const std::optional<absl::Time> advance = slowest_advance();
    if (advance.has_value()) {
      extra =
          ChooseExtraIterations(report.now, report.predictor->TypicalInterval(), *advance, budget);
    }
  }
  // extra = 0: allowed lead - 1, so the slowest clock's next advance
  // releases the wait.
  return lead - 1 + static_cast<uint64_t>(extra);
}

}  // namespace ebsp::core
