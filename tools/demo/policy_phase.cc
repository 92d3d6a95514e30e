#include "tools/demo/policy_phase.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cpp/ebsp/channel.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "clients/cpp/ebsp/status.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "tools/demo/simulated_worker.h"

namespace ebsp::demo {
namespace {

namespace v1 = ::elasticbsp::v1;

absl::StatusOr<v1::Job> GetJob(v1::Coordinator::Stub& stub, const std::string& job) {
  v1::GetJobRequest request;
  request.set_job(job);
  v1::Job response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  absl::Status status =
      ebsp::client::FromGrpcStatus("GetJob", stub.GetJob(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

std::string WorkerName(size_t index) { return absl::StrFormat("w%02d", index); }

}  // namespace

std::string FormatTargets(const std::vector<std::string>& names,
                          const std::vector<std::pair<std::string, uint32_t>>& targets) {
  std::vector<std::string> parts;
  for (const std::string& name : names) {
    auto it = std::find_if(targets.begin(), targets.end(),
                           [&](const auto& t) { return t.first == name; });
    parts.push_back(it == targets.end() ? "-" : absl::StrCat(it->second));
  }
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<PhaseResult> RunPhase(const PhaseOptions& options, std::ostream& out) {
  absl::StatusOr<v1::Policy> policy = ebsp::client::ParsePolicyText(options.policy_text);
  if (!policy.ok()) return policy.status();
  auto stub = v1::Coordinator::NewStub(ebsp::client::MakeChannel(options.target));

  std::vector<std::unique_ptr<SimulatedWorker>> workers;
  std::vector<std::string> names;
  for (size_t i = 0; i < options.mean_iterations.size(); ++i) {
    ebsp::client::ClientOptions client;
    client.target = options.target;
    client.job = options.job;
    client.worker_name = WorkerName(i);
    client.policy_if_created = *policy;
    client.retry.outage_budget = absl::Seconds(10);
    names.push_back(client.worker_name);
    workers.push_back(std::make_unique<SimulatedWorker>(
        std::move(client), options.mean_iterations[i], options.noise, options.seed + i));
    if (absl::Status status = workers.back()->Connect(); !status.ok()) return status;
  }

  const absl::Time start = absl::Now();
  for (auto& worker : workers) worker->Start();
  auto total_iterations = [&] {
    int64_t sum = 0;
    for (const auto& worker : workers) sum += worker->iterations();
    return sum;
  };

  PhaseResult result;
  result.policy_text = options.policy_text;
  absl::Status failure;
  int64_t last_iterations = 0;
  absl::Time last_print = start;
  const absl::Time end = start + options.duration;
  for (absl::Time next = start + options.print_interval;; next += options.print_interval) {
    const absl::Time wake = std::min(next, end);
    absl::SleepFor(wake - absl::Now());  // The pace of the live display.
    const absl::Time now = absl::Now();
    const int64_t iterations = total_iterations();
    absl::StatusOr<v1::Job> job = GetJob(*stub, options.job);
    if (!job.ok()) {
      failure = job.status();
      break;
    }
    std::vector<std::pair<std::string, uint32_t>> targets;
    for (const v1::WorkerStatus& w : job->workers()) targets.emplace_back(w.name(), w.target());
    const double rate =
        (iterations - last_iterations) / std::max(1e-9, absl::ToDoubleSeconds(now - last_print));
    out << absl::StrFormat("[%-10s] %5.1fs  round %6d  it/s %7.1f  idle %.3f  targets %s\n",
                           options.policy_text, absl::ToDoubleSeconds(now - start), job->round(),
                           rate, job->idle_fraction(), FormatTargets(names, targets))
        << std::flush;
    last_iterations = iterations;
    last_print = now;
    result.idle_fraction = job->idle_fraction();
    result.rounds = job->rounds_completed();
    for (const auto& worker : workers) {
      if (absl::Status status = worker->status(); !status.ok()) failure = status;
    }
    if (!failure.ok() || now >= end) break;
  }
  result.elapsed = absl::Now() - start;
  result.iterations = total_iterations();
  result.iterations_per_second =
      result.iterations / std::max(1e-9, absl::ToDoubleSeconds(result.elapsed));

  for (auto& worker : workers) worker->Stop();
  const absl::Time stop_deadline = absl::Now() + options.stop_timeout;
  for (size_t i = 0; i < workers.size(); ++i) {
    if (!workers[i]->WaitUntilFinished(stop_deadline - absl::Now())) {
      // Destroying a worker whose thread still runs would block on it, so
      // they are left alive; the caller ends the process on this error.
      for (auto& worker : workers) (void)worker.release();
      return absl::DeadlineExceededError(absl::StrCat("worker ", names[i], " did not stop within ",
                                                      absl::FormatDuration(options.stop_timeout)));
    }
    if (absl::Status status = workers[i]->status(); !status.ok() && failure.ok()) {
      failure =
          absl::Status(status.code(), absl::StrCat("worker ", names[i], ": ", status.message()));
    }
  }
  if (!failure.ok()) return failure;
  return result;
}

}  // namespace ebsp::demo
