// The file job store and the token hash: atomic replace, reload, and a clear
// error (path and reason) for every kind of bad file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "service/auth/token_hash.h"
#include "service/store/file_job_store.h"

namespace ebsp::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ebsp-store-XXXXXX").string();
  const char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

JobRecord Record(const std::string& job, std::vector<std::string> roster = {}) {
  JobRecord r;
  r.set_job(job);
  r.mutable_policy()->set_kind(::elasticbsp::v1::POLICY_KIND_ELASTIC_BSP);
  r.mutable_policy()->set_lookahead(7);
  r.set_heartbeat_timeout_seconds(12.5);
  r.set_max_workers(64);
  r.set_auth_token_sha256(auth::TokenHash::Of("s3cret").hex());
  r.set_create_request_id("create-1");
  for (std::string& name : roster) r.add_roster(std::move(name));
  return r;
}

class FileJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    absl::StatusOr<std::unique_ptr<FileJobStore>> store = FileJobStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::unique_ptr<FileJobStore> store_;
};

TEST_F(FileJobStoreTest, PutThenLoadAllGivesTheRecordsBack) {
  ASSERT_TRUE(store_->Put(Record("a", {"h0:0", "h1:0"})).ok());
  ASSERT_TRUE(store_->Put(Record("b.2-x")).ok());
  absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  std::map<std::string, JobRecord> by_name;
  for (const JobRecord& r : *loaded) by_name[r.job()] = r;
  EXPECT_EQ(by_name["a"].SerializeAsString(), Record("a", {"h0:0", "h1:0"}).SerializeAsString());
  EXPECT_EQ(by_name["b.2-x"].SerializeAsString(), Record("b.2-x").SerializeAsString());
  // A second store on the same directory (a restarted coordinator) sees them.
  absl::StatusOr<std::unique_ptr<FileJobStore>> reopened = FileJobStore::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  absl::StatusOr<std::vector<JobRecord>> again = (*reopened)->LoadAll();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->size(), 2u);
}

TEST_F(FileJobStoreTest, PutReplacesTheWholeRecordAndLeavesNoTempFile) {
  ASSERT_TRUE(store_->Put(Record("a", {"x", "y", "z"})).ok());
  ASSERT_TRUE(store_->Put(Record("a", {"x"})).ok());
  absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].roster_size(), 1);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    ++files;
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr("tmp")));
  }
  EXPECT_EQ(files, 1);
}

TEST_F(FileJobStoreTest, ALeftoverTempFileFromACrashIsIgnored) {
  ASSERT_TRUE(store_->Put(Record("a")).ok());
  WriteAll(dir_ + "/.tmp-job-a.txtpb", "half a rec");
  absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 1u);
}

TEST_F(FileJobStoreTest, DeleteRemovesTheRecordAndIsOkWhenThereIsNone) {
  ASSERT_TRUE(store_->Put(Record("a")).ok());
  ASSERT_TRUE(store_->Delete("a").ok());
  EXPECT_TRUE(store_->Delete("a").ok());
  absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
}

TEST_F(FileJobStoreTest, TheTokenIsNeverWrittenOnlyItsHash) {
  ASSERT_TRUE(store_->Put(Record("a")).ok());
  const std::string text = ReadAll(store_->PathOf("a"));
  EXPECT_THAT(text, Not(HasSubstr("s3cret")));
  EXPECT_THAT(text, HasSubstr(auth::TokenHash::Of("s3cret").hex()));
  EXPECT_THAT(text, HasSubstr("# ebsp job record v1 sha256="));
}

TEST_F(FileJobStoreTest, AFlippedByteFailsTheLoadNamingTheFile) {
  ASSERT_TRUE(store_->Put(Record("a")).ok());
  const std::string path = store_->PathOf("a");
  std::string text = ReadAll(path);
  text[text.size() - 3] ^= 0x01;
  WriteAll(path, text);
  absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr(path));
  EXPECT_THAT(loaded.status().message(), HasSubstr("checksum"));
}

TEST_F(FileJobStoreTest, TruncatedEmptyOrForeignFilesFailTheLoadNamingTheFile) {
  const std::string path = store_->PathOf("a");
  for (const std::string& text : {std::string(""), std::string("garbage without a header"),
                                  std::string("# ebsp job record v1 sha256=00\n"),
                                  FileJobStore::Encode(Record("a")).substr(0, 40)}) {
    WriteAll(path, text);
    absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << "for: " << text;
    EXPECT_THAT(loaded.status().message(), HasSubstr(path));
  }
}

TEST_F(FileJobStoreTest, ARecordUnderAnotherJobsNameFailsTheLoad) {
  WriteAll(store_->PathOf("a"), FileJobStore::Encode(Record("b")));
  absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("holds job \"b\""));
}

TEST_F(FileJobStoreTest, AnUnreadableFileFailsTheLoadNamingTheFile) {
  if (geteuid() == 0) {
    // root reads a mode-000 file anyway; a directory in its place is
    // unreadable as a file for everyone.
    std::filesystem::create_directory(store_->PathOf("a"));
  } else {
    WriteAll(store_->PathOf("a"), "x");
    chmod(store_->PathOf("a").c_str(), 0);
  }
  absl::StatusOr<std::vector<JobRecord>> loaded = store_->LoadAll();
  EXPECT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr(store_->PathOf("a")));
}

TEST(FileJobStoreOpenTest, AFileWhereTheDirectoryShouldBeIsAClearError) {
  const std::string dir = MakeTempDir();
  WriteAll(dir + "/state", "not a dir");
  absl::StatusOr<std::unique_ptr<FileJobStore>> store = FileJobStore::Open(dir + "/state");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr(dir + "/state"));
  // A missing directory is created, parents included.
  EXPECT_TRUE(FileJobStore::Open(dir + "/x/y/z").ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/x/y/z"));
  std::filesystem::remove_all(dir);
}

TEST(TokenHashTest, MatchesOnlyTheTokenAndEmptyMatchesAnything) {
  const auth::TokenHash h = auth::TokenHash::Of("s3cret");
  EXPECT_TRUE(h.Matches("s3cret"));
  EXPECT_FALSE(h.Matches("s3cre"));
  EXPECT_FALSE(h.Matches("s3cret "));
  EXPECT_FALSE(h.Matches(""));
  EXPECT_TRUE(auth::TokenHash().Matches("anything"));
  EXPECT_TRUE(auth::TokenHash::Of("").empty());
  // SHA-256("abc"), the FIPS 180-2 example.
  EXPECT_EQ(auth::TokenHash::Of("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  absl::StatusOr<auth::TokenHash> back = auth::TokenHash::FromHex(h.hex());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Matches("s3cret"));
  EXPECT_FALSE(auth::TokenHash::FromHex("abc").ok());
  EXPECT_FALSE(auth::TokenHash::FromHex(std::string(64, 'G')).ok());
  EXPECT_TRUE(auth::ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(auth::ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(auth::ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace ebsp::server
