#include "tests/security/security_fixture.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "tests/client/cpp/support/subprocess.h"

namespace ebsp::testing {

absl::StatusOr<std::unique_ptr<TestCerts>> TestCerts::Make() {
  absl::StatusOr<std::string> dir = MakeTempDir("ebsp-certs");
  if (!dir.ok()) return dir.status();
  std::unique_ptr<TestCerts> certs(new TestCerts(*dir));
  const std::string log = *dir + "/make_certs.log";
  absl::StatusOr<std::unique_ptr<Subprocess>> run =
      Subprocess::Spawn({"/bin/bash", EBSP_MAKE_CERTS_PATH, *dir}, log, log);
  if (!run.ok()) return run.status();
  absl::StatusOr<int> code = (*run)->Wait(absl::Seconds(60));
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(
        absl::StrCat("make_certs.sh exited ", *code, ":\n", ReadFileOrEmpty(log)));
  }
  return certs;
}

TestCerts::~TestCerts() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

client::TlsChannelOptions ClientTls(const TestCerts& certs, const std::string& ca,
                                    const std::string& client, const std::string& server_name) {
  client::TlsChannelOptions tls;
  tls.enabled = true;
  tls.ca_file = certs.File(ca);
  if (!client.empty()) {
    tls.cert_file = certs.File(client + ".pem");
    tls.key_file = certs.File(client + ".key");
  }
  tls.server_name = server_name;
  return tls;
}

std::vector<std::string> ServerTlsFlags(const TestCerts& certs, const std::string& server,
                                        bool mutual) {
  std::vector<std::string> flags = {
      absl::StrCat("--tls_cert=", certs.File(server + ".pem")),
      absl::StrCat("--tls_key=", certs.File(server + ".key")),
  };
  if (mutual) {
    flags.push_back(absl::StrCat("--tls_client_ca=", certs.File("ca.pem")));
    flags.push_back("--tls_require_client_cert");
  }
  return flags;
}

grpc::Status TryListJobs(const std::string& target, const client::TlsChannelOptions& tls,
                         absl::Duration deadline) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = client::MakeChannel(target, tls);
  if (!channel.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string(channel.status().message()));
  }
  auto stub = elasticbsp::v1::Coordinator::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  elasticbsp::v1::ListJobsResponse response;
  return stub->ListJobs(&context, elasticbsp::v1::ListJobsRequest(), &response);
}

void SecurityFixture::SetUp() {
  absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Make();
  ASSERT_TRUE(certs.ok()) << certs.status();
  certs_ = std::move(*certs);
}

void SecurityFixture::StartCoordinator(std::vector<std::string> flags) {
  CoordinatorProcess::Options options;
  options.flags = std::move(flags);
  absl::StatusOr<std::unique_ptr<CoordinatorProcess>> started =
      CoordinatorProcess::Start(std::move(options));
  ASSERT_TRUE(started.ok()) << started.status();
  coordinator_ = std::move(*started);
}

client::ClientOptions SecurityFixture::WorkerOptions(const std::string& job,
                                                     const std::string& name,
                                                     const client::TlsChannelOptions& tls) {
  client::ClientOptions options;
  options.target = coordinator_->target();
  options.job = job;
  options.worker_name = name;
  options.tls = tls;
  absl::StatusOr<elasticbsp::v1::Policy> bsp = client::ParsePolicyText("bsp");
  EXPECT_TRUE(bsp.ok());
  if (bsp.ok()) options.policy_if_created = *bsp;
  return options;
}

}  // namespace ebsp::testing
