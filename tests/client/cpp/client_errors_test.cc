// Errors that describe the request are not retried: they reach the caller at
// once, with the coordinator's code, and leave the client usable.
#include <grpcpp/client_context.h>

#include "clients/cpp/ebsp/channel.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/client_fixture.h"

namespace ebsp::testing {
namespace {

using ebsp::client::Client;
using ebsp::client::ClientOptions;
using ebsp::client::RetryEvent;

class ClientErrorsTest : public ClientFixture {
 protected:
  // Connects with `options`, counting retries; expects `code` and no retry.
  void ExpectConnectFailsAtOnce(ClientOptions options, absl::StatusCode code) {
    int retries = 0;
    options.on_retry = [&](const RetryEvent&) { ++retries; };
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(std::move(options));
    EXPECT_EQ(client.status().code(), code) << client.status();
    EXPECT_EQ(retries, 0);
  }
};

TEST_F(ClientErrorsTest, MalformedWorkerNameIsInvalidArgumentWithoutRetry) {
  StartCoordinator();
  ExpectConnectFailsAtOnce(Options("errors", "no spaces allowed!"),
                           absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientErrorsTest, WrongAuthTokenIsPermissionDeniedWithoutRetry) {
  StartCoordinator();
  auto stub =
      elasticbsp::v1::Coordinator::NewStub(ebsp::client::MakeChannel(coordinator_->target()));
  elasticbsp::v1::CreateJobRequest create;
  create.mutable_spec()->set_job("guarded");
  create.mutable_spec()->set_auth_token("s3cret");
  create.mutable_spec()->mutable_policy()->set_kind(elasticbsp::v1::POLICY_KIND_BSP);
  elasticbsp::v1::Job created;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ASSERT_TRUE(stub->CreateJob(&context, create, &created).ok());

  ClientOptions options = Options("guarded", "w0");
  options.auth_token = "guess";
  ExpectConnectFailsAtOnce(options, absl::StatusCode::kPermissionDenied);
  options.auth_token = "s3cret";
  EXPECT_NE(MustConnect(options), nullptr);
}

TEST_F(ClientErrorsTest, NameAlreadyLiveInTheJobIsAlreadyExistsWithoutRetry) {
  StartCoordinator();
  std::unique_ptr<Client> first = MustConnect(Options("errors", "twin"));
  ASSERT_NE(first, nullptr);
  ExpectConnectFailsAtOnce(Options("errors", "twin"), absl::StatusCode::kAlreadyExists);
}

TEST_F(ClientErrorsTest, SyncBeforeTheTargetIsFailedPreconditionAndChangesNothing) {
  StartCoordinator();
  std::unique_ptr<Client> client = MustConnect(Options("errors", "early", "local:H=2"));
  ASSERT_NE(client, nullptr);
  absl::StatusOr<ebsp::client::SyncResult> sync = client->Sync();
  EXPECT_EQ(sync.status().code(), absl::StatusCode::kFailedPrecondition) << sync.status();
  absl::StatusOr<ebsp::client::StepResult> step = client->IterationDone(absl::Milliseconds(1));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->iteration, 1);
  EXPECT_FALSE(step->sync_now);
  step = client->IterationDone(absl::Milliseconds(1));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->sync_now);
  // Reporting past the target without Sync is refused by the client.
  EXPECT_EQ(client->IterationDone(absl::Milliseconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<ebsp::client::SyncResult> synced = client->Sync();
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(synced->round, 1u);
  EXPECT_EQ(synced->target, 2);
}

TEST_F(ClientErrorsTest, NegativeComputeTimeIsInvalidArgumentWithoutRetry) {
  StartCoordinator();
  ClientOptions options = Options("errors", "negative");
  int retries = 0;
  options.on_retry = [&](const RetryEvent&) { ++retries; };
  std::unique_ptr<Client> client = MustConnect(options);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->IterationDone(absl::Milliseconds(-5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(retries, 0);
  // The failed report changed nothing: the next one is still iteration 1.
  absl::StatusOr<ebsp::client::StepResult> step = client->IterationDone(absl::Milliseconds(1));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->iteration, 1);
}

TEST(ClientOptionsTest, MissingJobOrWorkerNameIsInvalidArgumentBeforeAnyCall) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.worker_name = "w0";
  EXPECT_EQ(Client::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.job = "j";
  options.worker_name = "";
  EXPECT_EQ(Client::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ebsp::testing
