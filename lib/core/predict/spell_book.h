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
// it took from the book), so the book cannot confirm itself; a few wrong
// records (a worker's first spell cut by the job's start, chance spacings)
// are outvoted. Bounded: kSpellBookSize schedules per timeline, the newest
// kept; a record costs O(kSpellBookSize^2), a lookup O(1). One per job,
// shared by that job's predictors (the owning JobState serializes every
// call); not thread-safe.
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
  // A schedule a worker found from its own spells; `tolerance`: how far
  // positions may differ on that worker's timeline and still agree.
  void Record(SpellTimeline timeline, const SpellShape& schedule, double tolerance);

  // The job's schedule on `timeline` if the worker's spell (`window`,
  // `factor`, with the worker's `tolerance`) is like it: the largest group
  // of recorded schedules that agree with one another (periods within their
  // tolerance, spells alike), if it has at least kSpellBookQuorum members
  // and more than half of the records. nullopt otherwise.
  std::optional<SpellShape> Consensus(SpellTimeline timeline, double window, double factor,
                                      double tolerance) const;

  // Changes with every Record: a worker asks again only after it changed.
  uint64_t version() const { return version_; }

 private:
  struct Entry {
    SpellShape shape;
    double tolerance = 0;
  };
  struct Shelf {
    std::array<Entry, kSpellBookSize> entries{};  // A ring.
    size_t count = 0;
    size_t next = 0;
    // The largest agreeing group, recomputed at every Record
    // (O(kSpellBookSize^2)), so that a lookup is O(1).
    std::optional<Entry> mode;
  };
  static std::optional<Entry> ModeOf(const Shelf& shelf);

  std::array<Shelf, 2> shelves_;  // By SpellTimeline.
  uint64_t version_ = 0;
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_PREDICT_SPELL_BOOK_H_
