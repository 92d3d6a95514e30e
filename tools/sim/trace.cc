#include "tools/sim/trace.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/sim/rng.h"

namespace ebsp::sim {
namespace {

// Suite parameters; tools/sim/README.md documents them, keep both in step.
// Static heterogeneity: iteration-time factors dealt round-robin.
constexpr double kStaticFactors[] = {1.0, 1.3, 2.0};
// Transient stragglers: events arrive as a Poisson process on the compute
// timeline; each slows one uniformly chosen worker.
constexpr double kTransientMeanGapSeconds = 4.0;
constexpr double kTransientMinSeconds = 2.0;
constexpr double kTransientMaxSeconds = 5.0;
constexpr double kTransientFactor = 3.0;
// Periodic slowdowns: every kPeriodicEvery-th worker (0, 8, ...) is slow for
// kPeriodicSlowSeconds out of every kPeriodicPeriodSeconds, random phase.
constexpr int kPeriodicEvery = 8;
constexpr double kPeriodicPeriodSeconds = 10.0;
constexpr double kPeriodicSlowSeconds = 2.0;
constexpr double kPeriodicFactor = 3.0;
// Log-normal noise: factor exp(sigma * N(0, 1)), median 1.
constexpr double kNoiseSigma = 0.25;
// The mix: static factors, milder noise, rarer stragglers, the periodic
// slowdowns; overlapping slowdowns take the larger factor, not the product.
constexpr double kMixNoiseSigma = 0.10;
constexpr double kMixTransientMeanGapSeconds = 8.0;
// Stress trace `heavy`: every kHeavySlowEvery-th worker (0, 32, ...) is a
// permanently slower node; each worker has its own speed exp(0.05 N) and
// every iteration noise exp(0.05 N); with probability kHeavyHiccupP an
// iteration stalls for an extra Pareto(alpha 1.5, from 0.5) base iterations
// (a data-loader hiccup, capped at 100); every kHeavyPauseEvery-th iteration
// pauses kHeavyPauseFactor base iterations (evaluation, checkpoint).
constexpr int kHeavySlowEvery = 32;
constexpr double kHeavySlowFactor = 1.6;
constexpr double kHeavySpeedSigma = 0.05;
constexpr double kHeavyNoiseSigma = 0.05;
constexpr double kHeavyHiccupP = 0.03;
constexpr double kHeavyParetoAlpha = 1.5;
constexpr double kHeavyParetoMin = 0.5;
constexpr double kHeavyParetoCap = 100;
constexpr int kHeavyPauseEvery = 250;
constexpr double kHeavyPauseFactor = 15;
// Stress trace `drift`: each worker's speed exp(0.15 N) drifts as
// exp(0.3 sin(2 pi t / P + phase)), P uniform in [60 s, 240 s]; bursts arrive
// as a Poisson process (mean gap 15 s), each slowing every worker with
// probability 0.1 by 2.5x for U(1 s, 3 s) (a rack's network or storage);
// iteration noise exp(0.05 N).
constexpr double kDriftSpeedSigma = 0.15;
constexpr double kDriftAmplitude = 0.3;
constexpr double kDriftMinPeriodSeconds = 60;
constexpr double kDriftMaxPeriodSeconds = 240;
constexpr double kDriftBurstMeanGapSeconds = 15;
constexpr double kDriftBurstShare = 0.1;
constexpr double kDriftBurstFactor = 2.5;
constexpr double kDriftBurstMinSeconds = 1;
constexpr double kDriftBurstMaxSeconds = 3;
constexpr double kDriftNoiseSigma = 0.05;

// Shortest iteration a generated trace holds; keeps virtual time moving.
constexpr absl::Duration kMinIteration = absl::Microseconds(1);
// Memory bound on a generated trace (16 bytes per iteration): 400 MB.
constexpr size_t kMaxTraceIterations = 25'000'000;

// Derives independent streams from one seed (SplitMix64 finalizer).
uint64_t StreamSeed(uint64_t seed, TraceKind kind, uint64_t stream) {
  uint64_t z = seed ^ (static_cast<uint64_t>(kind) + 1) * 0x9E3779B97F4A7C15ULL;
  z += (stream + 1) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

struct Window {
  double begin = 0;
  double end = 0;
  double factor = 1;
};

// Slowdown windows of every worker, on its own compute timeline (seconds).
using Windows = std::vector<std::vector<Window>>;

void AddTransientWindows(Rng& rng, double mean_gap, double length, Windows& windows) {
  const int workers = static_cast<int>(windows.size());
  // Bounded: each step advances by a positive gap (Exponential never returns
  // 0 for Uniform() < 1), and `length` is finite.
  for (double t = rng.Exponential(mean_gap); t < length; t += rng.Exponential(mean_gap)) {
    const int worker = static_cast<int>(rng.Below(workers));
    const double span = rng.Uniform(kTransientMinSeconds, kTransientMaxSeconds);
    windows[worker].push_back({t, t + span, kTransientFactor});
  }
}

void AddPeriodicWindows(Rng& rng, double length, Windows& windows) {
  for (size_t w = 0; w < windows.size(); w += kPeriodicEvery) {
    const double phase = rng.Uniform(0, kPeriodicPeriodSeconds);
    for (double t = phase - kPeriodicPeriodSeconds; t < length; t += kPeriodicPeriodSeconds) {
      windows[w].push_back({t, t + kPeriodicSlowSeconds, kPeriodicFactor});
    }
  }
}

void AddBurstWindows(Rng& rng, double length, Windows& windows) {
  // Bounded as AddTransientWindows.
  for (double t = rng.Exponential(kDriftBurstMeanGapSeconds); t < length;
       t += rng.Exponential(kDriftBurstMeanGapSeconds)) {
    const double span = rng.Uniform(kDriftBurstMinSeconds, kDriftBurstMaxSeconds);
    for (std::vector<Window>& w : windows) {
      if (rng.Uniform() < kDriftBurstShare) w.push_back({t, t + span, kDriftBurstFactor});
    }
  }
}

double SlowdownAt(const std::vector<Window>& windows, double t) {
  double factor = 1;
  for (const Window& window : windows) {
    if (window.begin <= t && t < window.end) {
      factor = std::max(factor, window.factor);
    }
  }
  return factor;
}

}  // namespace

absl::Status Trace::Validate() const {
  if (compute.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("trace '", name, "' has no workers"));
  }
  for (size_t w = 0; w < compute.size(); ++w) {
    if (compute[w].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace '", name, "': worker ", w, " has no iterations"));
    }
    for (size_t i = 0; i < compute[w].size(); ++i) {
      const absl::Duration d = compute[w][i];
      if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
        return absl::InvalidArgumentError(
            absl::StrCat("trace '", name, "': worker ", w, " iteration ", i, " has compute time ",
                         absl::FormatDuration(d), ", expected positive and finite"));
      }
    }
  }
  return absl::OkStatus();
}

