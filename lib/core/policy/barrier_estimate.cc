#include "lib/core/policy/barrier_estimate.h"

#include <algorithm>

namespace ebsp::core {

void BarrierEstimate::Reset(absl::Time planned) {
  entries_.clear();
  order_.clear();
  planned_ = planned;
}

void BarrierEstimate::Expect(WorkerId id, absl::Time next_report, absl::Duration min_push) {
  Remove(id);
  entries_[id] = Entry{next_report, std::max(min_push, absl::Nanoseconds(1)), next_report};
  order_.insert({next_report, id});
}

void BarrierEstimate::Remove(WorkerId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  order_.erase({it->second.next_report, id});
  entries_.erase(it);
}

int BarrierEstimate::PushOverdue(absl::Time now, int budget) {
  int moved = 0;
  // Bounded by `budget`; every moved member lands after `now`, so it is not
  // met again in this call.
  while (moved < budget && !order_.empty() && order_.begin()->first < now) {
    const WorkerId id = order_.begin()->second;
    order_.erase(order_.begin());
    Entry& entry = entries_.at(id);
    entry.next_report = now + std::max(kLatePushShare * (now - entry.promised), entry.min_push);
    order_.insert({entry.next_report, id});
    ++moved;
  }
  return moved;
}

absl::Time BarrierEstimate::Estimate() const {
  if (order_.empty()) return planned_;
  return std::max(planned_, order_.rbegin()->first);
}

const absl::Time* BarrierEstimate::Promised(WorkerId id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second.promised;
}

}  // namespace ebsp::core
