// BarrierEstimate (late binding's incremental barrier time) against a brute
// force that recomputes everything from a plain list after every operation.
#include "lib/core/policy/barrier_estimate.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ebsp::core {
namespace {

// The same contract, computed naively: O(n) per question.
class BruteForceEstimate {
 public:
  void Reset(absl::Time planned) {
    entries_.clear();
    planned_ = planned;
  }
  void Expect(WorkerId id, absl::Time next, absl::Duration min_push) {
    entries_[id] = Entry{next, std::max(min_push, absl::Nanoseconds(1)), next};
  }
  void Remove(WorkerId id) { entries_.erase(id); }
  int PushOverdue(absl::Time now, int budget) {
    int moved = 0;
    while (moved < budget) {
      // The earliest overdue (time, id), found by a scan.
      auto earliest = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.next >= now) continue;
        if (earliest == entries_.end() ||
            std::make_pair(it->second.next, it->first) <
                std::make_pair(earliest->second.next, earliest->first)) {
          earliest = it;
        }
      }
      if (earliest == entries_.end()) break;
      Entry& e = earliest->second;
      e.next = now + std::max(kLatePushShare * (now - e.promised), e.min_push);
      ++moved;
    }
    return moved;
  }
  absl::Time Estimate() const {
    absl::Time t = planned_;
    for (const auto& [id, e] : entries_) t = std::max(t, e.next);
    return t;
  }
  const absl::Time* Promised(WorkerId id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second.promised;
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    absl::Time next;
    absl::Duration min_push;
    absl::Time promised;
  };
  std::map<WorkerId, Entry> entries_;
  absl::Time planned_ = absl::InfinitePast();
};

TEST(BarrierEstimateTest, MatchesBruteForceOverRandomOperations) {
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    auto below = [&](uint64_t n) { return rng() % n; };
    BarrierEstimate fast;
    BruteForceEstimate slow;
    const int workers = 1 + static_cast<int>(below(12));
    absl::Time now = t0;
    for (int step = 0; step < 300; ++step) {
      // Coarse times (ms) so that ties between members are frequent.
      const absl::Time at = now + absl::Milliseconds(static_cast<int64_t>(below(40)));
      const WorkerId id = 1 + below(static_cast<uint64_t>(workers));
      switch (below(10)) {
        case 0:
          if (below(8) == 0) {
            fast.Reset(at);
            slow.Reset(at);
          }
          break;
        case 1:
        case 2:
          fast.Remove(id);
          slow.Remove(id);
          break;
        case 3:
        case 4:
        case 5: {
          const absl::Duration push = absl::Milliseconds(static_cast<int64_t>(below(5)));
          fast.Expect(id, at, push);
          slow.Expect(id, at, push);
          break;
        }
        default: {
          now += absl::Milliseconds(static_cast<int64_t>(below(15)));
          const int budget = static_cast<int>(below(4));
          ASSERT_EQ(fast.PushOverdue(now, budget), slow.PushOverdue(now, budget))
              << "seed " << seed << " step " << step;
        }
      }
      ASSERT_EQ(fast.size(), slow.size()) << "seed " << seed << " step " << step;
      ASSERT_EQ(fast.Estimate(), slow.Estimate()) << "seed " << seed << " step " << step;
      for (WorkerId w = 1; w <= static_cast<WorkerId>(workers); ++w) {
        const absl::Time* a = fast.Promised(w);
        const absl::Time* b = slow.Promised(w);
        ASSERT_EQ(a == nullptr, b == nullptr) << "seed " << seed << " worker " << w;
        if (a != nullptr) {
          ASSERT_EQ(*a, *b) << "seed " << seed << " worker " << w;
        }
      }
    }
  }
}

TEST(BarrierEstimateTest, EstimateIsThePlanUntilAMemberIsExpectedLater) {
  const absl::Time t0 = absl::UnixEpoch();
  BarrierEstimate e;
  EXPECT_EQ(e.Estimate(), absl::InfinitePast());
  e.Reset(t0 + absl::Seconds(10));
  e.Expect(1, t0 + absl::Seconds(3), absl::Seconds(1));
  EXPECT_EQ(e.Estimate(), t0 + absl::Seconds(10));
  e.Expect(2, t0 + absl::Seconds(12), absl::Seconds(1));
  EXPECT_EQ(e.Estimate(), t0 + absl::Seconds(12));
  e.Remove(2);
  EXPECT_EQ(e.Estimate(), t0 + absl::Seconds(10));
  e.Remove(7);  // Unknown: ignored.
  EXPECT_EQ(e.size(), 1u);
}

TEST(BarrierEstimateTest, ALateMemberIsPushedByAShareOfItsLateness) {
  const absl::Time t0 = absl::UnixEpoch();
  BarrierEstimate e;
  e.Reset(t0 + absl::Seconds(1));
  e.Expect(1, t0 + absl::Seconds(2), absl::Milliseconds(100));
  // 2 s late: expected again a quarter of that from now.
  EXPECT_EQ(e.PushOverdue(t0 + absl::Seconds(4), 10), 1);
  EXPECT_EQ(e.Estimate(), t0 + absl::Seconds(4.5));
  // Now 4 s late against its promise: expected 1 s after now.
  EXPECT_EQ(e.PushOverdue(t0 + absl::Seconds(6), 10), 1);
  EXPECT_EQ(e.Estimate(), t0 + absl::Seconds(7));
  // What it promised is kept for the lateness measure.
  ASSERT_NE(e.Promised(1), nullptr);
  EXPECT_EQ(*e.Promised(1), t0 + absl::Seconds(2));
  e.Remove(1);
  // Late by a hair: moves by its minimum push, not by a whole interval.
  e.Expect(2, t0 + absl::Seconds(8), absl::Milliseconds(100));
  EXPECT_EQ(e.PushOverdue(t0 + absl::Seconds(8) + absl::Milliseconds(1), 10), 1);
  EXPECT_EQ(e.Estimate(), t0 + absl::Seconds(8) + absl::Milliseconds(101));
  // Not overdue: nothing moves.
  EXPECT_EQ(e.PushOverdue(t0 + absl::Seconds(8.1), 10), 0);
}

TEST(BarrierEstimateTest, PushOverdueMovesAtMostItsBudgetEarliestFirst) {
  const absl::Time t0 = absl::UnixEpoch();
  BarrierEstimate e;
  e.Reset(t0);
  for (WorkerId id = 1; id <= 5; ++id) e.Expect(id, t0 + absl::Seconds(id), absl::Seconds(1));
  EXPECT_EQ(e.PushOverdue(t0 + absl::Seconds(10), 2), 2);
  // Members 1 and 2 moved past now; 3 to 5 wait for the next call.
  EXPECT_EQ(e.PushOverdue(t0 + absl::Seconds(10), 100), 3);
  EXPECT_EQ(e.PushOverdue(t0 + absl::Seconds(10), 100), 0);
  // Member 1 was 9 s late: expected a quarter of that after now.
  EXPECT_EQ(e.Estimate(), t0 + absl::Seconds(12.25));
}

}  // namespace
}  // namespace ebsp::core
