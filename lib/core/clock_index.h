// ClockIndex: counters that change one step at a time, each with an id (SSP
// and DSSP clocks of workers in the job state machine, iteration counts in
// the simulator), ordered so that the slowest and the fastest are at hand.
// O(log n) per change, O(1) per read of either end, and the ids at the
// slowest value for policies that look at the workers holding the others
// back (DSSP). One implementation for everything that needs "how far ahead
// is the fastest": JobState's SSP clocks (job/ssp_clocks.h) and the
// simulator's lead trackers. Not thread-safe.
#ifndef EBSP_LIB_CORE_CLOCK_INDEX_H_
#define EBSP_LIB_CORE_CLOCK_INDEX_H_

#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace ebsp::core {

class ClockIndex {
 public:
  // Counter `id` is at `clock`. Each id is in the index at most once.
  void Add(uint64_t clock, uint64_t id) { entries_.emplace(clock, id); }
  // Counter `id` at `clock` leaves; one not in the index is ignored.
  void Remove(uint64_t clock, uint64_t id) { entries_.erase({clock, id}); }
  // Counter `id` moves from `from` to `to`.
  void Move(uint64_t from, uint64_t to, uint64_t id) {
    if (from == to) return;
    Remove(from, id);
    Add(to, id);
  }

  bool empty() const { return entries_.empty(); }
  std::optional<uint64_t> Slowest() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.begin()->first;
  }
  std::optional<uint64_t> Fastest() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.rbegin()->first;
  }
  // Fastest minus slowest; 0 when empty.
  uint64_t Spread() const {
    return entries_.empty() ? 0 : entries_.rbegin()->first - entries_.begin()->first;
  }
  // The ids at the slowest clock, in id order. O(how many are there).
  std::vector<uint64_t> AtSlowest() const {
    std::vector<uint64_t> ids;
    for (auto it = entries_.begin(); it != entries_.end() && it->first == entries_.begin()->first;
         ++it) {
      ids.push_back(it->second);
    }
    return ids;
  }

 private:
  std::set<std::pair<uint64_t, uint64_t>> entries_;  // (clock, id), in order.
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_CLOCK_INDEX_H_
