// Ticker: the coordinator's one background thread. Every `interval` it runs
// `tick` (lease evictions, barrier deadlines, gauge refresh). Stop() wakes it
// at once and joins, so shutdown never waits a full interval.
#ifndef EBSP_SERVICE_TICKER_H_
#define EBSP_SERVICE_TICKER_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ebsp::server {

class Ticker {
 public:
  Ticker(absl::Duration interval, std::function<void()> tick);
  ~Ticker();  // Stops.
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  void Start();
  void Stop();

 private:
  void Run();

  const absl::Duration interval_;
  const std::function<void()> tick_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_TICKER_H_
