#include "lib/core/planner/sync_time_sweep.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ebsp::core::planner_internal {
namespace {

constexpr int32_t kNotListed = -1;
// The largest __int128 (numeric_limits need not know the type in strict mode).
constexpr __int128 kNoValue = static_cast<__int128>(~static_cast<unsigned __int128>(0) >> 1);

// Below this many workers the heap is as fast as slabs (log n is small).
constexpr int kMinWorkersForSlabs = 32;
// A slab is planned to hold about this many points per worker: enough that
// gathering it visits each worker's list for more than one point.
constexpr size_t kPlannedPointsPerWorker = 4;
// A slab this many times denser than planned means the points are far from
// evenly spread in time (an outlier stretching the range): use the heap.
constexpr size_t kDenseSlabFactor = 8;
// Buckets up to this size are left to the final insertion sort.
constexpr size_t kInsertionSortLimit = 16;

// Restores the min-heap order below `hole`. Bounded: `hole` at least doubles
// each step.
template <typename Entry>
void SiftDown(Entry* heap, size_t hole, size_t size) {
  const Entry moving = heap[hole];
  while (true) {
    size_t child = 2 * hole + 1;
    if (child >= size) break;
    if (child + 1 < size && heap[child + 1].value < heap[child].value) ++child;
    if (heap[child].value >= moving.value) break;
    heap[hole] = heap[child];
    hole = child;
  }
  heap[hole] = moving;
}

}  // namespace

void SyncTimeSweep::Reset(const FlatForecast& forecast, PlanObjective objective,
                          int64_t round_start_ns) {
  objective_ = objective;
  round_start_ = round_start_ns;
  have_best_rate_ = false;
  best_num_ = 0;
  best_den_ = 1;
  n_ = forecast.num_workers();
  covered_ = 0;
  sum_ = 0;
  exhausted_ = 0;
  exhausted_sum_ = 0;
  min_last_ = forecast.min_last();
  best_ = kNoValue;
  best_time_ = forecast.max_first();
  latest_.resize(n_);
  prev_.assign(n_ + 1, kNotListed);
  next_.resize(n_ + 1);
  prev_[n_] = n_;
  next_[n_] = n_;
  cursor_.resize(n_);
  for (int i = 0; i < n_; ++i) cursor_[i] = forecast.worker_begin(i);
}

inline void SyncTimeSweep::Advance(int32_t worker, int64_t t) {
  if (prev_[worker] == kNotListed) {
    ++covered_;
    sum_ += t;
  } else {
    sum_ += t - latest_[worker];
    next_[prev_[worker]] = next_[worker];
    prev_[next_[worker]] = prev_[worker];
  }
  latest_[worker] = t;
  const int32_t sentinel = n_;
  prev_[worker] = prev_[sentinel];
  next_[worker] = sentinel;
  next_[prev_[sentinel]] = worker;
  prev_[sentinel] = worker;
}

// Evaluates t with the points swept so far. When other workers still have
// a point equal to t ahead, this is a real choice with max t, worse than or
// as good as t's own value, which is offered once they are swept: so the
// best value and its earliest t come out right either way.
inline void SyncTimeSweep::Offer(int64_t t) {
  if (covered_ != n_) return;
  if (objective_ == PlanObjective::kIdleRate) {
    if (t <= round_start_) return;
    const __int128 num = static_cast<__int128>(n_) * t - sum_;
    const __int128 den = static_cast<__int128>(n_) * (static_cast<__int128>(t) - round_start_);
    if (!have_best_rate_ || IdleRateBelowBest(num, den)) {
      have_best_rate_ = true;
      best_num_ = num;
      best_den_ = den;
      best_time_ = t;
    }
    return;
  }
  const __int128 value = objective_ == PlanObjective::kSpread
                             ? static_cast<__int128>(t) - latest_[next_[n_]]
                             : static_cast<__int128>(n_) * t - sum_;
  if (value < best_) {
    best_ = value;
    best_time_ = t;
  }
}

inline void SyncTimeSweep::MarkExhausted(int64_t last) {
  ++exhausted_;
  exhausted_sum_ += last;
}

