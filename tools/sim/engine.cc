#include "tools/sim/engine.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/core/clock_index.h"
#include "lib/core/job/job_state.h"
#include "lib/core/policy/policy_config.h"
#include "tools/sim/oracle_predictor.h"
#include "tools/sim/trace.h"

namespace ebsp::sim {
namespace {

using core::Effects;
using core::JobState;
using core::WorkerId;

// Virtual time zero. Any fixed instant works; the epoch reads well in logs.
constexpr absl::Time kStart = absl::UnixEpoch();
// Worker w has id kFirstId + w (ids are the caller's choice in JobState).
constexpr WorkerId kFirstId = 1;

struct WorkerSim {
  WorkerId id = 0;
  uint64_t round = 0;
  // Iterations in the current round (roundless policies: since the start);
  // the index the next report carries is this + 1.
  int64_t in_round = 0;
  uint64_t total = 0;
  // Index into the trace of the iteration in flight.
  uint64_t trace_index = 0;
  bool waiting = false;
  absl::Time wait_since;
};

struct Event {
  absl::Time end;
  int worker = 0;
  absl::Duration compute;
};

// Min-heap order: earliest end first, ties to the lower worker index.
struct LaterEvent {
  bool operator()(const Event& a, const Event& b) const {
    if (a.end != b.end) return a.end > b.end;
    return a.worker > b.worker;
  }
};

class Simulation {
 public:
  Simulation(const Trace& trace, const SimOptions& options)
      : trace_(trace), options_(options), end_(kStart + options.duration) {
    for (int w = 0; w < trace.workers(); ++w) {
      in_round_lead_.Add(0, static_cast<uint64_t>(w));
      total_lead_.Add(0, static_cast<uint64_t>(w));
    }
  }

  absl::StatusOr<SimMetrics> Run() {
    core::JobOptions job_options;
    job_options.policy = options_.policy;
    // The engine never calls Tick: a worker computing one long iteration is
    // not silent, and nothing here is meant to be evicted.
    job_options.heartbeat_timeout = options_.duration * 2 + absl::Hours(1);
    job_options.max_workers = trace_.workers();
    if (options_.oracle) {
      job_options.predictor_factory =
          MakeOracleFactory(trace_, kFirstId, options_.sync_cost, kStart);
    }
    job_ = std::make_unique<JobState>("sim", std::move(job_options), kStart);

    workers_.resize(trace_.workers());
    for (int w = 0; w < trace_.workers(); ++w) {
      WorkerSim& worker = workers_[w];
      worker.id = kFirstId + static_cast<WorkerId>(w);
      absl::StatusOr<core::RegisterResult> registered =
          job_->Register(worker.id, absl::StrCat("w", w), kStart);
      if (!registered.ok()) return CoreError("Register", w, registered.status());
      if (registered->phase != core::WorkerPhase::kRunning) {
        return absl::InternalError(
            absl::StrCat("worker ", w, " registered at the start but is not running"));
      }
      worker.round = registered->round;
      if (absl::Status s = Apply(registered->effects, kStart); !s.ok()) return s;
    }
    for (int w = 0; w < trace_.workers(); ++w) StartIteration(w, kStart);

    // Bounded by max_events: each pass handles one iteration end.
    while (!queue_.empty() && queue_.top().end <= end_) {
      if (metrics_.events >= options_.max_events) {
        return absl::ResourceExhaustedError(
            absl::StrFormat("simulation of %s under %s reached %d events at t=%s before the "
                            "end at %s; raise --max_events or shorten --duration",
                            trace_.name, options_.policy.ToString(), options_.max_events,
                            absl::FormatDuration(queue_.top().end - kStart),
                            absl::FormatDuration(options_.duration)));
      }
      const Event event = queue_.top();
      queue_.pop();
      ++metrics_.events;
      if (event.end > now_) {
        // The state at a virtual instant is the one after all its events;
        // sampling mid-instant would let the tie order inflate the lead.
        RecordLeads();
        now_ = event.end;
      }
      if (absl::Status s = EndIteration(event); !s.ok()) return s;
    }
    if (queue_.empty()) {
      // Every worker waits and nothing can release it: the core lost a
      // release. Reported, never papered over.
      return absl::InternalError(
          absl::StrFormat("simulation of %s under %s: every worker is waiting and no release "
                          "came (%d events in)",
                          trace_.name, options_.policy.ToString(), metrics_.events));
    }
    RecordLeads();
    return Finish();
  }

 private:
  absl::Status CoreError(absl::string_view call, int w, const absl::Status& status) const {
    return absl::InternalError(absl::StrCat("core rejected ", call, " of worker ", w, " under ",
                                            options_.policy.ToString(), ": ", status.ToString()));
  }

  void StartIteration(int w, absl::Time start) {
    WorkerSim& worker = workers_[w];
    const absl::Duration compute = trace_.IterationTime(w, worker.trace_index++);
    queue_.push(Event{start + compute, w, compute});
  }

  void RecordLeads() {
    metrics_.max_staleness = std::max(metrics_.max_staleness, in_round_lead_.Spread());
    metrics_.max_total_lead = std::max(metrics_.max_total_lead, total_lead_.Spread());
  }

  void BeginWait(int w, absl::Time now) {
    workers_[w].waiting = true;
    workers_[w].wait_since = now;
  }

