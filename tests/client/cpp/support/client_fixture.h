// Shared pieces of the client tests: a coordinator per test and options for
// clients of one of its jobs.
#ifndef EBSP_TESTS_CLIENT_CPP_SUPPORT_CLIENT_FIXTURE_H_
#define EBSP_TESTS_CLIENT_CPP_SUPPORT_CLIENT_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "clients/cpp/ebsp/client.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "gtest/gtest.h"
#include "tests/client/cpp/support/coordinator_process.h"

namespace ebsp::testing {

class ClientFixture : public ::testing::Test {
 protected:
  // Starts a coordinator with `flags`; the test fails if it does not serve.
  void StartCoordinator(std::vector<std::string> flags = {}) {
    CoordinatorProcess::Options options;
    options.flags = std::move(flags);
    absl::StatusOr<std::unique_ptr<CoordinatorProcess>> started =
        CoordinatorProcess::Start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status();
    coordinator_ = std::move(*started);
  }

  // Options for worker `name` of `job`, created with `policy` if new.
  ebsp::client::ClientOptions Options(const std::string& job, const std::string& name,
                                      const std::string& policy = "bsp") {
    ebsp::client::ClientOptions options;
    options.target = coordinator_ != nullptr ? coordinator_->target() : "";
    options.job = job;
    options.worker_name = name;
    absl::StatusOr<elasticbsp::v1::Policy> parsed = ebsp::client::ParsePolicyText(policy);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (parsed.ok()) options.policy_if_created = *parsed;
    return options;
  }

  std::unique_ptr<ebsp::client::Client> MustConnect(ebsp::client::ClientOptions options) {
    absl::StatusOr<std::unique_ptr<ebsp::client::Client>> client =
        ebsp::client::Client::Connect(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  std::unique_ptr<CoordinatorProcess> coordinator_;
};

}  // namespace ebsp::testing

#endif  // EBSP_TESTS_CLIENT_CPP_SUPPORT_CLIENT_FIXTURE_H_