// True when every candidate >= t costs at least the best value so far (ties
// go to the earliest t, so they cannot win either). The worker that owns
// min_last chooses at most min_last from there on, so the spread is at least
// t - min_last; each exhausted worker waits at least t - its last point.
//
// kIdleRate: the same two lower bounds on the wait W, over n (t - start):
// each is (a t - b) / (n (t - start)) with b > a start (every point is
// after the round start), which grows with t, so it bounds every later
// candidate too.
inline bool SyncTimeSweep::NoLaterCandidateCanWin(int64_t t) const {
  if (objective_ == PlanObjective::kIdleRate) {
    if (!have_best_rate_ || t <= round_start_ || min_last_ <= round_start_) return false;
    __int128 wait = static_cast<__int128>(t) - min_last_;
    if (exhausted_ > 0 && exhausted_sum_ > static_cast<__int128>(exhausted_) * round_start_) {
      wait = std::max(wait, static_cast<__int128>(exhausted_) * t - exhausted_sum_);
    }
    const __int128 den = static_cast<__int128>(n_) * (static_cast<__int128>(t) - round_start_);
    return !IdleRateBelowBest(wait, den);
  }
  if (best_ == kNoValue) return false;
  __int128 bound = static_cast<__int128>(t) - min_last_;
  if (objective_ == PlanObjective::kTotalWait) {
    bound = std::max(bound, static_cast<__int128>(exhausted_) * t - exhausted_sum_);
  }
  return bound >= best_;
}

void SyncTimeSweep::HeapSweep(const FlatForecast& forecast) {
  const int64_t* points = forecast.points();
  heap_.resize(n_);
  for (int i = 0; i < n_; ++i) heap_[i] = Event{points[cursor_[i]], i, 0};
  for (size_t i = static_cast<size_t>(n_) / 2; i-- > 0;) SiftDown(heap_.data(), i, n_);

  size_t heap_size = n_;
  // Bounded: every inner step consumes one point.
  while (heap_size > 0) {
    const int64_t t = heap_[0].value;
    if (NoLaterCandidateCanWin(t)) break;
    do {
      const int32_t w = heap_[0].worker;
      Advance(w, t);
      const size_t c = ++cursor_[w];
      if (c < forecast.worker_begin(w + 1)) {
        heap_[0].value = points[c];
      } else {
        MarkExhausted(t);
        heap_[0] = heap_[--heap_size];
      }
      if (heap_size > 0) SiftDown(heap_.data(), 0, heap_size);
    } while (heap_size > 0 && heap_[0].value == t);
    Offer(t);
  }
}

__int128 SyncTimeSweep::ValueAtFirstCandidate(const FlatForecast& forecast) const {
  const int64_t t = forecast.max_first();
  int64_t min_latest = t;
  __int128 sum = 0;
  for (int i = 0; i < n_; ++i) {
    const absl::Span<const int64_t> points = forecast.worker(i);
    const int64_t latest = *(std::upper_bound(points.begin(), points.end(), t) - 1);
    min_latest = std::min(min_latest, latest);
    sum += latest;
  }
  return objective_ == PlanObjective::kSpread ? static_cast<__int128>(t) - min_latest
                                              : static_cast<__int128>(n_) * t - sum;
}

