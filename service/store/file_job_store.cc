#include "service/store/file_job_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/core/job/names.h"
#include "service/auth/token_hash.h"

namespace ebsp::server {
namespace {

constexpr absl::string_view kHeaderPrefix = "# ebsp job record v1 sha256=";
constexpr absl::string_view kRecordPrefix = "job-";
constexpr absl::string_view kRecordSuffix = ".txtpb";
constexpr absl::string_view kTempPrefix = ".tmp-";

std::string Errno(absl::string_view what, const std::string& path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

std::string Sha256Hex(absl::string_view bytes) {
  const auth::Sha256Digest d = auth::Sha256(bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * d.size());
  for (uint8_t b : d) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return hex;
}

// Writes all of `data` to `fd`; false with errno set on failure.
bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::FailedPreconditionError(Errno("cannot open state file", path));
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string error = Errno("cannot read state file", path);
      close(fd);
      return absl::FailedPreconditionError(error);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 24)) {
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat("state file ", path, " is larger than 16 MiB; not a job record"));
    }
  }
  close(fd);
  return text;
}

absl::Status FsyncDir(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(Errno("cannot open state directory", dir));
  const bool ok = fsync(fd) == 0;
  const std::string error = ok ? "" : Errno("cannot fsync state directory", dir);
  close(fd);
  return ok ? absl::OkStatus() : absl::UnavailableError(error);
}

absl::Status MakeDirs(const std::string& dir) {
  // mkdir -p, bounded by the number of path components.
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(Errno("cannot create state directory", prefix));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileJobStore>> FileJobStore::Open(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("state directory is empty");
  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(Errno("cannot stat state directory", dir));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("state directory ", dir, " exists but is not a directory"));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(Errno("state directory is not writable:", dir));
  }
  return std::unique_ptr<FileJobStore>(new FileJobStore(dir));
}

std::string FileJobStore::PathOf(absl::string_view job) const {
  return absl::StrCat(dir_, "/", kRecordPrefix, job, kRecordSuffix);
}

std::string FileJobStore::Encode(const JobRecord& record) {
  std::string body;
  google::protobuf::TextFormat::PrintToString(record, &body);
  return absl::StrCat(kHeaderPrefix, Sha256Hex(body), "\n", body);
}

absl::StatusOr<JobRecord> FileJobStore::Decode(absl::string_view text, absl::string_view path) {
  const size_t newline = text.find('\n');
  absl::string_view header = text.substr(0, newline);
  if (newline == absl::string_view::npos || !absl::ConsumePrefix(&header, kHeaderPrefix)) {
    return absl::DataLossError(absl::StrCat(
        "state file ", path, " does not start with \"", kHeaderPrefix,
        "...\": not a job record, or truncated; move it away to start without this job"));
  }
  const absl::string_view body = text.substr(newline + 1);
  if (Sha256Hex(body) != header) {
    return absl::DataLossError(absl::StrCat(
        "state file ", path,
        " fails its checksum: it is corrupt or was edited (after editing, fix the sha256 on the "
        "first line); move it away to start without this job"));
  }
  JobRecord record;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(body), &record)) {
    return absl::DataLossError(absl::StrCat("state file ", path,
                                            " has a valid checksum but is not a JobRecord in text "
                                            "format (written by a newer coordinator?)"));
  }
  return record;
}

absl::StatusOr<std::vector<JobRecord>> FileJobStore::LoadAll() {
  absl::MutexLock lock(&mu_);
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr)
    return absl::FailedPreconditionError(Errno("cannot list state directory", dir_));
  std::vector<std::string> names;
  // readdir ends at the directory's end; a directory is finite.
  while (const dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    if (absl::StartsWith(name, kRecordPrefix) && absl::EndsWith(name, kRecordSuffix)) {
      names.emplace_back(name);
    }
  }
  closedir(d);
  std::vector<JobRecord> records;
  records.reserve(names.size());
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir_, "/", name);
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) return text.status();
    absl::StatusOr<JobRecord> record = Decode(*text, path);
    if (!record.ok()) return record.status();
    absl::string_view job = name;
    job.remove_prefix(kRecordPrefix.size());
    job.remove_suffix(kRecordSuffix.size());
    if (record->job() != job) {
      return absl::DataLossError(absl::StrCat("state file ", path, " holds job \"", record->job(),
                                              "\", not \"", job, "\" as its name says"));
    }
    if (absl::Status s = core::ValidateJobName(record->job()); !s.ok()) {
      return absl::DataLossError(absl::StrCat("state file ", path, ": ", s.message()));
    }
    if (absl::StatusOr<auth::TokenHash> h = auth::TokenHash::FromHex(record->auth_token_sha256());
        !h.ok()) {
      return absl::DataLossError(absl::StrCat("state file ", path, ": ", h.status().message()));
    }
    records.push_back(*std::move(record));
  }
  return records;
}

absl::Status FileJobStore::Put(const JobRecord& record) {
  if (absl::Status s = core::ValidateJobName(record.job()); !s.ok()) return s;
  const std::string text = Encode(record);
  absl::MutexLock lock(&mu_);
  const std::string path = PathOf(record.job());
  const std::string temp =
      absl::StrCat(dir_, "/", kTempPrefix, kRecordPrefix, record.job(), kRecordSuffix);
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(Errno("cannot create", temp));
  if (!WriteAll(fd, text) || fsync(fd) != 0) {
    const std::string error = Errno("cannot write", temp);
    close(fd);
    unlink(temp.c_str());
    return absl::UnavailableError(error);
  }
  if (close(fd) != 0) {
    const std::string error = Errno("cannot close", temp);
    unlink(temp.c_str());
    return absl::UnavailableError(error);
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const std::string error = Errno(absl::StrCat("cannot rename ", temp, " to"), path);
    unlink(temp.c_str());
    return absl::UnavailableError(error);
  }
  return FsyncDir(dir_);
}

absl::Status FileJobStore::Delete(absl::string_view job) {
  if (absl::Status s = core::ValidateJobName(job); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const std::string path = PathOf(job);
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::UnavailableError(Errno("cannot remove", path));
  }
  return FsyncDir(dir_);
}

}  // namespace ebsp::server
