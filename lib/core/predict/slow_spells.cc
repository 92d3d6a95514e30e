#include "lib/core/predict/slow_spells.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace ebsp::core {

// ---- SpellSchedule ----------------------------------------------------------

void SpellSchedule::Adopt(const Spell& last, double period) {
  confident_ = true;
  unscheduled_.reset();
  kept_ = 0;
  anchor_ = last.start;
  schedule_ = SpellShape{period, last.window, last.factor};
}

void SpellSchedule::Found(const Spell& last, double period, double tolerance) {
  Adopt(last, period);
  // Found from this worker's own spells: others may take it.
  if (book_ != nullptr) book_->Record(timeline_, schedule_, tolerance);
}

void SpellSchedule::Forget() {
  confident_ = false;
  recent_count_ = 0;
  // A spell that came instead of the predicted one may be the first of the
  // schedule that follows (a phase that moved). On iteration counts only:
  // on compute time the miss is seen while that spell runs, and the spell
  // starts the search when it ends.
  if (exact_ && unscheduled_.has_value() && unscheduled_->start > anchor_) {
    recent_.back() = *unscheduled_;
    recent_count_ = 1;
  }
  unscheduled_.reset();
}

void SpellSchedule::OnStart(double position, double slack) {
  pending_start_ = position;
  in_spell_ = true;
  last_scheduled_ = false;
  if (!confident_) return;
  const double gap = position - anchor_;
  last_scheduled_ = std::abs(gap - schedule_.period) <= Tolerance(schedule_.period, slack);
  if (last_scheduled_) {
    ++kept_;
    // Follow a slowly drifting period; the anchor is the observed start, so
    // errors do not accumulate.
    schedule_.period = 0.5 * schedule_.period + 0.5 * gap;
    anchor_ = position;
  }
}

void SpellSchedule::OnEnd(double window, double factor, int iterations, double slack) {
  in_spell_ = false;
  const Spell spell{pending_start_, window, factor, iterations};
  if (confident_) {
    if (last_scheduled_) {
      // A spell's length is seen only to within an iteration: average.
      schedule_.window = 0.5 * (schedule_.window + window);
      schedule_.factor = factor;
    } else if (const double due = anchor_ + schedule_.period;
               exact_ && spell.start < due &&
               spell.start + window + Tolerance(schedule_.period, slack) >=
                   due + schedule_.window) {
      // A hiccup right before the scheduled spell ran into it (this spell
      // covers the whole scheduled one): the spell came (its shape, blurred
      // by the hiccup, is not learned from). Only where positions are exact:
      // on compute time, a spell that began early by more than the
      // tolerance is a moved phase more often (measured on `mix`).
      ++kept_;
      anchor_ = due;
    } else {
      // Other spells off the schedule say nothing about the scheduled ones;
      // the last one starts the search if the schedule is lost.
      unscheduled_ = spell;
    }
    // Spells as long as the period: there is no normal speed to return to.
    if (schedule_.window + Tolerance(schedule_.period, slack) >= schedule_.period) Forget();
  } else {
    for (size_t i = 0; i + 1 < recent_.size(); ++i) recent_[i] = recent_[i + 1];
    recent_.back() = spell;
    recent_count_ = std::min(recent_count_ + 1, recent_.size());
    asked_book_.reset();
    FollowInARow(slack);
  }
  if (spacings_ != nullptr) {
    // Followed also under a schedule (which may be a chance one), so that
    // losing it does not lose them.
    if (!last_scheduled_) FollowSpacings(spell, slack);
    Spacings& sp = *spacings_;
    sp.history[sp.history_next] = spell;
    sp.history_next = (sp.history_next + 1) % kSpellHistory;
    sp.history_count = std::min(sp.history_count + 1, kSpellHistory);
  }
}

void SpellSchedule::FollowInARow(double slack) {
  // Spells of one iteration (hiccups, pauses) come often at random: three
  // in a row make a schedule; longer ones, two.
  const size_t need = recent_.back().iterations > 1 && recent_[recent_.size() - 2].iterations > 1
                          ? kSpellsToLearn
                          : kShortSpellsToLearn;
  if (recent_count_ < need) return;
  const size_t first_index = recent_.size() - need;
  const Spell& first = recent_[first_index];
  const Spell& second = recent_.back();
  const double period = (second.start - first.start) / (need - 1);
  const double tolerance = Tolerance(period, slack);
  double longest = 0;
  for (size_t i = first_index; i < recent_.size(); ++i) {
    const Spell& s = recent_[i];
    longest = std::max(longest, s.window);
    if (!SpellsAlike(first.window, first.factor, s.window, s.factor, tolerance)) return;
    if (i > first_index && std::abs(s.start - recent_[i - 1].start - period) > tolerance) {
      return;
    }
  }
  if (period <= longest + 2 * tolerance) return;
  Found(second, period, tolerance);
}

