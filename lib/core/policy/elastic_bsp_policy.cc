#include "lib/core/policy/elastic_bsp_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace ebsp::core {

std::optional<ElasticBspPolicy::ColdModel> ElasticBspPolicy::SlowestWithHistory(
    absl::Span<const RoundMember> members) {
  std::optional<ColdModel> slowest;
  for (const RoundMember& m : members) {
    if (!m.predictor->HasHistory()) continue;
    const ColdModel model{m.predictor->TypicalInterval(), m.predictor->RoundOverhead(),
                          m.predictor->IntervalSpread()};
    if (!slowest.has_value() || model.interval > slowest->interval ||
        (model.interval == slowest->interval && model.overhead > slowest->overhead)) {
      slowest = model;
    }
  }
  return slowest;
}

std::optional<std::vector<absl::Time>> ElasticBspPolicy::MemberEnds(
    const RoundMember& member, absl::Time cold_anchor, const std::optional<ColdModel>& cold,
    int count, bool late) {
  if (member.predictor->HasHistory()) {
    const IterationPredictor& p = *member.predictor;
    // Late binding: straggler episodes and slow spells (plan binding keeps
    // its forecasts as they were).
    return late ? p.LateForecast(count) : p.Forecast(count);
  }
  if (!cold.has_value()) return std::nullopt;
  std::vector<absl::Time> ends;
  ends.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int j = 1; j <= count; ++j) ends.push_back(cold_anchor + j * cold->interval);
  return ends;
}

std::optional<RoundTargets> ElasticBspPolicy::RunZipLine(absl::Span<const RoundMember> members,
                                                         std::vector<WorkerForecast> forecasts) {
  // The round began when its earliest member's did (a joiner's starts later).
  absl::Time round_start = absl::InfiniteFuture();
  for (const RoundMember& m : members) round_start = std::min(round_start, m.round_start);
  absl::StatusOr<Plan> plan = PlanTargets(forecasts, config().objective, round_start);
  // The forecasts are built to satisfy PlanTargets' preconditions; a failure
  // is a bug, and keeping the current targets is the safe answer to it.
  if (!plan.ok()) return std::nullopt;
  expected_.clear();
  for (size_t i = 0; i < members.size(); ++i) {
    expected_[members[i].id] = Expected{forecasts[i].done + 1, std::move(forecasts[i].ends)};
  }
  RoundTargets result;
  result.targets = std::move(plan->targets);
  result.sync_time = plan->sync_time;
  result.predicted_wait = plan->total_wait;
  result.planned = true;
  round_planned_ = true;
  return result;
}

ElasticBspPolicy::Outlook ElasticBspPolicy::OutlookOf(const RoundMember& m) const {
  const IterationPredictor& p = *m.predictor;
  if (p.HasHistory()) return Outlook{p.NextEnd(), p.CurrentInterval(), p.IntervalSpread()};
  // Planned as the slowest member with history (there is one: the round was
  // planned).
  const ColdModel cold = cold_.value_or(ColdModel{});
  const absl::Time anchor =
      m.last_report.has_value() ? *m.last_report : m.round_start + cold.overhead;
  return Outlook{anchor + cold.interval, cold.interval, cold.spread};
}

RoundTargets ElasticBspPolicy::BindLate(absl::Span<const RoundMember> members, RoundTargets planned,
                                        absl::Duration reserve) {
  // T starts at the plan's barrier, widened by the spread of the member that
  // then arrives last: k iterations add up k spreads' worth of variance.
  absl::Time barrier = planned.sync_time.value_or(absl::InfinitePast());
  std::vector<Outlook> outlooks;
  outlooks.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    const RoundMember& m = members[i];
    outlooks.push_back(OutlookOf(m));
    const int k = planned.targets[i];
    const Expected& expected = expected_.at(m.id);
    const size_t chosen = static_cast<size_t>(k - expected.first_iteration);
    if (chosen >= expected.ends.size()) continue;  // Unreachable: k is within the forecast.
    barrier = std::max(
        barrier, expected.ends[chosen] + kBarrierSpreads * std::sqrt(k) * outlooks.back().spread);
  }
  // The barrier is expected where the plan puts it plus the lateness the
  // job's rounds usually show.
  barrier += reserve;
  estimate_.Reset(barrier);
  for (size_t i = 0; i < members.size(); ++i) {
    const Outlook& o = outlooks[i];
    const Expected& expected = expected_.at(members[i].id);
    estimate_.Expect(members[i].id, expected.ends.front() + kNextEndSpreads * o.spread,
                     kMinPushFraction * o.interval);
    int& target = planned.targets[i];
    target = std::max(1, static_cast<int>(kCommitFraction * target));
  }
  planned.sync_time = barrier;
  return planned;
}

std::optional<int> ElasticBspPolicy::BindTarget(const RoundMember& who, absl::Time now) {
  if (!late() || !round_planned_) return std::nullopt;
  const int lookahead = config().lookahead;
  estimate_.PushOverdue(now, lookahead);
  if (const absl::Time* promised = estimate_.Promised(who.id); promised != nullptr) {
    round_lateness_ = std::max(round_lateness_, now - *promised);
  }
  estimate_.Remove(who.id);
  const Outlook o = OutlookOf(who);
  if (who.done >= lookahead) return who.done;  // R reached: sync now.
  const absl::Time next_end = o.next_end + kNextEndSpreads * o.spread;
  int target = who.target;
  if (who.done >= who.target) {
    // Past its commitment: one more iteration only if it is expected to end
    // before the slowest members arrive.
    if (next_end > estimate_.Estimate()) return who.done;
    target = who.done + 1;
  }
  estimate_.Expect(who.id, next_end, kMinPushFraction * o.interval);
  return target;
}

