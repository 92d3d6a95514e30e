#include "lib/core/predict/spell_book.h"

#include <algorithm>
#include <cmath>

namespace ebsp::core {

bool SpellsAlike(double window_a, double factor_a, double window_b, double factor_b,
                 double tolerance) {
  return std::abs(window_a - window_b) <= 2 * tolerance &&
         std::max(factor_a, factor_b) <= std::min(factor_a, factor_b) * (1 + kSpellFactorTolerance);
}

void SpellBook::Record(SpellTimeline timeline, const SpellShape& schedule) {
  Shelf& shelf = shelves_[static_cast<size_t>(timeline)];
  shelf.schedules[shelf.next] = schedule;
  shelf.next = (shelf.next + 1) % kSpellBookSize;
  shelf.count = std::min(shelf.count + 1, kSpellBookSize);
  ++version_;
}

}  // namespace ebsp::core
