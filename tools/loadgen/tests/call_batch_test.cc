#include "tools/loadgen/call_batch.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::loadgen {
namespace {

using ::testing::HasSubstr;

// Completes the calls it is given on its own thread, in order, like gRPC's
// callback threads would; counts how many were in flight at most.
class FakeTransport {
 public:
  FakeTransport() : thread_([this] { Loop(); }) {}
  ~FakeTransport() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  void Start(size_t index, CallDone done, grpc::Status status = grpc::Status::OK) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(Pending{index, std::move(done), std::move(status)});
    max_in_flight_ = std::max(max_in_flight_, queue_.size());
  }

  size_t max_in_flight() {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }

 private:
  struct Pending {
    size_t index;
    CallDone done;
    grpc::Status status;
  };

  void Loop() {
    while (true) {
      Pending next;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      // Outside the lock: `done` starts the next call, which calls Start.
      next.done(next.status);
    }
  }

  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  size_t max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

std::string Name(size_t i) { return absl::StrCat("item ", i); }

TEST(CallBatchTest, RunsEveryItemOnceWithAtMostWindowInFlight) {
  FakeTransport transport;
  std::vector<std::atomic<int>> calls(100);
  absl::Status status = RunCallBatch(
      calls.size(), 7,
      [&](size_t i, CallDone done) {
        calls[i].fetch_add(1);
        transport.Start(i, std::move(done));
      },
      Name, "test", absl::Seconds(30));
  EXPECT_TRUE(status.ok()) << status;
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].load(), 1) << i;
  EXPECT_LE(transport.max_in_flight(), 7u);
}

TEST(CallBatchTest, ReportsTheFirstFailureNamingTheItemAndTheCode) {
  FakeTransport transport;
  absl::Status status = RunCallBatch(
      10, 1,
      [&](size_t i, CallDone done) {
        transport.Start(
            i, std::move(done),
            i >= 4 ? grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full") : grpc::Status::OK);
      },
      Name, "Register", absl::Seconds(30));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("Register: item 4: RESOURCE_EXHAUSTED: full"));
}

TEST(CallBatchTest, TimesOutWhenACallNeverCompletesAndSaysHowMany) {
  std::vector<CallDone> held;
  absl::Status status = RunCallBatch(
      3, 3, [&](size_t i, CallDone done) { held.push_back(std::move(done)); }, Name, "Leave",
      absl::Milliseconds(50));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Leave: 3 of 3 calls unfinished"));
  // Late completions after the return touch only the batch's shared state.
  for (CallDone& done : held) done(grpc::Status::OK);
}

TEST(CallBatchTest, EmptyBatchIsOk) {
  EXPECT_TRUE(
      RunCallBatch(
          0, 4, [](size_t, CallDone) { FAIL() << "no item to issue"; }, Name, "x", absl::Seconds(1))
          .ok());
}

}  // namespace
}  // namespace ebsp::loadgen
