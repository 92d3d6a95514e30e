// A Barrier or WaitForClock call parked in its job until the core releases
// it, the worker is evicted, the job is deleted, the barrier deadline passes,
// the client goes away, or the server shuts down.
//
// Ownership rule that makes finishing race-free: a parked call sits in its
// JobEntry's waiting map; whoever removes it from that map (under the job
// lock) is the one and only caller of Complete, which it makes after
// releasing the lock. The object stays alive until gRPC's OnDone, which
// follows Complete.
#ifndef EBSP_SERVICE_WAITING_CALL_H_
#define EBSP_SERVICE_WAITING_CALL_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/core/job/job_state.h"

namespace ebsp::server {

// How a waiting call ends. `status` OK means released: the other fields hold
// the reply (a WaitForClock reply's clocks are in `release`). The call
// converts `status` to its RPC status when it finishes (ToGrpcStatus).
struct WaitOutcome {
  static WaitOutcome Failed(absl::Status status) {
    WaitOutcome outcome;
    outcome.status = std::move(status);
    return outcome;
  }

  absl::Status status;
  core::Release release;
  uint64_t membership_epoch = 0;
  uint64_t membership_fingerprint = 0;
  int live_workers = 0;
};

class WaitingCall {
 public:
  WaitingCall(core::WorkerId worker, core::WaitKind kind, absl::Time started)
      : worker_(worker), kind_(kind), started_(started) {}
  virtual ~WaitingCall() = default;
  WaitingCall(const WaitingCall&) = delete;
  WaitingCall& operator=(const WaitingCall&) = delete;

  core::WorkerId worker() const { return worker_; }
  core::WaitKind kind() const { return kind_; }
  absl::Time started() const { return started_; }

  // Finishes the RPC. Called once, without any job lock held.
  virtual void Complete(const WaitOutcome& outcome) = 0;

 private:
  const core::WorkerId worker_;
  const core::WaitKind kind_;
  const absl::Time started_;
};

// Calls to finish once the job lock is released. JobEntry::Locked owns one
// and runs it right after unlocking; its destructor runs whatever was not run
// yet, so no parked call is ever dropped unfinished.
class Completions {
 public:
  Completions() = default;
  ~Completions() { Run(); }
  Completions(const Completions&) = delete;
  Completions& operator=(const Completions&) = delete;

  void Add(WaitingCall* call, WaitOutcome outcome) {
    items_.emplace_back(call, std::move(outcome));
  }
  // Takes over `other`'s calls (to run them after a lock further out).
  void Append(Completions&& other) {
    for (auto& item : other.items_) items_.push_back(std::move(item));
    other.items_.clear();
  }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // Finishes every call; the object is empty afterwards.
  void Run() {
    for (auto& [call, outcome] : items_) call->Complete(outcome);
    items_.clear();
  }

 private:
  std::vector<std::pair<WaitingCall*, WaitOutcome>> items_;
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_WAITING_CALL_H_
