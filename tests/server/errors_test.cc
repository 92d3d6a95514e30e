// Every error path of the API: its exact gRPC code, a message that names
// the bad value, and no change of state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "tests/server/server_fixture.h"

namespace ebsp::server::testing {
namespace {

using ::testing::HasSubstr;

class ErrorsTest : public ServerTest {
 protected:
  grpc::Status TryRegister(const std::string& job, const std::string& name,
                           const std::string& token = "", const v1::Policy& policy = v1::Policy()) {
    v1::RegisterRequest request = RegisterRequestFor(job, name, policy);
    request.set_auth_token(token);
    v1::RegisterResponse reply;
    return stub_->Register(Context().get(), request, &reply);
  }

  grpc::Status TryCreate(const v1::JobSpec& spec) {
    v1::CreateJobRequest request;
    *request.mutable_spec() = spec;
    v1::Job reply;
    return stub_->CreateJob(Context().get(), request, &reply);
  }

  grpc::Status TryReport(const std::string& job, uint64_t worker, uint64_t round,
                         uint32_t iteration, double compute) {
    v1::ReportIterationResponse reply;
    return Report(job, worker, round, iteration, &reply, compute);
  }

  int ListJobCount() {
    v1::ListJobsResponse reply;
    EXPECT_TRUE(stub_->ListJobs(Context().get(), v1::ListJobsRequest(), &reply).ok());
    return reply.jobs_size();
  }
};

#define EXPECT_CODE(status, code, text)                                       \
  do {                                                                        \
    const grpc::Status s_ = (status);                                         \
    EXPECT_EQ(s_.error_code(), grpc::StatusCode::code) << s_.error_message(); \
    EXPECT_THAT(s_.error_message(), HasSubstr(text));                         \
  } while (0)

TEST_F(ErrorsTest, RegisterRejectsMalformedNamesWithoutCreatingTheJob) {
  EXPECT_CODE(TryRegister("", "w"), INVALID_ARGUMENT, "job name is empty");
  EXPECT_CODE(TryRegister("bad job", "w"), INVALID_ARGUMENT, "bad job");
  EXPECT_CODE(TryRegister("job:colon", "w"), INVALID_ARGUMENT, "':'");
  EXPECT_CODE(TryRegister(std::string(129, 'j'), "w"), INVALID_ARGUMENT, "129 characters");
  EXPECT_CODE(TryRegister("j", ""), INVALID_ARGUMENT, "worker name is empty");
  EXPECT_CODE(TryRegister("j", "w/1"), INVALID_ARGUMENT, "w/1");
  EXPECT_CODE(TryRegister("j", std::string(200, 'w')), INVALID_ARGUMENT, "200 characters");
  EXPECT_EQ(ListJobCount(), 0);
}

TEST_F(ErrorsTest, RegisterRejectsAnOutOfRangePolicy) {
  v1::Policy policy = Ebsp(5000);
  EXPECT_CODE(TryRegister("j", "w", "", policy), INVALID_ARGUMENT, "5000");
  v1::Policy unknown;
  unknown.set_kind(static_cast<v1::PolicyKind>(42));
  EXPECT_CODE(TryRegister("j", "w", "", unknown), INVALID_ARGUMENT, "42");
  EXPECT_EQ(ListJobCount(), 0);
}

TEST_F(ErrorsTest, RegisterOfALiveNameIsAlreadyExists) {
  MustRegister("j", "host:0");
  EXPECT_CODE(TryRegister("j", "host:0"), ALREADY_EXISTS, "host:0");
  EXPECT_EQ(MustGetJob("j").workers_size(), 1);
}

TEST_F(ErrorsTest, RegisterWithAWrongOrMissingTokenIsPermissionDenied) {
  v1::JobSpec spec;
  spec.set_job("secret");
  spec.set_auth_token("s3cret");
  ASSERT_TRUE(TryCreate(spec).ok());
  EXPECT_CODE(TryRegister("secret", "w"), PERMISSION_DENIED, "requires an auth token");
  EXPECT_CODE(TryRegister("secret", "w", "guess"), PERMISSION_DENIED, "wrong auth token");
  EXPECT_EQ(MustGetJob("secret").workers_size(), 0);
  EXPECT_TRUE(TryRegister("secret", "w", "s3cret").ok());
  // The token is never returned.
  EXPECT_EQ(MustGetJob("secret").spec().auth_token(), "");
}

TEST_F(ErrorsTest, AutoCreatedJobAdoptsTheFirstRegistrantsToken) {
  ASSERT_TRUE(TryRegister("auto", "a", "tok").ok());
  EXPECT_CODE(TryRegister("auto", "b", "other"), PERMISSION_DENIED, "wrong auth token");
  EXPECT_TRUE(TryRegister("auto", "b", "tok").ok());
}

TEST_F(ErrorsTest, RegisterBeyondMaxWorkersIsResourceExhausted) {
  v1::JobSpec spec;
  spec.set_job("small");
  spec.set_max_workers(2);
  ASSERT_TRUE(TryCreate(spec).ok());
  ASSERT_TRUE(TryRegister("small", "a").ok());
  ASSERT_TRUE(TryRegister("small", "b").ok());
  EXPECT_EQ(TryRegister("small", "c").error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(MustGetJob("small").workers_size(), 2);
}

TEST_F(ErrorsTest, CreatingMoreThanMaxJobsIsResourceExhausted) {
  ServerOptions options = TestOptions();
  options.max_jobs = 2;
  Restart(options);
  ASSERT_TRUE(TryRegister("one", "w").ok());
  v1::JobSpec spec;
  spec.set_job("two");
  ASSERT_TRUE(TryCreate(spec).ok());
  EXPECT_CODE(TryRegister("three", "w"), RESOURCE_EXHAUSTED, "--max_jobs=2");
  spec.set_job("three");
  EXPECT_CODE(TryCreate(spec), RESOURCE_EXHAUSTED, "three");
  EXPECT_EQ(ListJobCount(), 2);
}

TEST_F(ErrorsTest, RegisterOfAnUnknownJobIsNotFoundWhenAutoCreateIsOff) {
  ServerOptions options = TestOptions();
  options.auto_create_jobs = false;
  Restart(options);
  EXPECT_CODE(TryRegister("nope", "w"), NOT_FOUND, "CreateJob first");
  EXPECT_EQ(ListJobCount(), 0);
}

TEST_F(ErrorsTest, CreateJobValidatesEveryField) {
  v1::JobSpec spec;
  spec.set_job("j");
  spec.set_heartbeat_timeout_seconds(std::nan(""));
  EXPECT_CODE(TryCreate(spec), INVALID_ARGUMENT, "heartbeat_timeout_seconds is NaN");
  spec.set_heartbeat_timeout_seconds(-1);
  EXPECT_CODE(TryCreate(spec), INVALID_ARGUMENT, "negative");
  spec.set_heartbeat_timeout_seconds(std::numeric_limits<double>::infinity());
  EXPECT_CODE(TryCreate(spec), INVALID_ARGUMENT, "infinite");
  spec.set_heartbeat_timeout_seconds(4000);
  EXPECT_CODE(TryCreate(spec), INVALID_ARGUMENT, "4000");
  spec.set_heartbeat_timeout_seconds(0);
  spec.set_max_workers(20000);
  EXPECT_CODE(TryCreate(spec), INVALID_ARGUMENT, "20000");
  spec.set_max_workers(0);
  *spec.mutable_policy() = Ssp(0);
  spec.mutable_policy()->set_lookahead(0);
  spec.mutable_policy()->set_local_steps(0);
  spec.set_auth_token(std::string(2000, 't'));
  EXPECT_CODE(TryCreate(spec), INVALID_ARGUMENT, "auth_token");
  EXPECT_EQ(ListJobCount(), 0);
  spec.set_auth_token("");
  ASSERT_TRUE(TryCreate(spec).ok());
  EXPECT_CODE(TryCreate(spec), ALREADY_EXISTS, "\"j\" already exists");
}

TEST_F(ErrorsTest, ReportRejectsMalformedValues) {
  const v1::RegisterResponse w = MustRegister("j", "w", LocalSteps(3));
  EXPECT_CODE(TryReport("j", 0, 0, 1, 0.1), INVALID_ARGUMENT, "worker_id is 0");
  EXPECT_CODE(TryReport("j", w.worker_id(), 0, 0, 0.1), INVALID_ARGUMENT, "iteration is 0");
  EXPECT_CODE(TryReport("j", w.worker_id(), 0, 1, std::nan("")), INVALID_ARGUMENT,
              "compute_seconds is NaN");
  EXPECT_CODE(TryReport("j", w.worker_id(), 0, 1, -0.5), INVALID_ARGUMENT, "-0.5");
  EXPECT_CODE(TryReport("j", w.worker_id(), 0, 1, std::numeric_limits<double>::infinity()),
              INVALID_ARGUMENT, "infinite");
  EXPECT_EQ(MustGetJob("j").workers(0).iterations_total(), 0u);
}

TEST_F(ErrorsTest, ReportOfAnUnknownJobOrWorkerIsNotFound) {
  const v1::RegisterResponse a = MustRegister("a", "w");
  MustRegister("b", "w");
  EXPECT_CODE(TryReport("nope", a.worker_id(), 0, 1, 0.1), NOT_FOUND, "\"nope\"");
  EXPECT_CODE(TryReport("a", 12345, 0, 1, 0.1), NOT_FOUND, "12345");
  // A worker id of job a means nothing in job b.
  EXPECT_CODE(TryReport("b", a.worker_id(), 0, 1, 0.1), NOT_FOUND, std::to_string(a.worker_id()));
  EXPECT_EQ(MustGetJob("b").workers(0).iterations_total(), 0u);
}

TEST_F(ErrorsTest, ReportOutOfSequenceIsFailedPrecondition) {
  const v1::RegisterResponse w = MustRegister("j", "w", LocalSteps(3));
  EXPECT_CODE(TryReport("j", w.worker_id(), 4, 1, 0.1), FAILED_PRECONDITION, "current round is 0");
  EXPECT_CODE(TryReport("j", w.worker_id(), 0, 3, 0.1), FAILED_PRECONDITION, "expected 1");
  ASSERT_TRUE(TryReport("j", w.worker_id(), 0, 1, 0.1).ok());
  ASSERT_TRUE(TryReport("j", w.worker_id(), 0, 2, 0.1).ok());
  // The last report again is a retry (the proto's "Retries"; tests/core/retry_test.cc);
  // an older one is not.
  EXPECT_CODE(TryReport("j", w.worker_id(), 0, 1, 0.1), FAILED_PRECONDITION, "expected 3");
  EXPECT_EQ(MustGetJob("j").workers(0).iterations_total(), 2u);
}

TEST_F(ErrorsTest, BarrierBeforeTheTargetIsFailedPrecondition) {
  const v1::RegisterResponse w = MustRegister("j", "w", LocalSteps(3));
  ASSERT_TRUE(TryReport("j", w.worker_id(), 0, 1, 0.1).ok());
  v1::BarrierResponse reply;
  EXPECT_CODE(Barrier("j", w.worker_id(), 0, &reply), FAILED_PRECONDITION,
              "after 1 of its 3 iterations");
  EXPECT_CODE(Barrier("j", w.worker_id(), 7, &reply), FAILED_PRECONDITION, "current round is 0");
  EXPECT_EQ(MustGetJob("j").barrier().arrived_worker_ids_size(), 0);
}

TEST_F(ErrorsTest, WaitsThatThePolicyDoesNotHaveAreFailedPrecondition) {
  const v1::RegisterResponse a = MustRegister("asp", "w", Asp());
  v1::BarrierResponse reply;
  EXPECT_CODE(Barrier("asp", a.worker_id(), 0, &reply), FAILED_PRECONDITION, "no barriers");
  const v1::RegisterResponse b = MustRegister("bsp", "w", Bsp());
  v1::WaitForClockRequest wait;
  wait.set_job("bsp");
  wait.set_worker_id(b.worker_id());
  v1::WaitForClockResponse woke;
  EXPECT_CODE(stub_->WaitForClock(Context().get(), wait, &woke), FAILED_PRECONDITION, "no clocks");
}

TEST_F(ErrorsTest, UpdatePolicyErrors) {
  MustRegister("j", "w", Bsp());
  v1::UpdatePolicyRequest request;
  request.set_job("j");
  *request.mutable_policy() = Asp();
  v1::Job reply;
  EXPECT_CODE(stub_->UpdatePolicy(Context().get(), request, &reply), FAILED_PRECONDITION,
              "empty job");
  *request.mutable_policy() = Ebsp(9999);
  EXPECT_CODE(stub_->UpdatePolicy(Context().get(), request, &reply), INVALID_ARGUMENT, "9999");
  request.set_job("nope");
  *request.mutable_policy() = Bsp();
  EXPECT_CODE(stub_->UpdatePolicy(Context().get(), request, &reply), NOT_FOUND, "nope");
  EXPECT_EQ(MustGetJob("j").spec().policy().kind(), v1::POLICY_KIND_BSP);
  // A valid change of a round policy is accepted.
  request.set_job("j");
  *request.mutable_policy() = LocalSteps(2);
  EXPECT_TRUE(stub_->UpdatePolicy(Context().get(), request, &reply).ok());
}

TEST_F(ErrorsTest, JobCallsOnUnknownJobsAreNotFound) {
  v1::GetJobRequest get;
  get.set_job("ghost");
  v1::Job job;
  EXPECT_CODE(stub_->GetJob(Context().get(), get, &job), NOT_FOUND, "\"ghost\"");
  v1::DeleteJobRequest del;
  del.set_job("ghost");
  v1::DeleteJobResponse deleted;
  EXPECT_CODE(stub_->DeleteJob(Context().get(), del, &deleted), NOT_FOUND, "\"ghost\"");
  EXPECT_CODE(Heartbeat("ghost", 1), NOT_FOUND, "\"ghost\"");
  EXPECT_CODE(Leave("ghost", 1), NOT_FOUND, "\"ghost\"");
}

TEST_F(ErrorsTest, LeftWorkerIsNotFoundAndTheMessageSaysToRegisterAgain) {
  const v1::RegisterResponse w = MustRegister("j", "w");
  ASSERT_TRUE(Leave("j", w.worker_id()).ok());
  EXPECT_CODE(TryReport("j", w.worker_id(), 0, 1, 0.1), NOT_FOUND, "register again");
  // A second Leave is a retry of the first: OK (the proto's "Retries").
  EXPECT_TRUE(Leave("j", w.worker_id()).ok());
}

TEST_F(ErrorsTest, OversizeRequestIsRejected) {
  v1::RegisterRequest request;
  request.set_job("j");
  request.set_worker_name(std::string(100 * 1024, 'w'));
  v1::RegisterResponse reply;
  EXPECT_EQ(stub_->Register(Context().get(), request, &reply).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ListJobCount(), 0);
}

}  // namespace
}  // namespace ebsp::server::testing