void SpellSchedule::FollowSpacings(const Spell& spell, double slack) {
  Spacings& sp = *spacings_;
  for (size_t i = 0; i < sp.followed_count; ++i) {
    Spaced& spaced = sp.followed[i];
    const double tolerance = Tolerance(spaced.period, slack);
    if (std::abs(spell.start - spaced.last.start - spaced.period) > tolerance ||
        !SpellsAlike(spaced.last.window, spaced.last.factor, spell.window, spell.factor,
                     tolerance)) {
      continue;
    }
    spaced.last = spell;
    ++spaced.spells;
    // Three are evidence enough for the job's book, where chance spacings
    // of single workers are outvoted by a schedule many workers keep.
    if (spaced.spells == kSpacedSpellsToLearn - 1 && book_ != nullptr) {
      book_->Record(timeline_, SpellShape{spaced.period, spell.window, spell.factor}, tolerance);
    }
    // Under a schedule, the spacing waits for it to be lost.
    if (spaced.spells >= kSpacedSpellsToLearn && !confident_) {
      Found(spell, spaced.period, tolerance);
      return;
    }
  }
  // New spacings: this spell and the newest alike ones before it (older
  // pairs would crowd out the spacings already followed; a schedule's
  // spells are alike with one another more than with what falls between).
  size_t paired = 0;
  for (size_t k = 0; k < sp.history_count && paired < kSpacedPairs; ++k) {
    const Spell& before = sp.history[(sp.history_next + kSpellHistory - 1 - k) % kSpellHistory];
    const double period = spell.start - before.start;
    const double tolerance = Tolerance(period, slack);
    if (period <= std::max(before.window, spell.window) + 2 * tolerance ||
        !SpellsAlike(before.window, before.factor, spell.window, spell.factor, tolerance)) {
      continue;
    }
    ++paired;
    const auto followed = [&](const Spaced& s) {
      return s.last.start == spell.start && std::abs(s.period - period) <= tolerance;
    };
    if (std::any_of(sp.followed.begin(), sp.followed.begin() + sp.followed_count, followed)) {
      continue;
    }
    Spaced fresh{spell, period, 2};
    if (sp.followed_count < sp.followed.size()) {
      sp.followed[sp.followed_count++] = fresh;
      continue;
    }
    // Full: of the spacings with the fewest spells, the one whose next
    // spell is due last makes room (the others are about to be tested),
    // for a fresh one due before it; never one with more spells.
    const auto due = [](const Spaced& s) { return s.last.start + s.period; };
    Spaced* victim = &sp.followed[0];
    for (Spaced& s : sp.followed) {
      if (s.spells < victim->spells || (s.spells == victim->spells && due(s) > due(*victim))) {
        victim = &s;
      }
    }
    if (victim->spells <= fresh.spells && due(fresh) < due(*victim)) *victim = fresh;
  }
  sp.expiry = SpacedExpiry(slack);
}

double SpellSchedule::SpacedExpiry(double slack) const {
  const Spacings& sp = *spacings_;
  double earliest = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < sp.followed_count; ++i) {
    const Spaced& s = sp.followed[i];
    earliest = std::min(earliest, LateAfter(s, slack));
  }
  return earliest;
}

void SpellSchedule::Advance(double position, double slack) {
  if (confident_) {
    // The predicted spell did not come (unless, on iteration counts, a
    // spell that began before it runs on: a hiccup that ran into it, seen
    // when it ends).
    const double due = anchor_ + schedule_.period;
    if (position > due + Tolerance(schedule_.period, slack) &&
        !(exact_ && in_spell_ && pending_start_ < due)) {
      Forget();
    }
  }
  // Spacings whose next spell did not come are dropped (not while a spell
  // runs: it may be that one, seen only when it ends).
  if (in_spell_) return;
  if (spacings_ != nullptr && spacings_->followed_count > 0 && position > spacings_->expiry) {
    Spacings& sp = *spacings_;
    size_t kept = 0;
    for (size_t i = 0; i < sp.followed_count; ++i) {
      const Spaced& s = sp.followed[i];
      if (position <= LateAfter(s, slack)) {
        sp.followed[kept++] = s;
      }
    }
    sp.followed_count = kept;
    sp.expiry = SpacedExpiry(slack);
  }
  if (confident_) return;
  // The book is asked about the last spell once per change of the book
  // (not while a spell runs: its start would be taken for a miss).
  if (book_ == nullptr || recent_count_ == 0) return;
  if (asked_book_ == book_->version()) return;
  asked_book_ = book_->version();
  const Spell& last = recent_.back();
  // The worker's own tolerance without a period yet; the book's records
  // bring theirs.
  const std::optional<SpellShape> job =
      book_->Consensus(timeline_, last.window, last.factor, slack);
  if (!job.has_value()) return;
  const double tolerance = Tolerance(job->period, slack);
  // Adopted only while the next spell is still ahead, with room between.
  if (position > last.start + job->period + tolerance ||
      job->period <= last.window + 2 * tolerance) {
    return;
  }
  Adopt(last, job->period);
}

