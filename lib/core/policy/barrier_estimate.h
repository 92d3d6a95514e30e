// BarrierEstimate: late binding's running estimate of when the current
// round's barrier will release (docs/planning.md), kept incrementally so that
// every report costs O(log n) (plus at most a bounded number of late members
// moved, each O(log n)), never a re-plan of the whole round.
//
// It holds, per running member, the expected arrival of its next report (an
// upper estimate: point forecast plus the member's spread) in one ordered
// set; the estimate T is the latest of them, or the round's planned barrier
// time if that is later. A member whose expected report is already past is
// late: its expectation moves to now + max(kLatePushShare x its lateness
// against what it promised, its minimum push). The expectation grows
// geometrically with the lateness, so a straggler is followed in a
// logarithmic number of moves, while a member late by a hair moves by a hair
// (a full interval, or the full lateness, would let the jitter of a thousand
// fast members push T past the slowest one's real arrival round after round).
//
// Owned by ElasticBspPolicy; internal to ebsp_core. Not thread-safe.
#ifndef EBSP_LIB_CORE_POLICY_BARRIER_ESTIMATE_H_
#define EBSP_LIB_CORE_POLICY_BARRIER_ESTIMATE_H_

#include <cstddef>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "lib/core/types.h"

namespace ebsp::core {

// Measured on the simulator (tools/sim/README.md): a late member expected
// its full lateness later overshoots (mix, 1,000 workers: 0.74 of ASP's
// throughput against 0.81); a quarter and nothing but the minimum push
// measure the same, on every trace.
inline constexpr double kLatePushShare = 0.25;

class BarrierEstimate {
 public:
  // Forgets every member; T is at least `planned` until the next Reset.
  void Reset(absl::Time planned);

  // Sets `id`'s expected next report, replacing any earlier one. A late
  // member moves by at least `min_push` (positive). O(log n).
  void Expect(WorkerId id, absl::Time next_report, absl::Duration min_push);

  // Forgets `id` (it synchronized, left or was evicted); unknown ids are
  // ignored. O(log n).
  void Remove(WorkerId id);

  // Moves the expectations that are before `now`, earliest first, at most
  // `budget` of them; returns how many moved. O(moved x log n). The rest
  // move at later calls (the next reports).
  int PushOverdue(absl::Time now, int budget);

  // T: the latest expected report, or the planned time if later. O(1).
  absl::Time Estimate() const;

  // The expected next report of `id` as last set by Expect (not moved by
  // PushOverdue), if it has one.
  const absl::Time* Promised(WorkerId id) const;

  size_t size() const { return entries_.size(); }
  absl::Time planned() const { return planned_; }

 private:
  struct Entry {
    absl::Time next_report;
    absl::Duration min_push;
    absl::Time promised;
  };
  absl::flat_hash_map<WorkerId, Entry> entries_;
  // (expected next report, member): the same pairs as entries_, ordered.
  absl::btree_set<std::pair<absl::Time, WorkerId>> order_;
  absl::Time planned_ = absl::InfinitePast();
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_POLICY_BARRIER_ESTIMATE_H_
