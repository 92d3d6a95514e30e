// The membership fingerprint: known values (for clients in other languages
// that reproduce it) and the properties the proto promises.
#include "lib/core/job/membership_fingerprint.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/core/job/job_state.h"
#include "tests/core/test_support.h"

namespace ebsp::core {
namespace {

TEST(MembershipFingerprintTest, MatchesPublishedFnvAndSplitMixVectors) {
  // FNV-1a-64 reference values, and SplitMix64's first output for seed 0.
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafULL);
}

TEST(MembershipFingerprintTest, KnownNameValues) {
  // Clients in other languages check their implementation against these.
  EXPECT_EQ(NameFingerprint("a"), 0x5f29c2aadd9b8527ULL);
  EXPECT_EQ(NameFingerprint("host-0:0"), 0x9d08ff0dc7200891ULL);
  EXPECT_EQ(NameFingerprint("w0"), 0x99b6e9ce4b7a6e1aULL);
  EXPECT_EQ(NameFingerprint("w1"), 0x0e245bb888c47a03ULL);
  EXPECT_EQ(NameFingerprint("w2"), 0xc05dc9f7f6bb46ffULL);
  EXPECT_EQ(NameFingerprint("w0") + NameFingerprint("w1") + NameFingerprint("w2"),
            0x68390f7ecafa2f1cULL);
}

class JobFingerprintTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobState> MakeJob() {
    JobOptions options;
    options.policy = *ParsePolicy("bsp");
    return std::make_unique<JobState>("job", options, clock_.Now());
  }
  testing::VirtualClock clock_;
};

TEST_F(JobFingerprintTest, EmptyJobIsZeroAndSumFollowsJoinsAndLeaves) {
  auto job = MakeJob();
  EXPECT_EQ(job->membership_fingerprint(), 0u);
  absl::StatusOr<RegisterResult> r0 = job->Register(10, "w0", clock_.Now());
  ASSERT_TRUE(r0.ok()) << r0.status();
  EXPECT_EQ(r0->membership_fingerprint, NameFingerprint("w0"));
  ASSERT_TRUE(job->Register(11, "w1", clock_.Now()).ok());
  ASSERT_TRUE(job->Register(12, "w2", clock_.Now()).ok());
  EXPECT_EQ(job->membership_fingerprint(), 0x68390f7ecafa2f1cULL);
  EXPECT_EQ(job->Snapshot(clock_.Now()).membership_fingerprint, 0x68390f7ecafa2f1cULL);
  absl::StatusOr<HeartbeatResult> hb = job->Heartbeat(11, clock_.Now());
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->membership_fingerprint, 0x68390f7ecafa2f1cULL);

  ASSERT_TRUE(job->Leave(11, clock_.Now()).ok());
  EXPECT_EQ(job->membership_fingerprint(), NameFingerprint("w0") + NameFingerprint("w2"));
  clock_.Advance(absl::Seconds(60));  // Every lease expires.
  job->Tick(clock_.Now());
  EXPECT_EQ(job->membership_fingerprint(), 0u);
}

TEST_F(JobFingerprintTest, SameNamesInAnyOrderWithNewIdsGiveTheSameValue) {
  std::vector<std::string> names = {"host-3:1", "host-0:0", "b", "a:7", "host-12:3"};
  auto first = MakeJob();
  WorkerId id = 1;
  for (const std::string& name : names) ASSERT_TRUE(first->Register(id++, name, clock_.Now()).ok());
  std::reverse(names.begin(), names.end());
  auto second = MakeJob();  // As after a coordinator restart: other ids.
  id = 1000;
  for (const std::string& name : names) {
    ASSERT_TRUE(second->Register(id++, name, clock_.Now()).ok());
  }
  EXPECT_EQ(first->membership_fingerprint(), second->membership_fingerprint());
  // Leaving and rejoining under a new id restores it.
  const uint64_t before = second->membership_fingerprint();
  ASSERT_TRUE(second->Leave(1000, clock_.Now()).ok());
  EXPECT_NE(second->membership_fingerprint(), before);
  ASSERT_TRUE(second->Register(2000, names[0], clock_.Now()).ok());
  EXPECT_EQ(second->membership_fingerprint(), before);
}

}  // namespace
}  // namespace ebsp::core
