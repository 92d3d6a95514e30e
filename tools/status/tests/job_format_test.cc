#include "tools/status/job_format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebsp::status {
namespace {

namespace v1 = ::elasticbsp::v1;
using ::testing::HasSubstr;
using ::testing::Not;

v1::Job ThreeWorkerJobWithOneArrived() {
  v1::Job job;
  job.mutable_spec()->set_job("resnet");
  job.mutable_spec()->mutable_policy()->set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  job.mutable_spec()->mutable_policy()->set_lookahead(8);
  job.set_round(12);
  job.set_rounds_completed(12);
  job.set_membership_epoch(3);
  job.set_idle_fraction(0.125);
  for (int i = 1; i <= 3; ++i) {
    v1::WorkerStatus* w = job.add_workers();
    w->set_worker_id(i);
    w->set_name("host:" + std::to_string(i - 1));
    w->set_state(i == 1 ? v1::WORKER_STATE_AT_BARRIER : v1::WORKER_STATE_RUNNING);
    w->set_iterations_in_round(i == 1 ? 5 : 2);
    w->set_target(5);
    w->set_iterations_total(100 + i);
    w->set_seconds_since_last_seen(0.25);
    w->set_lease_remaining_seconds(9.75);
  }
  v1::BarrierStatus* b = job.mutable_barrier();
  b->set_round(12);
  b->add_arrived_worker_ids(1);
  b->add_missing_worker_ids(2);
  b->add_missing_worker_ids(3);
  b->add_missing_worker_names("host:1");
  b->add_missing_worker_names("host:2");
  b->set_seconds_since_first_arrival(1.5);
  return job;
}

TEST(JobFormatTest, TextShowsPolicyRoundIdleAndBarrierArrivals) {
  const std::string text = FormatJobText(ThreeWorkerJobWithOneArrived(), TextOptions());
  EXPECT_THAT(text, HasSubstr("job resnet"));
  EXPECT_THAT(text, HasSubstr("policy ebsp:R=8,objective=idle_rate,predictor=ewma "));
  EXPECT_THAT(text, HasSubstr("round 12 (12 completed)"));
  EXPECT_THAT(text, HasSubstr("idle 12.5%"));
  EXPECT_THAT(text, HasSubstr("1 arrived, 2 missing: host:1 (2), host:2 (3)"));
  EXPECT_THAT(text, HasSubstr("first arrival 1.500s ago"));
}

TEST(JobFormatTest, TextHasOneLinePerWorkerWithStateAndProgress) {
  const std::string text = FormatJobText(ThreeWorkerJobWithOneArrived(), TextOptions());
  EXPECT_THAT(text, HasSubstr("AT_BARRIER"));
  EXPECT_THAT(text, HasSubstr("5/5"));
  EXPECT_THAT(text, HasSubstr("2/5"));
  EXPECT_THAT(text, HasSubstr("host:2"));
  EXPECT_THAT(text, HasSubstr("9.750s"));
}

TEST(JobFormatTest, TextTruncatesLongWorkerAndMissingListsAndSaysSo) {
  TextOptions options;
  options.max_workers = 2;
  options.max_missing_names = 1;
  const std::string text = FormatJobText(ThreeWorkerJobWithOneArrived(), options);
  EXPECT_THAT(text, HasSubstr("... 1 more workers"));
  EXPECT_THAT(text, HasSubstr("host:1 (2) ... and 1 more"));
  EXPECT_THAT(text, Not(HasSubstr("103")));  // iterations_total of the third
}

TEST(JobFormatTest, TextNamesTheSlowestWorkersAndTheirRatioToTheMedian) {
  v1::Job job = ThreeWorkerJobWithOneArrived();
  EXPECT_THAT(FormatJobText(job, TextOptions()), Not(HasSubstr("slowest")));  // nobody reported
  const double seconds[] = {0.010, 0.040, 0.020};
  for (int i = 0; i < 3; ++i) job.mutable_workers(i)->set_last_compute_seconds(seconds[i]);
  EXPECT_THAT(FormatJobText(job, TextOptions()),
              HasSubstr("  slowest: host:1 0.040s (2.00x median), host:2 0.020s (1.00x median), "
                        "host:0 0.010s (0.50x median)\n"));
}

TEST(JobFormatTest, RoundlessJobsShowNoBarrier) {
  v1::Job job = ThreeWorkerJobWithOneArrived();
  job.mutable_spec()->mutable_policy()->set_kind(v1::POLICY_KIND_ASP);
  EXPECT_THAT(FormatJobText(job, TextOptions()), Not(HasSubstr("barrier")));
}

TEST(JobFormatTest, EmptyListSaysNoJobs) {
  EXPECT_EQ(FormatJobsText(v1::ListJobsResponse(), TextOptions()), "no jobs\n");
}

TEST(JobFormatTest, JsonUsesProtoFieldNamesAndKeepsZeros) {
  v1::Job job = ThreeWorkerJobWithOneArrived();
  job.set_evictions_total(0);
  const std::string json = FormatJson(job);
  EXPECT_THAT(json, HasSubstr("\"missing_worker_names\":[\"host:1\",\"host:2\"]"));
  EXPECT_THAT(json, HasSubstr("\"evictions_total\":\"0\""));
  EXPECT_THAT(json, HasSubstr("\"state\":\"WORKER_STATE_AT_BARRIER\""));
}

}  // namespace
}  // namespace ebsp::status
