// FileJobStore: a JobStore of one file per job in a directory
// (--state_dir), for a single coordinator with a volume.
//
// Layout: <dir>/job-<name>.txtpb, a first line
//   # ebsp job record v1 sha256=<64 hex digits of the rest of the file>
// followed by the JobRecord in protobuf text format (readable by operators).
// A Put writes <dir>/.tmp-job-<name>.txtpb, fsyncs it, renames it over the
// record and fsyncs the directory, so after a crash (kill -9, power loss) a
// record is either the old or the new one. Leftover temp files are ignored
// and removed by the next Put of that job. A record whose checksum, text or
// name does not fit fails LoadAll with the file's path and the reason.
// Thread-safe (one mutex around the file operations).
#ifndef EBSP_SERVICE_STORE_FILE_JOB_STORE_H_
#define EBSP_SERVICE_STORE_FILE_JOB_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/store/job_store.h"

namespace ebsp::server {

class FileJobStore final : public JobStore {
 public:
  // Creates `dir` (and its parents) if missing; FAILED_PRECONDITION naming
  // the path if it cannot, or if it is not a writable directory.
  static absl::StatusOr<std::unique_ptr<FileJobStore>> Open(const std::string& dir);

  absl::StatusOr<std::vector<JobRecord>> LoadAll() override;
  absl::Status Put(const JobRecord& record) override;
  absl::Status Delete(absl::string_view job) override;

  // The path of a job's record (tests corrupt it on purpose).
  std::string PathOf(absl::string_view job) const;

  // The file's text for `record` and back; exposed for tests.
  static std::string Encode(const JobRecord& record);
  // `path` only names the file in error messages.
  static absl::StatusOr<JobRecord> Decode(absl::string_view text, absl::string_view path);

 private:
  explicit FileJobStore(std::string dir) : dir_(std::move(dir)) {}

  const std::string dir_;
  absl::Mutex mu_;  // Serializes file operations; guards no field.
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_STORE_FILE_JOB_STORE_H_
