// SpellBook: the slow-spell schedules one job's workers have found on their
// own (slow_spells.h), so that a worker whose first spell looks like theirs
// is expected to keep their period too.
//
// Why: slowdowns that recur on a schedule usually recur on the same one
// across a job (every node checkpoints every N iterations; a co-located job
// or a monitoring agent wakes every few minutes on each of several nodes).
// A worker learns its own schedule only from its second spell on; with the
// job's schedules it can expect its second spell already. With 10,000
// workers that is most of the first minute of a job.
//
// Only schedules a worker found from its own spells are recorded (never one
// it took from the book), so the book cannot confirm itself. Bounded:
// kSpellBookSize schedules per timeline, the newest kept; a lookup is
// O(kSpellBookSize). One per job, shared by that job's predictors (the owning
// JobState serializes every call); not thread-safe.
#ifndef EBSP_LIB_CORE_PREDICT_SPELL_BOOK_H_
#define EBSP_LIB_CORE_PREDICT_SPELL_BOOK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace ebsp::core {

inline constexpr size_t kSpellBookSize = 16;
// A worker takes a period from the book only when this many recorded
// schedules with spells like its own agree on it.
inline constexpr int kSpellBookQuorum = 3;
// Spells of one schedule slow iterations alike: factors within this share
// of each other (random hiccups, heavy-tailed, rarely are).
inline constexpr double kSpellFactorTolerance = 0.25;

// Where spells are placed: the worker's iteration count, or its cumulative
// reported compute time in seconds.
enum class SpellTimeline { kIterations = 0, kCompute = 1 };

// A schedule: spells every `period`, each `window` long, slowing iterations
// by `factor` (positions in the timeline's unit).
struct SpellShape {
  double period = 0;
  double window = 0;
  double factor = 1;
};

// Two spells alike: lengths within 2 x `tolerance`, factors within
// kSpellFactorTolerance of each other.
bool SpellsAlike(double window_a, double factor_a, double window_b, double factor_b,
                 double tolerance);

class SpellBook {
 public:
  void Record(SpellTimeline timeline, const SpellShape& schedule);

  // The period that at least kSpellBookQuorum recorded schedules on
  // `timeline` with spells like (`window`, `factor`) keep, all within
  // `tolerance(period)` of their mean; nullopt if none.
  template <typename Tolerance>
  std::optional<double> Consensus(SpellTimeline timeline, double window, double factor,
                                  Tolerance tolerance) const;

  // Changes with every Record: a worker asks again only after it changed.
  uint64_t version() const { return version_; }

 private:
  struct Shelf {
    std::array<SpellShape, kSpellBookSize> schedules{};  // A ring.
    size_t count = 0;
    size_t next = 0;
  };
  std::array<Shelf, 2> shelves_;  // By SpellTimeline.
  uint64_t version_ = 0;
};

template <typename Tolerance>
std::optional<double> SpellBook::Consensus(SpellTimeline timeline, double window, double factor,
                                           Tolerance tolerance) const {
  const Shelf& shelf = shelves_[static_cast<size_t>(timeline)];
  int alike = 0;
  double sum = 0;
  for (size_t i = 0; i < shelf.count; ++i) {
    const SpellShape& s = shelf.schedules[i];
    if (SpellsAlike(s.window, s.factor, window, factor, tolerance(s.period))) {
      ++alike;
      sum += s.period;
    }
  }
  if (alike < kSpellBookQuorum) return std::nullopt;
  const double mean = sum / alike;
  for (size_t i = 0; i < shelf.count; ++i) {
    const SpellShape& s = shelf.schedules[i];
    const bool like = SpellsAlike(s.window, s.factor, window, factor, tolerance(s.period));
    const double off = s.period > mean ? s.period - mean : mean - s.period;
    if (like && off > tolerance(mean)) return std::nullopt;  // No single period.
  }
  return mean;
}

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_SPELL_BOOK_H_
