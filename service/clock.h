// The coordinator's clock: the one source of `now` for every core event.
//
// The service never calls absl::Now() directly; it asks a Clock so tests can
// inject a controllable one. MonotonicClock is the production clock: it
// starts at the wall time of its construction and then advances with
// std::chrono::steady_clock, so a wall-clock step (NTP) never moves a lease or
// a barrier wait backwards. Implementations must be thread-safe.
#ifndef EBSP_SERVICE_CLOCK_H_
#define EBSP_SERVICE_CLOCK_H_

#include <chrono>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ebsp::server {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class MonotonicClock final : public Clock {
 public:
  MonotonicClock() : wall_origin_(absl::Now()), steady_origin_(std::chrono::steady_clock::now()) {}

  absl::Time Now() const override {
    return wall_origin_ + absl::FromChrono(std::chrono::steady_clock::now() - steady_origin_);
  }

 private:
  const absl::Time wall_origin_;
  const std::chrono::steady_clock::time_point steady_origin_;
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_CLOCK_H_
