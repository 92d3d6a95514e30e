#include "tools/loadgen/call_batch.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tools/loadgen/grpc_util.h"

namespace ebsp::loadgen {
namespace {

class CallBatch : public std::enable_shared_from_this<CallBatch> {
 public:
  CallBatch(size_t count, IssueCall issue, std::function<std::string(size_t)> describe)
      : count_(count),
        issue_(std::move(issue)),
        describe_(std::move(describe)),
        latch_(static_cast<int64_t>(count)) {}

  absl::Status Run(size_t window, absl::string_view what, absl::Duration timeout) {
    for (size_t i = 0; i < window && i < count_; ++i) StartNext();
    if (!latch_.WaitWithTimeout(timeout)) {
      return absl::DeadlineExceededError(absl::StrCat(what, ": ", latch_.remaining(), " of ",
                                                      count_, " calls unfinished after ",
                                                      absl::FormatDuration(timeout)));
    }
    absl::MutexLock lock(&mu_);
    if (first_error_.ok()) return first_error_;
    return absl::Status(first_error_.code(), absl::StrCat(what, ": ", first_error_.message()));
  }

 private:
  void StartNext() {
    const size_t i = next_.fetch_add(1);
    if (i >= count_) return;
    issue_(i, [self = shared_from_this(), i](const grpc::Status& status) {
      if (!status.ok()) {
        absl::MutexLock lock(&self->mu_);
        if (self->first_error_.ok()) {
          self->first_error_ = absl::FailedPreconditionError(
              absl::StrCat(self->describe_(i), ": ", DescribeStatus(status)));
        }
      }
      self->StartNext();
      self->latch_.CountDown();
    });
  }

  const size_t count_;
  const IssueCall issue_;
  const std::function<std::string(size_t)> describe_;
  std::atomic<size_t> next_{0};
  CountdownLatch latch_;
  absl::Mutex mu_;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status RunCallBatch(size_t count, size_t window, const IssueCall& issue,
                          const std::function<std::string(size_t)>& describe,
                          absl::string_view what, absl::Duration timeout) {
  if (count == 0) return absl::OkStatus();
  auto batch = std::make_shared<CallBatch>(count, issue, describe);
  return batch->Run(window == 0 ? count : window, what, timeout);
}

}  // namespace ebsp::loadgen
