// What operators and tooling rely on: gRPC health checking, server
// reflection, and every series of docs/metrics.md on /metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "tests/server/server_fixture.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

using OpsTest = ServerTest;

// grpc.health.v1.HealthCheckRequest{service} on the wire: field 1, a string.
std::string HealthRequest(const std::string& service) {
  if (service.empty()) return "";
  return std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
}
// HealthCheckResponse{status: SERVING (1)}.
const std::string kServing("\x08\x01", 2);

TEST_F(OpsTest, HealthCheckSaysServingForTheServerAndTheService) {
  auto channel = Channel(server_->grpc_port());
  absl::StatusOr<std::string> overall =
      RawUnary(channel, "/grpc.health.v1.Health/Check", HealthRequest(""));
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(*overall, kServing);
  absl::StatusOr<std::string> service =
      RawUnary(channel, "/grpc.health.v1.Health/Check", HealthRequest("elasticbsp.v1.Coordinator"));
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_EQ(*service, kServing);
}

TEST_F(OpsTest, ReflectionListsTheCoordinatorService) {
  // ServerReflectionRequest{list_services: ""}: field 7, an empty string.
  const std::string list_services("\x3a\x00", 2);
  absl::StatusOr<std::string> reply = RawBidiFirstReply(
      Channel(server_->grpc_port()),
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", list_services);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(*reply, HasSubstr("elasticbsp.v1.Coordinator"));
  EXPECT_THAT(*reply, HasSubstr("grpc.health.v1.Health"));
}

struct DocumentedMetric {
  std::string name;
  std::string type;
  std::set<std::string> labels;
};

// Metric names, types and label names from the table in docs/metrics.md.
std::vector<DocumentedMetric> DocumentedMetrics() {
  std::vector<DocumentedMetric> metrics;
  std::ifstream doc(EBSP_METRICS_DOC);
  const std::regex row(R"(^\| `(ebsp_[a-z_]+)` \| (counter|gauge|histogram) \|([^|]*)\|)");
  const std::regex label("`([a-z_]+)`");
  std::string line;
  while (std::getline(doc, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    DocumentedMetric metric{m[1], m[2], {}};
    const std::string cell = m[3];
    for (std::sregex_iterator it(cell.begin(), cell.end(), label), end; it != end; ++it) {
      metric.labels.insert((*it)[1]);
    }
    metrics.push_back(std::move(metric));
  }
  return metrics;
}

// Label names of the first sample line of `sample` in a /metrics body.
std::set<std::string> SampleLabelNames(const std::string& body, const std::string& sample) {
  std::set<std::string> names;
  const size_t start = body.find("\n" + sample + "{");
  if (start == std::string::npos) return names;
  const size_t open = start + 1 + sample.size();
  const std::string labels = body.substr(open, body.find('}', open) - open);
  const std::regex name(R"(([a-zA-Z_][a-zA-Z0-9_]*)=")");
  for (std::sregex_iterator it(labels.begin(), labels.end(), name), end; it != end; ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

TEST_F(OpsTest, MetricsServesEveryDocumentedSeries) {
  const auto documented = DocumentedMetrics();
  ASSERT_GE(documented.size(), 20u) << "cannot read the table of " << EBSP_METRICS_DOC;
  // One full round so that every per-job series has a sample.
  const v1::RegisterResponse w = MustRegister("m", "w", Ebsp(4));
  v1::ReportIterationResponse reply;
  uint32_t it = 0;
  do {
    ASSERT_TRUE(Report("m", w.worker_id(), 0, ++it, &reply).ok());
  } while (reply.directive() == v1::DIRECTIVE_CONTINUE && it < 5);
  v1::BarrierResponse released;
  ASSERT_TRUE(Barrier("m", w.worker_id(), 0, &released).ok());

  // The straggler view is refreshed with the snapshot gauges, about once a second.
  absl::StatusOr<std::string> body;
  EXPECT_TRUE(WaitUntil([&] {
    body = HttpGet(server_->metrics_port(), "/metrics");
    return body.ok() && absl::StrContains(*body, "\nebsp_straggler_ratio{");
  }));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body,
              HasSubstr("ebsp_straggler_ratio{rank=\"1\",training_job=\"m\",worker=\"w\"} 1"));
  for (const auto& [name, type, labels] : documented) {
    EXPECT_THAT(*body, HasSubstr("# TYPE " + name + " " + type)) << name;
    const std::string sample = type == "histogram" ? name + "_count" : name;
    const bool labeled = body->find("\n" + sample + "{") != std::string::npos;
    const bool bare = body->find("\n" + sample + " ") != std::string::npos;
    EXPECT_TRUE(labeled || bare) << "no sample of " << sample;
    EXPECT_EQ(SampleLabelNames(*body, sample), labels) << "labels of " << sample;
  }
  // Prometheus gives every scraped series its own `job` (the scrape job): a
  // label of ours by that name would be renamed or would overwrite it.
  std::smatch job_label;
  EXPECT_FALSE(std::regex_search(*body, job_label, std::regex(R"(\n[^\n]*[{,]job="[^\n]*)")))
      << job_label.str();
  EXPECT_THAT(*body, HasSubstr("ebsp_build_info{version=\""));
  EXPECT_THAT(*body, HasSubstr("ebsp_jobs 1"));
  EXPECT_THAT(*body, HasSubstr("ebsp_job_rounds_total{training_job=\"m\"} 1"));
  EXPECT_THAT(*body, HasSubstr("ebsp_iterations_total{training_job=\"m\"} " + std::to_string(it)));
  EXPECT_THAT(*body, HasSubstr("ebsp_worker_target{training_job=\"m\",worker=\"w0\"}"));
  EXPECT_THAT(*body,
              HasSubstr("ebsp_evictions_total{reason=\"lease_expired\",training_job=\"m\"} 0"));
  EXPECT_THAT(*body, HasSubstr("ebsp_rpc_total{code=\"OK\",method=\"Barrier\"} 1"));
}

TEST_F(OpsTest, JobSeriesExistFromCreationAndGoAwayWithTheJob) {
  v1::CreateJobRequest create;
  create.mutable_spec()->set_job("fresh");
  v1::Job job;
  ASSERT_TRUE(stub_->CreateJob(Context().get(), create, &job).ok());
  absl::StatusOr<std::string> body = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr("ebsp_job_live_workers{training_job=\"fresh\"} 0"));
  EXPECT_THAT(*body, HasSubstr("ebsp_job_rounds_total{training_job=\"fresh\"} 0"));
  EXPECT_THAT(*body, HasSubstr("ebsp_barrier_waiting_calls{training_job=\"fresh\"} 0"));

  v1::DeleteJobRequest del;
  del.set_job("fresh");
  v1::DeleteJobResponse deleted;
  ASSERT_TRUE(stub_->DeleteJob(Context().get(), del, &deleted).ok());
  body = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, ::testing::Not(HasSubstr("training_job=\"fresh\"")));
  EXPECT_THAT(*body, HasSubstr("ebsp_jobs 0"));
}

TEST_F(OpsTest, WorkerTargetSeriesStopAtMaxWorkerSeries) {
  ServerOptions options = TestOptions();
  options.max_worker_series = 2;
  Restart(options);
  for (const char* name : {"a", "b", "c"}) MustRegister("cap", name, LocalSteps(2));
  absl::StatusOr<std::string> body = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr("ebsp_worker_target{training_job=\"cap\",worker=\"w0\"} 2"));
  EXPECT_THAT(*body, HasSubstr("ebsp_worker_target{training_job=\"cap\",worker=\"w1\"} 2"));
  EXPECT_THAT(*body, ::testing::Not(HasSubstr("worker=\"w2\"")));
}

TEST_F(OpsTest, StuckBarrierShowsInTheWaitingGauges) {
  Restart(TestOptions(), &clock_);
  const v1::RegisterResponse a = MustRegister("stuck", "a", Bsp());
  MustRegister("stuck", "b");
  v1::ReportIterationResponse reply;
  ASSERT_TRUE(Report("stuck", a.worker_id(), 0, 1, &reply).ok());
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + kRpcDeadline));
  const v1::BarrierRequest request = BarrierRequestFor("stuck", a.worker_id(), 0);
  v1::BarrierResponse barrier;
  grpc::Status status;
  absl::Notification done;
  stub_->async()->Barrier(&ctx, &request, &barrier, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  ASSERT_TRUE(WaitUntil([&] { return Arrived("stuck", a.worker_id()); }));
  clock_.Advance(absl::Seconds(5));
  std::string body;
  EXPECT_TRUE(WaitUntil([&] {
    body = HttpGet(server_->metrics_port(), "/metrics").value_or("");
    return body.find("ebsp_barrier_oldest_wait_seconds{training_job=\"stuck\"} 5\n") !=
           std::string::npos;
  })) << body;
  EXPECT_THAT(body, HasSubstr("ebsp_barrier_waiting_calls{training_job=\"stuck\"} 1\n"));
  ctx.TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kRpcDeadline));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(OpsTest, ASecondServerCannotTakeAPortInUse) {
  ServerOptions options = TestOptions();
  options.listen_address = "127.0.0.1:" + std::to_string(server_->grpc_port());
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> second = CoordinatorServer::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(options.listen_address));

  options = TestOptions();
  options.metrics_address = "127.0.0.1:" + std::to_string(server_->metrics_port());
  second = CoordinatorServer::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("/metrics"));
}

}  // namespace
}  // namespace ebsp::server::testing
