// One simulated training worker of the demo: a thread that "computes" by
// sleeping a noisy iteration time around its own mean (that sleep is its
// work), and follows the coordinator through the real C++ client.
#ifndef EBSP_TOOLS_DEMO_SIMULATED_WORKER_H_
#define EBSP_TOOLS_DEMO_SIMULATED_WORKER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/client.h"

namespace ebsp::demo {

class SimulatedWorker {
 public:
  // `noise`: standard deviation of an iteration as a fraction of the mean.
  SimulatedWorker(ebsp::client::ClientOptions options, absl::Duration mean_iteration, double noise,
                  uint64_t seed);
  // Joins the thread; Stop() first, or this waits for the loop to notice.
  ~SimulatedWorker();

  // Registers (on the caller's thread, so that every worker is in the job
  // before any iterates).
  absl::Status Connect();
  // Runs the loop in a thread until Stop(); then leaves the job.
  void Start();
  void Stop() { stop_.store(true); }
  // Waits until the loop has ended and the worker has left, up to `timeout`.
  bool WaitUntilFinished(absl::Duration timeout);

  int64_t iterations() const { return iterations_.load(); }
  absl::Duration mean_iteration() const { return mean_iteration_; }
  // The first error that ended the loop early, if any.
  absl::Status status() const;

 private:
  void Loop();

  ebsp::client::ClientOptions options_;
  absl::Duration mean_iteration_;
  double noise_;
  uint64_t seed_;
  std::unique_ptr<ebsp::client::Client> client_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> iterations_{0};
  absl::Notification finished_;
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace ebsp::demo

#endif  // EBSP_TOOLS_DEMO_SIMULATED_WORKER_H_
