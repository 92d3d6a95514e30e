#include "lib/core/predict/spell_book.h"

#include <algorithm>
#include <cmath>

namespace ebsp::core {

bool SpellsAlike(double window_a, double factor_a, double window_b, double factor_b,
                 double tolerance) {
  return std::abs(window_a - window_b) <= 2 * tolerance &&
         std::max(factor_a, factor_b) <= std::min(factor_a, factor_b) * (1 + kSpellFactorTolerance);
}

namespace {

bool Agree(const SpellShape& a, const SpellShape& b, double tolerance) {
  return std::abs(a.period - b.period) <= tolerance &&
         SpellsAlike(a.window, a.factor, b.window, b.factor, tolerance);
}

}  // namespace

std::optional<SpellBook::Entry> SpellBook::ModeOf(const Shelf& shelf) {
  size_t best = 0;
  size_t best_size = 0;
  for (size_t i = 0; i < shelf.count; ++i) {
    size_t size = 0;
    for (size_t j = 0; j < shelf.count; ++j) {
      const double tolerance = std::max(shelf.entries[i].tolerance, shelf.entries[j].tolerance);
      if (Agree(shelf.entries[i].shape, shelf.entries[j].shape, tolerance)) ++size;
    }
    if (size > best_size) {
      best = i;
      best_size = size;
    }
  }
  if (best_size < static_cast<size_t>(kSpellBookQuorum) || 2 * best_size <= shelf.count) {
    return std::nullopt;
  }
  // The group around the best entry: its mean period, the entry's spell.
  const Entry& center = shelf.entries[best];
  double sum = 0;
  for (size_t j = 0; j < shelf.count; ++j) {
    const double tolerance = std::max(center.tolerance, shelf.entries[j].tolerance);
    if (Agree(center.shape, shelf.entries[j].shape, tolerance)) {
      sum += shelf.entries[j].shape.period;
    }
  }
  Entry mode = center;
  mode.shape.period = sum / static_cast<double>(best_size);
  return mode;
}

void SpellBook::Record(SpellTimeline timeline, const SpellShape& schedule, double tolerance) {
  Shelf& shelf = shelves_[static_cast<size_t>(timeline)];
  shelf.entries[shelf.next] = Entry{schedule, tolerance};
  shelf.next = (shelf.next + 1) % kSpellBookSize;
  shelf.count = std::min(shelf.count + 1, kSpellBookSize);
  shelf.mode = ModeOf(shelf);
  ++version_;
}

std::optional<SpellShape> SpellBook::Consensus(SpellTimeline timeline, double window, double factor,
                                               double tolerance) const {
  const std::optional<Entry>& mode = shelves_[static_cast<size_t>(timeline)].mode;
  if (!mode.has_value()) return std::nullopt;
  const double agreement = std::max(tolerance, mode->tolerance);
  if (!SpellsAlike(mode->shape.window, mode->shape.factor, window, factor, agreement)) {
    return std::nullopt;
  }
  return mode->shape;
}

}  // namespace ebsp::core
