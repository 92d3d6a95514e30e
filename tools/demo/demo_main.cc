// ebsp-demo: simulated heterogeneous workers (threads, each with the real
// C++ client) against a running coordinator, one job per policy in turn,
// with a live line per second and a comparison table at the end.
//
//   ebsp-demo --target=127.0.0.1:50051 --workers=8 --seconds_per_policy=20
//             --policies=bsp,ebsp:R=8
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lib/cli/usage.h"
#include "tools/demo/policy_phase.h"
#include "tools/demo/summary.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "coordinator host:port");
ABSL_FLAG(int, workers, 8, "simulated workers per policy");
ABSL_FLAG(double, seconds_per_policy, 20, "how long each policy runs");
ABSL_FLAG(std::string, policies, "bsp,ebsp:R=8",
          "policies to run in turn, e.g. bsp,ebsp:R=8,objective=total_wait,local:H=4 "
          "(a new policy starts at each bsp/asp/ssp/ebsp/local name)");
ABSL_FLAG(std::string, job_prefix, "demo", "jobs are named PREFIX-RUNID-N-POLICY");
ABSL_FLAG(absl::Duration, base_iteration, absl::Milliseconds(20),
          "mean iteration time of the fastest workers");
ABSL_FLAG(std::string, speeds, "1,1.3,2",
          "slowness factors, given to the workers in turn (worker i gets speeds[i % n])");
ABSL_FLAG(double, noise, 0.1, "iteration time noise (standard deviation / mean)");
ABSL_FLAG(uint64_t, seed, 1, "seed of the iteration time noise");

namespace ebsp::demo {
namespace {

constexpr int kMaxWorkers = 256;
constexpr double kMaxSecondsPerPolicy = 3600;

int Run() {
  const int workers = absl::GetFlag(FLAGS_workers);
  const double seconds = absl::GetFlag(FLAGS_seconds_per_policy);
  if (workers < 1 || workers > kMaxWorkers) {
    std::cerr << "ebsp-demo: --workers=" << workers << " must be in [1, " << kMaxWorkers << "]\n";
    return 2;
  }
  if (!(seconds > 0 && seconds <= kMaxSecondsPerPolicy)) {
    std::cerr << "ebsp-demo: --seconds_per_policy=" << seconds << " must be in (0, "
              << kMaxSecondsPerPolicy << "]\n";
    return 2;
  }
  absl::StatusOr<std::vector<std::string>> policies =
      SplitPolicyList(absl::GetFlag(FLAGS_policies));
  if (!policies.ok()) {
    std::cerr << "ebsp-demo: " << policies.status().message() << "\n";
    return 2;
  }
  std::vector<double> speeds;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_speeds), ',')) {
    double speed = 0;
    if (!absl::SimpleAtod(part, &speed) || !(speed > 0)) {
      std::cerr << "ebsp-demo: --speeds has \"" << part << "\", expected numbers > 0\n";
      return 2;
    }
    speeds.push_back(speed);
  }

  std::vector<absl::Duration> means;
  std::vector<std::string> speed_text;
  for (int i = 0; i < workers; ++i) {
    const double speed = speeds[i % speeds.size()];
    means.push_back(absl::GetFlag(FLAGS_base_iteration) * speed);
    speed_text.push_back(absl::StrFormat("%.1f", speed));
  }
  const std::string run_id = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  std::cout << absl::StrFormat(
      "ebsp-demo: %d workers (iteration %s x [%s]) against %s, %.0fs per policy\n", workers,
      absl::FormatDuration(absl::GetFlag(FLAGS_base_iteration)), absl::StrJoin(speed_text, " "),
      absl::GetFlag(FLAGS_target), seconds);

  std::vector<PhaseResult> results;
  for (size_t i = 0; i < policies->size(); ++i) {
    PhaseOptions phase;
    phase.target = absl::GetFlag(FLAGS_target);
    phase.job = JobName(absl::GetFlag(FLAGS_job_prefix), run_id, i, (*policies)[i]);
    phase.policy_text = (*policies)[i];
    phase.mean_iterations = means;
    phase.noise = absl::GetFlag(FLAGS_noise);
    phase.seed = absl::GetFlag(FLAGS_seed);
    phase.duration = absl::Seconds(seconds);
    std::cout << "\n== " << phase.policy_text << " (job " << phase.job << ")\n";
    absl::StatusOr<PhaseResult> result = RunPhase(phase, std::cout);
    if (!result.ok()) {
      std::cout << std::flush;
      std::cerr << "ebsp-demo: policy " << phase.policy_text << " failed: " << result.status()
                << "\n";
      std::fflush(nullptr);
      // Worker threads may still be blocked in calls; do not run destructors.
      std::_Exit(1);
    }
    results.push_back(*result);
  }
  std::cout << "\n" << FormatSummary(results) << std::flush;
  return 0;
}

}  // namespace
}  // namespace ebsp::demo

int main(int argc, char** argv) {
  ebsp::cli::InitUsage("ebsp-demo",
                       "Runs simulated heterogeneous workers through the coordinator under each "
                       "policy in turn and compares throughput and idle time.");
  absl::ParseCommandLine(argc, argv);
  return ebsp::demo::Run();
}
