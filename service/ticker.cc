#include "service/ticker.h"

#include <utility>

namespace ebsp::server {

Ticker::Ticker(absl::Duration interval, std::function<void()> tick)
    : interval_(interval), tick_(std::move(tick)) {}

Ticker::~Ticker() { Stop(); }

void Ticker::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void Ticker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Ticker::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      // Returns early only when Stop() is called.
      mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
      if (stop_) return;
    }
    tick_();
  }
}

}  // namespace ebsp::server
