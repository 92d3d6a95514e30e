// Who may administer a job, against the real ebsp-coordinator: every admin
// RPC with no credential, a malformed one, a wrong token and another job's
// token is refused with the documented code and changes nothing; the admin
// token, the job's own token and an allowed client certificate identity
// pass; without an admin credential configured only loopback may administer.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/security/security_fixture.h"

namespace ebsp::testing {
namespace {

namespace v1 = ::elasticbsp::v1;
constexpr char kAdminToken[] = "admin-token-0123456789abcdef";

// An IPv4 address of this machine that is not loopback ("" if none): a
// connection to it stays on this host but does not come from 127.0.0.0/8.
std::string NonLoopbackIpv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) == nullptr) continue;
    if (std::string(text).rfind("127.", 0) != 0) found = text;
  }
  freeifaddrs(list);
  return found;
}

class AuthTest : public SecurityFixture {
 protected:
  void StartWithAdminToken(std::vector<std::string> extra = {}) {
    const std::string path = certs_->File("admin.token");
    std::ofstream(path) << kAdminToken << "\n";
    extra.push_back(absl::StrCat("--admin_token_file=", path));
    StartCoordinator(extra);
    stub_ = v1::Coordinator::NewStub(client::MakeChannel(coordinator_->target()));
  }

  // `authorization` is sent as is when not empty.
  std::unique_ptr<grpc::ClientContext> Context(const std::string& authorization) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!authorization.empty()) context->AddMetadata("authorization", authorization);
    return context;
  }
  grpc::Status Create(const std::string& job, const std::string& token,
                      const std::string& authorization) {
    v1::CreateJobRequest request;
    request.mutable_spec()->set_job(job);
    request.mutable_spec()->set_auth_token(token);
    request.mutable_spec()->mutable_policy()->set_kind(v1::POLICY_KIND_BSP);
    v1::Job response;
    return stub_->CreateJob(Context(authorization).get(), request, &response);
  }
  grpc::Status Update(const std::string& job, const std::string& authorization) {
    v1::UpdatePolicyRequest request;
    request.set_job(job);
    request.mutable_policy()->set_kind(v1::POLICY_KIND_LOCAL_STEPS);
    request.mutable_policy()->set_local_steps(4);
    v1::Job response;
    return stub_->UpdatePolicy(Context(authorization).get(), request, &response);
  }
  grpc::Status Delete(const std::string& job, const std::string& authorization) {
    v1::DeleteJobRequest request;
    request.set_job(job);
    v1::DeleteJobResponse response;
    return stub_->DeleteJob(Context(authorization).get(), request, &response);
  }
  // The job's policy kind, or -1 if it does not exist.
  int PolicyKind(const std::string& job) {
    v1::GetJobRequest request;
    request.set_job(job);
    v1::Job response;
    if (!stub_->GetJob(Context("").get(), request, &response).ok()) return -1;
    return response.spec().policy().kind();
  }

  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

struct Refusal {
  const char* what;
  std::string authorization;
  grpc::StatusCode code;
};

std::vector<Refusal> Refusals() {
  return {
      {"no credential", "", grpc::StatusCode::UNAUTHENTICATED},
      {"malformed", "Basic dXNlcjpwYXNz", grpc::StatusCode::UNAUTHENTICATED},
      {"wrong token", "Bearer not-the-admin-token-at-all", grpc::StatusCode::PERMISSION_DENIED},
      {"another job's token", "Bearer token-of-job-b", grpc::StatusCode::PERMISSION_DENIED},
  };
}

TEST_F(AuthTest, EveryAdminRpcRefusesMissingWrongAndOtherJobsCredentialsAndChangesNothing) {
  StartWithAdminToken();
  const std::string admin = absl::StrCat("Bearer ", kAdminToken);
  ASSERT_TRUE(Create("job-a", "token-of-job-a", admin).ok());
  ASSERT_TRUE(Create("job-b", "token-of-job-b", admin).ok());
  for (const Refusal& refusal : Refusals()) {
    SCOPED_TRACE(refusal.what);
    grpc::Status status = Create("job-new", "", refusal.authorization);
    EXPECT_EQ(status.error_code(), refusal.code) << status.error_message();
    status = Update("job-a", refusal.authorization);
    EXPECT_EQ(status.error_code(), refusal.code) << status.error_message();
    status = Delete("job-a", refusal.authorization);
    EXPECT_EQ(status.error_code(), refusal.code) << status.error_message();
    // A job that does not exist answers the same (not NOT_FOUND).
    status = Delete("no-such-job", refusal.authorization);
    EXPECT_EQ(status.error_code(), refusal.code) << status.error_message();
    EXPECT_FALSE(absl::StrContains(status.error_message(), "token-of")) << status.error_message();
    // Nothing changed.
    EXPECT_EQ(PolicyKind("job-new"), -1);
    EXPECT_EQ(PolicyKind("job-a"), v1::POLICY_KIND_BSP);
  }
  EXPECT_FALSE(absl::StrContains(coordinator_->log(), kAdminToken));
  EXPECT_TRUE(absl::StrContains(coordinator_->log(), "admin=token")) << coordinator_->log();
}