bool SyncTimeSweep::SlabSweep(const FlatForecast& forecast) {
  const int64_t* points = forecast.points();
  // Points after min_last + (value at the first candidate) can never be
  // chosen at a winning t (see NoLaterCandidateCanWin): leave them out, so
  // they neither cost time nor stretch the slabs.
  const int64_t lo = forecast.min_first();
  int64_t hi = forecast.max_last();
  if (objective_ != PlanObjective::kIdleRate) {
    const __int128 horizon =
        static_cast<__int128>(forecast.min_last()) + ValueAtFirstCandidate(forecast);
    if (horizon < hi) hi = static_cast<int64_t>(horizon);
  }

  size_t in_range = 0;
  active_.resize(n_);
  for (int i = 0; i < n_; ++i) {
    const absl::Span<const int64_t> mine = forecast.worker(i);
    in_range += static_cast<size_t>(std::upper_bound(mine.begin(), mine.end(), hi) - mine.begin());
    active_[i] = i;
  }
  // Offsets from lo; the range fits int64 (FlatForecast checks the span).
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  const size_t planned = kPlannedPointsPerWorker * static_cast<size_t>(n_);
  const uint64_t slabs = std::max<uint64_t>(1, in_range / planned);
  const uint64_t width = range / slabs + 1;
  const size_t buckets = planned;
  // bucket = offset * multiplier >> 32 is below `buckets` for any offset
  // below `width` (no overflow: the product stays below buckets << 32), and
  // monotone in the offset, so buckets come out in time order.
  const uint64_t multiplier =
      static_cast<uint64_t>((static_cast<unsigned __int128>(buckets) << 32) / width);
  // No slab can hold more than the points in range; beyond that, only
  // dense slabs reach the limit.
  const size_t capacity = std::min(kDenseSlabFactor * planned, in_range);
  events_.resize(capacity);
  bucket_start_.resize(buckets + 1);

  // Bounded by the number of slabs; each slab consumes its points.
  for (uint64_t k = 0; k < slabs && !active_.empty(); ++k) {
    const uint64_t slab_lo = k * width;
    if (slab_lo > range) break;  // Every point up to hi is swept.
    if (NoLaterCandidateCanWin(lo + static_cast<int64_t>(slab_lo))) break;
    const uint64_t slab_end = k + 1 == slabs ? range + 1 : std::min(slab_lo + width, range + 1);

    std::fill(bucket_start_.begin(), bucket_start_.end(), 0);
    size_t m = 0;
    for (size_t a = 0; a < active_.size();) {
      const int32_t w = active_[a];
      const size_t end = forecast.worker_begin(w + 1);
      size_t c = cursor_[w];
      // Bounded by the worker's points.
      while (c < end) {
        const uint64_t offset = static_cast<uint64_t>(points[c]) - static_cast<uint64_t>(lo);
        if (offset >= slab_end) break;
        if (m == capacity) return false;
        const uint32_t bucket = static_cast<uint32_t>(((offset - slab_lo) * multiplier) >> 32);
        events_[m++] = Event{points[c], w, bucket};
        ++bucket_start_[bucket + 1];
        ++c;
      }
      cursor_[w] = c;
      if (c == end) {
        MarkExhausted(points[c - 1]);
        active_[a] = active_.back();
        active_.pop_back();
      } else {
        ++a;
      }
    }
    if (m == 0) continue;
    SortSlab(m, buckets);
    for (size_t i = 0; i < m; ++i) {
      Advance(sorted_[i].worker, sorted_[i].value);
      Offer(sorted_[i].value);
    }
  }
  return true;
}

// A counting sort by bucket, then insertion sort inside the buckets
// (std::sort for a crowded one).
void SyncTimeSweep::SortSlab(size_t m, size_t buckets) {
  uint32_t largest = 0;
  for (size_t b = 1; b <= buckets; ++b) {
    largest = std::max(largest, bucket_start_[b]);
    bucket_start_[b] += bucket_start_[b - 1];
  }
  sorted_.resize(std::max(sorted_.size(), m));
  for (size_t i = 0; i < m; ++i) {
    const Event& e = events_[i];
    sorted_[bucket_start_[e.bucket]++] = e;
  }
  // Now bucket_start_[b] is where bucket b ends.
  const auto by_value = [](const Event& a, const Event& b) { return a.value < b.value; };
  if (largest > kInsertionSortLimit) {
    size_t begin = 0;
    for (size_t b = 0; b < buckets; ++b) {
      const size_t end = bucket_start_[b];
      if (end - begin > kInsertionSortLimit) {
        std::sort(sorted_.begin() + begin, sorted_.begin() + end, by_value);
      }
      begin = end;
    }
  }
  // Elements are out of order only within their bucket, so this moves each
  // one at most kInsertionSortLimit places.
  for (size_t i = 1; i < m; ++i) {
    const Event e = sorted_[i];
    size_t j = i;
    while (j > 0 && sorted_[j - 1].value > e.value) {
      sorted_[j] = sorted_[j - 1];
      --j;
    }
    sorted_[j] = e;
  }
}

int64_t SyncTimeSweep::FindSyncTime(const FlatForecast& forecast, PlanObjective objective,
                                    int64_t round_start_ns) {
  Reset(forecast, objective, round_start_ns);
  if (forecast.num_workers() >= kMinWorkersForSlabs && SlabSweep(forecast)) {
    last_order_ = Order::kSlabs;
    return best_time_;
  }
  return FindSyncTimeByHeap(forecast, objective, round_start_ns);
}

int64_t SyncTimeSweep::FindSyncTimeByHeap(const FlatForecast& forecast, PlanObjective objective,
                                          int64_t round_start_ns) {
  Reset(forecast, objective, round_start_ns);
  HeapSweep(forecast);
  last_order_ = Order::kHeap;
  return best_time_;
}

}  // namespace ebsp::core::planner_internal