absl::string_view TraceKindName(TraceKind kind) {
  switch (kind) {
    case TraceKind::kStatic:
      return "static";
    case TraceKind::kTransient:
      return "transient";
    case TraceKind::kPeriodic:
      return "periodic";
    case TraceKind::kNoise:
      return "noise";
    case TraceKind::kMix:
      return "mix";
    case TraceKind::kHeavy:
      return "heavy";
    case TraceKind::kDrift:
      return "drift";
  }
  return "unknown";
}

absl::StatusOr<TraceKind> ParseTraceKind(absl::string_view name) {
  for (TraceKind kind : kAllTraceKinds) {
    if (TraceKindName(kind) == name) return kind;
  }
  for (TraceKind kind : kStressTraceKinds) {
    if (TraceKindName(kind) == name) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown trace '", name,
                   "', expected static, transient, periodic, noise, mix, heavy or drift"));
}

absl::StatusOr<Trace> MakeSuiteTrace(TraceKind kind, const SuiteOptions& options) {
  if (options.workers < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("workers must be at least 1, got ", options.workers));
  }
  if (options.length <= absl::ZeroDuration() || options.length == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("trace length must be positive and finite, got ",
                                                   absl::FormatDuration(options.length)));
  }
  if (options.base_iteration < kMinIteration ||
      options.base_iteration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("base iteration must be at least 1us and finite, got ",
                     absl::FormatDuration(options.base_iteration)));
  }
  const int workers = options.workers;
  const double length = absl::ToDoubleSeconds(options.length);
  const double base = absl::ToDoubleSeconds(options.base_iteration);

  const bool heterogeneous = kind == TraceKind::kStatic || kind == TraceKind::kMix;
  double sigma = 0;
  if (kind == TraceKind::kNoise) sigma = kNoiseSigma;
  if (kind == TraceKind::kMix) sigma = kMixNoiseSigma;

  Windows windows(workers);
  Rng event_rng(StreamSeed(options.seed, kind, 0));
  if (kind == TraceKind::kTransient) {
    AddTransientWindows(event_rng, kTransientMeanGapSeconds, length, windows);
  }
  if (kind == TraceKind::kMix) {
    AddTransientWindows(event_rng, kMixTransientMeanGapSeconds, length, windows);
  }
  if (kind == TraceKind::kPeriodic || kind == TraceKind::kMix) {
    AddPeriodicWindows(event_rng, length, windows);
  }
  if (kind == TraceKind::kDrift) AddBurstWindows(event_rng, length, windows);

  Trace trace;
  trace.name = std::string(TraceKindName(kind));
  trace.compute.resize(workers);
  size_t generated = 0;
  for (int w = 0; w < workers; ++w) {
    // One noise stream per worker: worker w's trace does not depend on how
    // many workers come after it.
    Rng noise_rng(StreamSeed(options.seed, kind, 1 + static_cast<uint64_t>(w)));
    double speed = heterogeneous ? kStaticFactors[w % 3] : 1.0;
    double drift_period = 0;
    double drift_phase = 0;
    if (kind == TraceKind::kHeavy) {
      speed = std::exp(kHeavySpeedSigma * noise_rng.Normal()) *
              (w % kHeavySlowEvery == 0 ? kHeavySlowFactor : 1.0);
    } else if (kind == TraceKind::kDrift) {
      speed = std::exp(kDriftSpeedSigma * noise_rng.Normal());
      drift_period = noise_rng.Uniform(kDriftMinPeriodSeconds, kDriftMaxPeriodSeconds);
      drift_phase = noise_rng.Uniform(0, 6.283185307179586);
    }
    std::vector<absl::Duration>& out = trace.compute[w];
    // Bounded: every iteration adds at least kMinIteration to `elapsed`.
    for (double elapsed = 0; elapsed < length;) {
      double seconds = base * speed * SlowdownAt(windows[w], elapsed);
      if (sigma > 0) seconds *= std::exp(sigma * noise_rng.Normal());
      if (kind == TraceKind::kHeavy) {
        seconds *= std::exp(kHeavyNoiseSigma * noise_rng.Normal());
        if (noise_rng.Uniform() < kHeavyHiccupP) {
          const double pareto =
              kHeavyParetoMin / std::pow(1.0 - noise_rng.Uniform(), 1.0 / kHeavyParetoAlpha);
          seconds += base * std::min(pareto, kHeavyParetoCap);
        }
        if (out.size() % kHeavyPauseEvery == kHeavyPauseEvery - 1) {
          seconds += base * kHeavyPauseFactor;
        }
      } else if (kind == TraceKind::kDrift) {
        seconds *= std::exp(kDriftAmplitude *
                                std::sin(6.283185307179586 * elapsed / drift_period + drift_phase) +
                            kDriftNoiseSigma * noise_rng.Normal());
      }
      const absl::Duration d =
          std::max(kMinIteration, absl::Nanoseconds(std::llround(seconds * 1e9)));
      if (++generated > kMaxTraceIterations) {
        return absl::ResourceExhaustedError(absl::StrFormat(
            "trace %s would need more than %d iterations for %d workers to "
            "cover %s at base %s; use fewer workers, a shorter length or a "
            "longer base iteration",
            trace.name, kMaxTraceIterations, workers, absl::FormatDuration(options.length),
            absl::FormatDuration(options.base_iteration)));
      }
      out.push_back(d);
      elapsed += absl::ToDoubleSeconds(d);
    }
  }
  return trace;
}

}  // namespace ebsp::sim
