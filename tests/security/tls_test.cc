// TLS and mutual TLS on the coordinator's gRPC port, with certificates made
// by the openssl CLI at test time: every handshake that must fail fails
// (with a passing control in the same test), the C++ client's normal path
// works under mutual TLS, and a rotated certificate is served to new
// handshakes while an established connection keeps working.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/subprocess.h"
#include "tests/security/security_fixture.h"

namespace ebsp::testing {
namespace {

namespace fs = std::filesystem;
using client::TlsChannelOptions;

class TlsTest : public SecurityFixture {
 protected:
  void ExpectRefused(const TlsChannelOptions& tls) {
    const grpc::Status status = TryListJobs(coordinator_->target(), tls);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  void ExpectServed(const TlsChannelOptions& tls) {
    const grpc::Status status = TryListJobs(coordinator_->target(), tls);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  }
};

TEST_F(TlsTest, StartLogSaysWhichModeIsOn) {
  StartCoordinator({});
  EXPECT_TRUE(absl::StrContains(coordinator_->log(), "transport=plaintext")) << coordinator_->log();
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/false));
  EXPECT_TRUE(absl::StrContains(coordinator_->log(), "transport=tls ")) << coordinator_->log();
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/true));
  EXPECT_TRUE(absl::StrContains(coordinator_->log(), "transport=mtls ")) << coordinator_->log();
}

TEST_F(TlsTest, PlaintextClientAgainstTlsServerFails) {
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/false));
  ExpectRefused(TlsChannelOptions{});
  ExpectServed(ClientTls(*certs_, "ca.pem", ""));
}

TEST_F(TlsTest, ClientTrustingAnotherCaFails) {
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/false));
  ExpectRefused(ClientTls(*certs_, "other_ca.pem", ""));
  ExpectServed(ClientTls(*certs_, "ca.pem", ""));
}

TEST_F(TlsTest, MissingClientCertificateFailsWhenRequired) {
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/true));
  ExpectRefused(ClientTls(*certs_, "ca.pem", ""));
  ExpectServed(ClientTls(*certs_, "ca.pem", "client"));
}

TEST_F(TlsTest, ClientCertificateOfAnotherCaFails) {
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/true));
  ExpectRefused(ClientTls(*certs_, "ca.pem", "other_client"));
  ExpectServed(ClientTls(*certs_, "ca.pem", "client"));
}

TEST_F(TlsTest, ExpiredServerCertificateFails) {
  StartCoordinator(ServerTlsFlags(*certs_, "expired_server", /*mutual=*/false));
  ExpectRefused(ClientTls(*certs_, "ca.pem", ""));
}

TEST_F(TlsTest, ExpiredClientCertificateFails) {
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/true));
  ExpectRefused(ClientTls(*certs_, "ca.pem", "expired_client"));
  ExpectServed(ClientTls(*certs_, "ca.pem", "client"));
}

TEST_F(TlsTest, ServerNameOverrideIsChecked) {
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/true));
  ExpectServed(ClientTls(*certs_, "ca.pem", "client", "coordinator.test"));
  ExpectRefused(ClientTls(*certs_, "ca.pem", "client", "someone-else.test"));
}