RoundTargets ElasticBspPolicy::StartRound(absl::Span<const RoundMember> members, absl::Time now) {
  expected_.clear();
  round_planned_ = false;
  estimate_.Reset(absl::InfinitePast());
  replans_in_round_ = 0;
  const int lookahead = config().lookahead;
  const int64_t points = std::max<int64_t>(1, static_cast<int64_t>(members.size()) * lookahead);
  replans_allowed_ = static_cast<int>(
      std::clamp<int64_t>(kReplanPointBudget / points, kMinReplansPerRound, kMaxReplansPerRound));
  const std::optional<ColdModel> cold = SlowestWithHistory(members);
  cold_ = cold;
  RoundTargets bsp;
  bsp.targets.assign(members.size(), 1);
  absl::Time began = absl::InfiniteFuture();
  for (const RoundMember& m : members) began = std::min(began, m.round_start);
  if (late() && plan_began_.has_value() && began > *plan_began_ &&
      began != absl::InfiniteFuture()) {
    // A new round began: the last one's lateness counts.
    lateness_.Add(round_lateness_);
  }
  plan_began_.reset();
  round_lateness_ = absl::ZeroDuration();
  if (!cold.has_value() || members.empty()) return bsp;

  const absl::Duration reserve = lateness_.Median();
  std::vector<WorkerForecast> forecasts;
  forecasts.reserve(members.size());
  for (const RoundMember& m : members) {
    WorkerForecast f;
    f.done = 0;
    f.ends = *MemberEnds(m, m.round_start + cold->overhead, cold, lookahead, late());
    if (late()) {
      // Reserve: plan as if each member had `reserve` less time, so that
      // the fast ones can fill the lateness the job usually shows.
      const absl::Time last = f.ends.back() - reserve;
      size_t keep = 1;
      while (keep < f.ends.size() && f.ends[keep] <= last) ++keep;
      f.ends.resize(keep);
    }
    forecasts.push_back(std::move(f));
  }
  std::optional<RoundTargets> planned = RunZipLine(members, std::move(forecasts));
  if (!planned.has_value()) return bsp;
  if (!late()) return *std::move(planned);
  plan_began_ = began;
  return BindLate(members, *std::move(planned), reserve);
}

bool ElasticBspPolicy::WantsReplan(const RoundMember& who, absl::Time now) const {
  if (late()) return false;
  if (replans_in_round_ >= replans_allowed_) return false;
  auto it = expected_.find(who.id);
  if (it == expected_.end()) return false;  // No plan this round.
  const Expected& expected = it->second;
  const int index = who.done - expected.first_iteration;
  if (index < 0 || index >= static_cast<int>(expected.ends.size())) return false;
  // The drift scale: the worker's own interval, else the one it was planned with.
  absl::Duration scale = who.predictor->TypicalInterval();
  if (scale <= absl::ZeroDuration() && expected.ends.size() >= 2) {
    scale = expected.ends[1] - expected.ends[0];
  }
  if (scale <= absl::ZeroDuration()) return false;
  const absl::Duration drift = absl::AbsDuration(now - expected.ends[static_cast<size_t>(index)]);
  return drift > kReplanDriftFraction * scale;
}

std::optional<RoundTargets> ElasticBspPolicy::Replan(absl::Span<const RoundMember> members,
                                                     size_t reporter, absl::Time now) {
  if (reporter >= members.size() || replans_in_round_ >= replans_allowed_) {
    return std::nullopt;
  }
  const int lookahead = config().lookahead;
  const std::optional<ColdModel> cold = SlowestWithHistory(members);
  std::vector<WorkerForecast> forecasts;
  forecasts.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    const RoundMember& m = members[i];
    WorkerForecast f;
    if (i == reporter) {
      // Its iteration `done` ended now: it may sync now (k = done) or go on.
      f.done = m.done - 1;
      f.ends.push_back(now);
      if (std::optional<std::vector<absl::Time>> more =
              MemberEnds(m, now, cold, lookahead - m.done, false)) {
        f.ends.insert(f.ends.end(), more->begin(), more->end());
      }
    } else if (m.pinned) {
      f.done = m.done - 1;
      f.ends.push_back(m.pinned_at);
    } else {
      f.done = m.done;
      const absl::Time cold_anchor =
          m.last_report.has_value()
              ? *m.last_report
              : m.round_start + (cold.has_value() ? cold->overhead : absl::ZeroDuration());
      std::optional<std::vector<absl::Time>> ends =
          MemberEnds(m, cold_anchor, cold, lookahead - m.done, false);
      if (!ends.has_value()) return std::nullopt;  // Unreachable: the reporter had a plan.
      f.ends = *std::move(ends);
      // Its next report has not arrived by now, so it cannot end earlier:
      // a forecast already in the past moves forward as a whole.
      if (!f.ends.empty() && f.ends.front() < now) {
        const absl::Duration late = now - f.ends.front();
        for (absl::Time& end : f.ends) end += late;
      }
    }
    if (f.done < 0 || f.ends.empty()) return std::nullopt;
    forecasts.push_back(std::move(f));
  }
  std::optional<RoundTargets> planned = RunZipLine(members, std::move(forecasts));
  if (planned.has_value()) ++replans_in_round_;
  return planned;
}

}  // namespace ebsp::core
