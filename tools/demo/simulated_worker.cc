#include "tools/demo/simulated_worker.h"

#include <algorithm>
#include <random>
#include <utility>

namespace ebsp::demo {

SimulatedWorker::SimulatedWorker(ebsp::client::ClientOptions options, absl::Duration mean_iteration,
                                 double noise, uint64_t seed)
    : options_(std::move(options)), mean_iteration_(mean_iteration), noise_(noise), seed_(seed) {}

SimulatedWorker::~SimulatedWorker() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

absl::Status SimulatedWorker::Connect() {
  absl::StatusOr<std::unique_ptr<ebsp::client::Client>> client =
      ebsp::client::Client::Connect(options_);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  return absl::OkStatus();
}

void SimulatedWorker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

bool SimulatedWorker::WaitUntilFinished(absl::Duration timeout) {
  return finished_.WaitForNotificationWithTimeout(timeout);
}

absl::Status SimulatedWorker::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void SimulatedWorker::Loop() {
  std::mt19937_64 gen(seed_);
  std::normal_distribution<double> jitter(1.0, noise_);
  absl::Status status;
  // Each pass is one iteration (plus its barrier); the stop flag, Leave of
  // the others and the barrier deadline bound every pass.
  while (!stop_.load()) {
    const absl::Duration compute = mean_iteration_ * std::max(0.2, jitter(gen));
    absl::SleepFor(compute);  // The fake forward/backward pass.
    absl::StatusOr<ebsp::client::StepResult> step = client_->IterationDone(compute);
    if (!step.ok()) {
      status = step.status();
      break;
    }
    if (step->reregistered) continue;
    iterations_.fetch_add(1);
    if (!step->sync_now) continue;
    absl::StatusOr<ebsp::client::SyncResult> sync = client_->Sync();
    if (!sync.ok()) {
      status = sync.status();
      break;
    }
  }
  // Leaving releases the barrier for the workers still waiting there.
  if (absl::Status left = client_->Leave(); status.ok() && !left.ok()) status = left;
  {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  finished_.Notify();
}

}  // namespace ebsp::demo