TEST_F(AuthTest, AdminTokenAndTheJobsOwnTokenAreAllowed) {
  StartWithAdminToken();
  const std::string admin = absl::StrCat("Bearer ", kAdminToken);
  ASSERT_TRUE(Create("job-a", "token-of-job-a", admin).ok());
  // Its own token: update and delete its own job.
  EXPECT_TRUE(Update("job-a", "Bearer token-of-job-a").ok());
  EXPECT_EQ(PolicyKind("job-a"), v1::POLICY_KIND_LOCAL_STEPS);
  EXPECT_TRUE(Delete("job-a", "Bearer token-of-job-a").ok());
  EXPECT_EQ(PolicyKind("job-a"), -1);
  // Self-service creation: a job whose token is the bearer token.
  EXPECT_TRUE(Create("job-c", "token-of-job-c", "Bearer token-of-job-c").ok());
  // A job without a token belongs to the admins only.
  ASSERT_TRUE(Create("tokenless", "", admin).ok());
  EXPECT_EQ(Delete("tokenless", "Bearer token-of-job-c").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Delete("tokenless", admin).ok());
  // The Job never carries a token back.
  v1::GetJobRequest get;
  get.set_job("job-c");
  v1::Job job;
  ASSERT_TRUE(stub_->GetJob(Context("").get(), get, &job).ok());
  EXPECT_TRUE(job.spec().auth_token().empty());
}

TEST_F(AuthTest, RegisterCreatesAJobOnlyWithAJobTokenOrAsAdmin) {
  StartWithAdminToken();
  v1::RegisterRequest request;
  request.set_job("auto");
  request.set_worker_name("w0");
  request.mutable_policy_if_created()->set_kind(v1::POLICY_KIND_BSP);
  v1::RegisterResponse response;
  grpc::Status status = stub_->Register(Context("").get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ(PolicyKind("auto"), -1);
  request.set_auth_token("token-of-auto");
  status = stub_->Register(Context("").get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  // The registrant's token owns the job.
  EXPECT_EQ(Delete("auto", "Bearer token-of-job-b").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Delete("auto", "Bearer token-of-auto").ok());
}

TEST_F(AuthTest, AllowedClientCertificateIdentityAdministersUnderMutualTls) {
  std::vector<std::string> flags = ServerTlsFlags(*certs_, "server", /*mutual=*/true);
  flags.push_back("--admin_identities=spiffe://ebsp.test/admin");
  StartCoordinator(flags);
  auto stub_for = [&](const std::string& client_pair) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        client::MakeChannel(coordinator_->target(), ClientTls(*certs_, "ca.pem", client_pair));
    EXPECT_TRUE(channel.ok());
    return v1::Coordinator::NewStub(*channel);
  };
  v1::CreateJobRequest create;
  create.mutable_spec()->set_job("cert-job");
  v1::Job job;
  stub_ = stub_for("client");  // A worker's certificate: authenticated, not admin.
  grpc::Status status = stub_->CreateJob(Context("").get(), create, &job);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  stub_ = stub_for("admin");
  status = stub_->CreateJob(Context("").get(), create, &job);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(Delete("cert-job", "").ok());
}

TEST_F(AuthTest, WithoutAdminCredentialOnlyLoopbackAdministers) {
  // Listens on every address; the test dials its own non-loopback address,
  // which the coordinator sees as a remote peer.
  StartCoordinator({"--listen_address=0.0.0.0:0"});
  EXPECT_TRUE(absl::StrContains(coordinator_->log(), "admin=loopback_only")) << coordinator_->log();
  stub_ = v1::Coordinator::NewStub(client::MakeChannel(coordinator_->target()));
  ASSERT_TRUE(Create("local", "", "").ok());  // From 127.0.0.1: allowed.
  const std::string remote_host = NonLoopbackIpv4();
  ASSERT_FALSE(remote_host.empty()) << "this machine has no non-loopback IPv4 address";
  stub_ = v1::Coordinator::NewStub(
      client::MakeChannel(absl::StrCat(remote_host, ":", coordinator_->grpc_port())));
  const grpc::Status status = Delete("local", "");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "only from loopback"));
  EXPECT_EQ(PolicyKind("local"), v1::POLICY_KIND_BSP);  // Still there.
}

}  // namespace
}  // namespace ebsp::testing
