#include "lib/core/job/round_barrier.h"

namespace ebsp::core {

void RoundBarrier::OnRemoved(const WorkerRecord& worker, bool rounds) {
  if (worker.phase == WorkerPhase::kPending) --pending_workers_;
  if (worker.phase == WorkerPhase::kAtBarrier) --arrived_members_;
  if (worker.IsRoundMember() && worker.done > 0 && rounds) --members_with_progress_;
}

void RoundBarrier::Advance(absl::Time now) {
  ++round_;
  ++completed_;
  began_ = now;
  pending_workers_ = 0;
  arrived_members_ = 0;
  members_with_progress_ = 0;
}

void RoundBarrier::ResetToRoundZero(absl::Time now) {
  round_ = 0;
  began_ = now;
}

RoundMember ViewOf(const WorkerRecord& w) {
  RoundMember v;
  v.id = w.id;
  v.done = w.done;
  v.target = w.target;
  const bool at_barrier = w.phase == WorkerPhase::kAtBarrier;
  v.pinned = at_barrier || (w.done > 0 && w.done >= w.target);
  v.pinned_at = at_barrier ? w.waiting_since.value_or(w.round_start)
                           : w.last_report_in_round.value_or(w.round_start);
  v.round_start = w.round_start;
  v.last_report = w.last_report_in_round;
  v.predictor = w.predictor.get();
  return v;
}

std::vector<RoundMember> ViewsOf(const std::vector<WorkerRecord*>& members) {
  std::vector<RoundMember> views;
  views.reserve(members.size());
  for (const WorkerRecord* w : members) views.push_back(ViewOf(*w));
  return views;
}

}  // namespace ebsp::core