TEST_F(TlsTest, CppClientNormalPathUnderMutualTls) {
  StartCoordinator(ServerTlsFlags(*certs_, "server", /*mutual=*/true));
  client::ClientOptions options =
      WorkerOptions("mtls-job", "w0", ClientTls(*certs_, "ca.pem", "client", "coordinator.test"));
  int retries = 0;
  options.on_retry = [&](const client::RetryEvent&) { ++retries; };
  absl::StatusOr<std::unique_ptr<client::Client>> worker = client::Client::Connect(options);
  ASSERT_TRUE(worker.ok()) << worker.status();
  for (int round = 0; round < 5; ++round) {
    absl::StatusOr<client::StepResult> step = (*worker)->IterationDone(absl::Milliseconds(1));
    ASSERT_TRUE(step.ok()) << step.status();
    ASSERT_TRUE(step->sync_now);  // BSP: every iteration ends a round.
    absl::StatusOr<client::SyncResult> sync = (*worker)->Sync();
    ASSERT_TRUE(sync.ok()) << sync.status();
  }
  EXPECT_TRUE((*worker)->Leave().ok());
  EXPECT_EQ(retries, 0);
  // The same options without the client certificate are refused.
  client::ClientOptions anonymous = options;
  anonymous.tls.cert_file.clear();
  anonymous.tls.key_file.clear();
  anonymous.worker_name = "w1";
  anonymous.retry.outage_budget = absl::Seconds(1);
  EXPECT_EQ(client::Client::Connect(anonymous).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, UnreadableOrInconsistentTlsFlagsFailTheStart) {
  const std::vector<std::vector<std::string>> bad = {
      {absl::StrCat("--tls_cert=", certs_->File("missing.pem")),
       absl::StrCat("--tls_key=", certs_->File("server.key"))},
      {absl::StrCat("--tls_cert=", certs_->File("server.key")),  // a key is not a certificate
       absl::StrCat("--tls_key=", certs_->File("server.key"))},
      {absl::StrCat("--tls_cert=", certs_->File("server.pem"))},  // no key
      {absl::StrCat("--tls_cert=", certs_->File("server.pem")),
       absl::StrCat("--tls_key=", certs_->File("server.key")), "--tls_require_client_cert"},
  };
  for (const std::vector<std::string>& flags : bad) {
    CoordinatorProcess::Options options;
    options.flags = flags;
    options.ready_timeout = absl::Seconds(20);
    absl::StatusOr<std::unique_ptr<CoordinatorProcess>> started =
        CoordinatorProcess::Start(options);
    ASSERT_FALSE(started.ok()) << absl::StrJoin(flags, " ");
    EXPECT_TRUE(absl::StrContains(started.status().message(), "--tls_"))
        << started.status().message();
  }
}

// The layout of a Kubernetes Secret volume: files are symlinks through
// ..data, which the kubelet swaps atomically to a new directory.
class SecretVolume {
 public:
  explicit SecretVolume(std::string dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    for (const char* name : {"tls.crt", "tls.key", "ca.crt"}) {
      fs::create_symlink(std::string("..data/") + name, dir_ + "/" + name);
    }
  }
  // Puts the three files into a fresh directory and swaps ..data to it.
  void Publish(const std::string& cert, const std::string& key, const std::string& ca) {
    const std::string generation = absl::StrCat("..gen", ++generations_);
    fs::create_directory(dir_ + "/" + generation);
    fs::copy_file(cert, dir_ + "/" + generation + "/tls.crt");
    fs::copy_file(key, dir_ + "/" + generation + "/tls.key");
    fs::copy_file(ca, dir_ + "/" + generation + "/ca.crt");
    fs::create_symlink(generation, dir_ + "/..data_tmp");
    fs::rename(dir_ + "/..data_tmp", dir_ + "/..data");
  }
  std::string File(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  int generations_ = 0;
};

TEST_F(TlsTest, RotatedCertificateServesNewHandshakesAndKeepsEstablishedConnections) {
  SecretVolume volume(certs_->File("secret"));
  volume.Publish(certs_->File("server.pem"), certs_->File("server.key"), certs_->File("ca.pem"));
  StartCoordinator({absl::StrCat("--tls_cert=", volume.File("tls.crt")),
                    absl::StrCat("--tls_key=", volume.File("tls.key")),
                    absl::StrCat("--tls_client_ca=", volume.File("ca.crt")),
                    "--tls_require_client_cert", "--tls_reload_interval=1s"});

  // A worker that trusts only the first CA, connected before the rotation.
  client::ClientOptions options =
      WorkerOptions("rotation", "w0", ClientTls(*certs_, "ca.pem", "client"));
  int retries = 0;
  options.on_retry = [&](const client::RetryEvent&) { ++retries; };
  absl::StatusOr<std::unique_ptr<client::Client>> worker = client::Client::Connect(options);
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto run_rounds = [&](int rounds) {
    for (int i = 0; i < rounds; ++i) {
      absl::StatusOr<client::StepResult> step = (*worker)->IterationDone(absl::Milliseconds(1));
      ASSERT_TRUE(step.ok()) << step.status();
      ASSERT_TRUE((*worker)->Sync().ok());
    }
  };
  run_rounds(3);

  // cert-manager renews: a server certificate from another CA (the client
  // CA stays), published the way the kubelet does it.
  volume.Publish(certs_->File("server2.pem"), certs_->File("server2.key"), certs_->File("ca.pem"));
  // New handshakes get the new certificate within a few reload periods:
  // wait_for_ready keeps the call waiting through failed handshakes until
  // one succeeds or the deadline passes.
  {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        client::MakeChannel(coordinator_->target(), ClientTls(*certs_, "ca2.pem", "client"));
    ASSERT_TRUE(channel.ok());
    auto stub = elasticbsp::v1::Coordinator::NewStub(*channel);
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    elasticbsp::v1::ListJobsResponse jobs;
    const grpc::Status status = stub->ListJobs(&context, {}, &jobs);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // A new handshake trusting only the first CA now fails...
  ExpectRefused(ClientTls(*certs_, "ca.pem", "client"));
  // ...while the connection established before the rotation keeps serving
  // the run, without a single retry or reconnect.
  run_rounds(3);
  EXPECT_EQ(retries, 0);
  EXPECT_TRUE((*worker)->Leave().ok());
  EXPECT_TRUE(absl::StrContains(coordinator_->log(), "transport=mtls ")) << coordinator_->log();
}

}  // namespace
}  // namespace ebsp::testing
