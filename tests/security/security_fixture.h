// Shared pieces of the security tests: certificates made at test time by
// make_certs.sh (the openssl CLI), a real ebsp-coordinator started with TLS
// flags, and raw stubs with chosen channel credentials.
#ifndef EBSP_TESTS_SECURITY_SECURITY_FIXTURE_H_
#define EBSP_TESTS_SECURITY_SECURITY_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "clients/cpp/ebsp/channel.h"
#include "clients/cpp/ebsp/client.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/coordinator_process.h"

namespace ebsp::testing {

// The certificates of one test (make_certs.sh lists them), in a temporary
// directory removed at the end.
class TestCerts {
 public:
  // Runs make_certs.sh; the error carries its output.
  static absl::StatusOr<std::unique_ptr<TestCerts>> Make();
  ~TestCerts();

  // Path of a file make_certs.sh wrote, e.g. File("ca.pem").
  std::string File(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }

 private:
  explicit TestCerts(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// Client TLS options: CA `ca`, and the client pair `client` ("client" ->
// client.pem, client.key) unless empty. server_name is set when not empty.
client::TlsChannelOptions ClientTls(const TestCerts& certs, const std::string& ca,
                                    const std::string& client, const std::string& server_name = "");

// The coordinator's flags for TLS with server pair `server` ("server" ->
// server.pem, server.key); with a client CA and required client
// certificates when `mutual`.
std::vector<std::string> ServerTlsFlags(const TestCerts& certs, const std::string& server,
                                        bool mutual);

// One ListJobs over a fresh channel with `tls`, with a deadline: the status
// says whether the handshake let the call through.
grpc::Status TryListJobs(const std::string& target, const client::TlsChannelOptions& tls,
                         absl::Duration deadline = absl::Seconds(5));

class SecurityFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  void StartCoordinator(std::vector<std::string> flags);

  client::ClientOptions WorkerOptions(const std::string& job, const std::string& name,
                                      const client::TlsChannelOptions& tls);

  std::unique_ptr<TestCerts> certs_;
  std::unique_ptr<CoordinatorProcess> coordinator_;
};

}  // namespace ebsp::testing

#endif  // EBSP_TESTS_SECURITY_SECURITY_FIXTURE_H_