  absl::Status EndIteration(const Event& event) {
    const int w = event.worker;
    WorkerSim& worker = workers_[w];
    const absl::Time now = event.end;
    in_round_lead_.Move(worker.in_round, worker.in_round + 1, static_cast<uint64_t>(w));
    total_lead_.Move(worker.total, worker.total + 1, static_cast<uint64_t>(w));
    ++worker.in_round;
    ++worker.total;
    ++metrics_.iterations_total;

    absl::StatusOr<core::ReportResult> report = job_->ReportIteration(
        worker.id, worker.round, static_cast<int>(worker.in_round), event.compute, now);
    if (!report.ok()) return CoreError("ReportIteration", w, report.status());
    if (absl::Status s = Apply(report->effects, now); !s.ok()) return s;

    switch (report->action) {
      case core::SyncAction::kContinue:
        StartIteration(w, now);
        return absl::OkStatus();
      case core::SyncAction::kSyncNow: {
        BeginWait(w, now);
        absl::StatusOr<Effects> arrived = job_->ArriveAtBarrier(worker.id, worker.round, now);
        if (!arrived.ok()) return CoreError("ArriveAtBarrier", w, arrived.status());
        return Apply(*arrived, now);
      }
      case core::SyncAction::kWait: {
        BeginWait(w, now);
        absl::StatusOr<Effects> waited = job_->WaitForClock(worker.id, now);
        if (!waited.ok()) return CoreError("WaitForClock", w, waited.status());
        return Apply(*waited, now);
      }
    }
    return absl::InternalError("unknown SyncAction");
  }

  absl::Status Apply(const Effects& effects, absl::Time now) {
    if (!effects.evictions.empty()) {
      return absl::InternalError(
          absl::StrCat("core evicted worker ", effects.evictions.front().name,
                       " at t=", absl::FormatDuration(now - kStart),
                       " although the simulation never lets a lease expire"));
    }
    // A release's own plan (StartRound) belongs to the round it starts.
    const int plans_before = plans_in_round_;
    if (effects.planned) ++plans_in_round_;
    for (const core::RoundSummary& round : effects.rounds_completed) {
      ++metrics_.rounds;
      metrics_.round_wait_s_total += absl::ToDoubleSeconds(round.total_wait);
      metrics_.round_predicted_wait_s_total += absl::ToDoubleSeconds(round.predicted_wait);
      if (options_.record_rounds) {
        metrics_.round_log.push_back(RoundRecord{
            round.round, absl::ToDoubleSeconds(round.began - kStart),
            absl::ToDoubleSeconds(round.released - kStart), static_cast<int>(round.members.size()),
            plans_before, absl::ToDoubleSeconds(round.predicted_wait),
            absl::ToDoubleSeconds(round.total_wait)});
      }
      plans_in_round_ = effects.planned ? 1 : 0;
    }
    for (const core::Release& release : effects.releases) {
      const int w = static_cast<int>(release.worker - kFirstId);
      if (release.worker < kFirstId || w >= trace_.workers() || !workers_[w].waiting) {
        return absl::InternalError(
            absl::StrCat("core released worker id ", release.worker,
                         " which is not waiting, at t=", absl::FormatDuration(now - kStart)));
      }
      WorkerSim& worker = workers_[w];
      worker.waiting = false;
      wait_total_ += now - worker.wait_since;
      ++metrics_.waits;
      absl::Time start = now;
      if (release.kind == core::WaitKind::kBarrier) {
        in_round_lead_.Move(worker.in_round, 0, static_cast<uint64_t>(w));
        worker.in_round = 0;
        worker.round = release.round;
        start += options_.sync_cost;
      }
      StartIteration(w, start);
    }
    return absl::OkStatus();
  }

  SimMetrics Finish() {
    absl::Duration idle = wait_total_;
    for (const WorkerSim& worker : workers_) {
      if (worker.waiting) idle += end_ - worker.wait_since;
    }
    const double seconds = absl::ToDoubleSeconds(options_.duration);
    metrics_.workers = trace_.workers();
    metrics_.throughput_iters_per_s = static_cast<double>(metrics_.iterations_total) / seconds;
    metrics_.idle_fraction = absl::ToDoubleSeconds(idle) / (seconds * trace_.workers());
    metrics_.mean_wait_s = metrics_.waits == 0 ? 0
                                               : absl::ToDoubleSeconds(wait_total_) /
                                                     static_cast<double>(metrics_.waits);
    return metrics_;
  }

  const Trace& trace_;
  const SimOptions& options_;
  const absl::Time end_;
  absl::Time now_ = kStart;
  std::unique_ptr<JobState> job_;
  std::vector<WorkerSim> workers_;
  std::priority_queue<Event, std::vector<Event>, LaterEvent> queue_;
  // Fastest minus slowest of the workers' counts (the core's ClockIndex).
  core::ClockIndex in_round_lead_;
  core::ClockIndex total_lead_;
  absl::Duration wait_total_;
  SimMetrics metrics_;
  // Events that ran ZipLine since the current round began.
  int plans_in_round_ = 0;
};

}  // namespace

absl::StatusOr<SimMetrics> Simulate(const Trace& trace, const SimOptions& options) {
  if (absl::Status s = trace.Validate(); !s.ok()) return s;
  if (absl::Status s = options.policy.Validate(); !s.ok()) return s;
  if (options.duration <= absl::ZeroDuration() || options.duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("duration must be positive and finite, got ",
                                                   absl::FormatDuration(options.duration)));
  }
  if (options.sync_cost < absl::ZeroDuration() || options.sync_cost == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync cost must be non-negative and finite, got ",
                     absl::FormatDuration(options.sync_cost)));
  }
  if (options.max_events < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_events must be at least 1, got ", options.max_events));
  }
  if (options.oracle && options.policy.kind != core::PolicyKind::kElasticBsp) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the oracle predictor only applies to ElasticBSP, not ", options.policy.ToString()));
  }
  Simulation simulation(trace, options);
  return simulation.Run();
}

}  // namespace ebsp::sim
