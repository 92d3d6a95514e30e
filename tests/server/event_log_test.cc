// The real ebsp-coordinator binary logs its rare events (docs/logging.md):
// one line for an eviction (reason and silence), one for a barrier deadline
// (the missing names), job and membership changes, policy changes, shutdown;
// and nothing per iteration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/server/harness.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Lines of the coordinator's stderr that contain every one of `parts`.
std::vector<std::string> LinesWith(const std::string& log, const std::vector<std::string>& parts) {
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    bool all = true;
    for (const std::string& part : parts) all = all && absl::StrContains(line, part);
    if (all && !line.empty()) found.emplace_back(line);
  }
  return found;
}

// Waits (bounded) until a line with every one of `parts` appears; returns it.
std::string AwaitLine(const CoordinatorProcess& process, const std::vector<std::string>& parts,
                      absl::Duration deadline = absl::Seconds(15)) {
  std::string line;
  WaitUntil(
      [&] {
        std::vector<std::string> lines = LinesWith(process.Stderr(), parts);
        if (lines.empty()) return false;
        line = lines.front();
        return true;
      },
      deadline);
  return line;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto process = CoordinatorProcess::Start(
        {"--listen_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0", "--tick_interval=20ms",
         "--heartbeat_timeout=1s", "--barrier_deadline=1s"});
    ASSERT_TRUE(process.ok()) << process.status();
    process_ = *std::move(process);
    stub_ = Connect(process_->grpc_port());
  }

  v1::RegisterResponse Register(const std::string& job, const std::string& name) {
    v1::RegisterResponse reply;
    const grpc::Status s =
        stub_->Register(Context().get(), RegisterRequestFor(job, name, Bsp()), &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply;
  }

  // A BSP job whose workers keep their lease for a minute (the process's
  // default lease is 1 s, for the eviction test).
  void CreateJobWithLongLease(const std::string& job) {
    v1::CreateJobRequest create;
    create.mutable_spec()->set_job(job);
    *create.mutable_spec()->mutable_policy() = Bsp();
    create.mutable_spec()->set_heartbeat_timeout_seconds(60);
    v1::Job created;
    const grpc::Status s = stub_->CreateJob(Context().get(), create, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::unique_ptr<CoordinatorProcess> process_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(EventLogTest, AnEvictionIsOneLineWithTheReasonAndTheSilence) {
  const v1::RegisterResponse b = Register("evict", "host-b:1");
  // b never calls again: its 1 s lease runs out and the next tick evicts it.
  const std::string line =
      AwaitLine(*process_, {" WARN worker_evicted ", "job=evict", "worker=host-b:1"});
  ASSERT_FALSE(line.empty()) << process_->Stderr();
  EXPECT_THAT(line, HasSubstr(absl::StrCat(" worker_id=", b.worker_id(), " ")));
  EXPECT_THAT(line, HasSubstr(" reason=lease_expired "));
  EXPECT_THAT(line, HasSubstr(" lease_s=1 "));
  std::smatch silence;
  ASSERT_TRUE(std::regex_search(line, silence, std::regex(" silence_s=([0-9.]+) "))) << line;
  double seconds = 0;
  ASSERT_TRUE(absl::SimpleAtod(silence[1].str(), &seconds));
  // Evicted once silent longer than the lease, by a tick 20 ms later (a
  // loaded machine may delay the tick thread by seconds, not more).
  EXPECT_GE(seconds, 1.0) << line;
  EXPECT_LT(seconds, 6.0) << line;
  EXPECT_EQ(LinesWith(process_->Stderr(), {"worker_evicted"}).size(), 1u) << process_->Stderr();
  EXPECT_EQ(
      LinesWith(process_->Stderr(), {" worker_joined ", "job=evict", "worker=host-b:1"}).size(),
      1u);
  EXPECT_EQ(LinesWith(process_->Stderr(), {" job_created ", "job=evict", "by=Register"}).size(),
            1u);
}

TEST_F(EventLogTest, APassedBarrierDeadlineIsOneLineNamingTheMissingWorkers) {
  // A long lease, so the silent worker is missing at the barrier, not evicted.
  CreateJobWithLongLease("deadline");
  const v1::RegisterResponse a = Register("deadline", "host-a:0");
  const v1::RegisterResponse b = Register("deadline", "host-b:0");
  v1::ReportIterationResponse report;
  ASSERT_TRUE(stub_
                  ->ReportIteration(Context().get(),
                                    ReportRequestFor("deadline", a.worker_id(), 0, 1), &report)
                  .ok());
  v1::BarrierResponse barrier;
  const grpc::Status waited = stub_->Barrier(
      Context(absl::Seconds(20)).get(), BarrierRequestFor("deadline", a.worker_id(), 0), &barrier);
  EXPECT_EQ(waited.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << waited.error_message();

  const std::string line = AwaitLine(*process_, {" WARN barrier_deadline_passed ", "job=deadline"});
  ASSERT_FALSE(line.empty()) << process_->Stderr();
  EXPECT_THAT(line, HasSubstr(" round=0 "));
  EXPECT_THAT(line, HasSubstr(" deadline_s=1 "));
  EXPECT_THAT(line, HasSubstr(" calls_failed=1 "));
  EXPECT_THAT(line, HasSubstr(absl::StrCat(" missing=\"host-b:0 (", b.worker_id(), ")\"")));
  EXPECT_THAT(line, Not(HasSubstr("host-a:0")));
  EXPECT_EQ(LinesWith(process_->Stderr(), {" job_created ", "job=deadline", "by=CreateJob"}).size(),
            1u);
}

TEST_F(EventLogTest, JobPolicyAndMembershipChangesAreLoggedButIterationsAreNot) {
  CreateJobWithLongLease("quiet");
  const v1::RegisterResponse a = Register("quiet", "host-a:0");
  uint64_t round = 0;
  // Reports until SYNC_NOW (bounded), then passes the barrier alone.
  auto run_round = [&] {
    for (uint32_t i = 1; i <= 20; ++i) {
      v1::ReportIterationResponse report;
      ASSERT_TRUE(stub_
                      ->ReportIteration(Context().get(),
                                        ReportRequestFor("quiet", a.worker_id(), round, i), &report)
                      .ok());
      if (report.directive() == v1::DIRECTIVE_SYNC_NOW) break;
    }
    v1::BarrierResponse barrier;
    ASSERT_TRUE(
        stub_->Barrier(Context().get(), BarrierRequestFor("quiet", a.worker_id(), round), &barrier)
            .ok());
    ++round;
  };
  for (int i = 0; i < 3; ++i) run_round();
  v1::UpdatePolicyRequest update;
  update.set_job("quiet");
  *update.mutable_policy() = Ebsp(4);
  v1::Job job;
  ASSERT_TRUE(stub_->UpdatePolicy(Context().get(), update, &job).ok());
  run_round();  // The change takes effect at a round boundary at the latest.
  v1::LeaveResponse left;
  ASSERT_TRUE(stub_->Leave(Context().get(), LeaveRequestFor("quiet", a.worker_id()), &left).ok());
  v1::DeleteJobRequest del;
  del.set_job("quiet");
  v1::DeleteJobResponse deleted;
  ASSERT_TRUE(stub_->DeleteJob(Context().get(), del, &deleted).ok());

  const std::string log = process_->Stderr();
  EXPECT_EQ(LinesWith(log, {" policy_update_requested ", "job=quiet", "policy=\"ebsp:R=4"}).size(),
            1u)
      << log;
  EXPECT_EQ(LinesWith(log, {" policy_applied ", "job=quiet", "policy=\"ebsp:R=4"}).size(), 1u)
      << log;
  EXPECT_EQ(
      LinesWith(log, {" worker_left ", "job=quiet", "worker=host-a:0", "live_workers=0"}).size(),
      1u)
      << log;
  EXPECT_EQ(LinesWith(log, {" job_deleted ", "job=quiet"}).size(), 1u) << log;
  // Four rounds of reports and barriers, and no line for any of them: the
  // job's lines are exactly its six events.
  EXPECT_EQ(LinesWith(log, {"job=quiet"}).size(), 6u) << log;
}

TEST(EventLogJsonTest, JsonLinesCarryTheSameEvents) {
  auto process = CoordinatorProcess::Start(
      {"--listen_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0", "--log_format=json"});
  ASSERT_TRUE(process.ok()) << process.status();
  auto stub = Connect((*process)->grpc_port());
  v1::RegisterResponse reply;
  ASSERT_TRUE(stub->Register(Context().get(), RegisterRequestFor("j", "w0", Bsp()), &reply).ok());
  const std::string line = AwaitLine(**process, {"\"event\":\"worker_joined\""});
  EXPECT_THAT(line, HasSubstr("\"level\":\"info\""));
  EXPECT_THAT(line, HasSubstr("\"job\":\"j\",\"worker\":\"w0\""));
  EXPECT_THAT(line, HasSubstr(absl::StrCat("\"worker_id\":", reply.worker_id(), ",")));
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
}

}  // namespace
}  // namespace ebsp::server::testing