bool SpellSchedule::SlowAt(double position, double early, double late) const {
  if (!confident_) return false;
  const double since = position - anchor_;
  if (since < 0) return false;
  if (since < schedule_.window + late) return true;  // In the last scheduled spell.
  // The next predicted spell this position could fall into.
  const double k = std::floor((since + early) / schedule_.period);
  if (k < 1) return false;
  const double start = k * schedule_.period;
  return since >= start - early && since < start + schedule_.window + late;
}

// ---- SlowSpells -------------------------------------------------------------

// A spell is tested against at least this many normal compute times. (A
// full window, 16, delays every worker's first spell and measured worse at
// 10,000 workers; the wrong periods a worker that starts inside a slowdown
// records are outvoted in the job's book.)
constexpr size_t kMinNormalSamples = 4;

SlowSpells::SlowSpells(std::shared_ptr<SpellBook> book)
    : book_(std::move(book)),
      iterations_(SpellTimeline::kIterations, 0, book_.get(), /*exact=*/true),
      compute_(SpellTimeline::kCompute, kSpellPeriodTolerance, book_.get(),
               /*exact=*/false) {}

bool SlowSpells::IsSlow(absl::Duration compute) const {
  return normal_.count() >= kMinNormalSamples && normal_.median() > absl::ZeroDuration() &&
         FarAbove(compute, normal_.median(), normal_.spread());
}

void SlowSpells::EndSpell(double slack) {
  in_spell_ = false;
  const double factor =
      std::max(1.0, absl::FDivDuration(spell_compute_, spell_iterations_ * normal_.median()));
  // Positions in iterations are exact: slack half an iteration.
  iterations_.OnEnd(spell_iterations_, factor, spell_iterations_, 0.5);
  // Iterations that started in the spell were slow; the window ends between
  // the start of its last slow iteration and the start of this normal one.
  const absl::Duration window = (spell_last_start_ + compute_total_) / 2 - spell_first_compute_;
  compute_.OnEnd(absl::ToDoubleSeconds(window), factor, spell_iterations_, slack);
}

void SlowSpells::Observe(absl::Duration compute) {
  const double slack = kSpellSlackIterations * absl::ToDoubleSeconds(normal_.median());
  if (IsSlow(compute)) {
    if (!in_spell_) {
      in_spell_ = true;
      spell_first_compute_ = compute_total_;
      spell_iterations_ = 0;
      spell_compute_ = absl::ZeroDuration();
      iterations_.OnStart(static_cast<double>(iterations_seen_), 0.5);
      compute_.OnStart(absl::ToDoubleSeconds(compute_total_), slack);
    }
    spell_last_start_ = compute_total_;
    ++spell_iterations_;
    spell_compute_ += compute;
    if (spell_iterations_ > kMaxSpellIterations) {
      // A lasting change of speed: the normal window starts over from it,
      // and a schedule it was on ends with a missed spell.
      in_spell_ = false;
      normal_.Clear();
      normal_.Add(compute);
    }
  } else {
    if (in_spell_) EndSpell(slack);
    normal_.Add(compute);
  }
  compute_total_ += compute;
  ++iterations_seen_;
  iterations_.Advance(static_cast<double>(iterations_seen_), 0.5);
  compute_.Advance(absl::ToDoubleSeconds(compute_total_), slack);
}

double SlowSpells::FactorAt(bool by_iterations, double iteration, double compute) const {
  if (by_iterations) return iterations_.SlowAt(iteration, 0, 0) ? iterations_.factor() : 1.0;
  const double normal = absl::ToDoubleSeconds(normal_.median());
  return compute_.SlowAt(compute, kSpellEarlyIterations * normal, kSpellLateIterations * normal)
             ? compute_.factor()
             : 1.0;
}

double SlowSpells::NextFactor() const {
  if (!Confident()) return 1.0;
  return FactorAt(ByIterations(), static_cast<double>(iterations_seen_),
                  absl::ToDoubleSeconds(compute_total_));
}

std::optional<std::vector<double>> SlowSpells::Factors(int count) const {
  if (!Confident() || count <= 0) return std::nullopt;
  const bool by_iterations = ByIterations();
  const double normal = absl::ToDoubleSeconds(normal_.median());
  double iteration = static_cast<double>(iterations_seen_);
  double compute = absl::ToDoubleSeconds(compute_total_);
  std::vector<double> factors;
  factors.reserve(static_cast<size_t>(count));
  for (int j = 0; j < count; ++j) {
    const double factor = FactorAt(by_iterations, iteration, compute);
    factors.push_back(factor);
    // The forecast's own timeline: the next iteration starts after this one.
    iteration += 1;
    compute += normal * factor;
  }
  return factors;
}

}  // namespace ebsp::core
