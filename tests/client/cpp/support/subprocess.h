// A child process for tests: spawned with its output in files, signalled,
// and waited for with a deadline (on a pidfd, so waiting never polls).
#ifndef EBSP_TESTS_CLIENT_CPP_SUPPORT_SUBPROCESS_H_
#define EBSP_TESTS_CLIENT_CPP_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ebsp::testing {

class Subprocess {
 public:
  // Runs argv[0] (a path) with `argv`; stdout and stderr are appended to the
  // given files.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const std::vector<std::string>& argv,
                                                           const std::string& stdout_path,
                                                           const std::string& stderr_path);

  // Kills (SIGKILL) and reaps the child if it still runs.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // Readable once the child has exited; for poll() together with other fds.
  int pidfd() const { return pidfd_; }

  void Signal(int signal);
  // The exit code (128 + signal if killed by one), or DEADLINE_EXCEEDED if
  // it still runs after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  bool HasExited() const;

 private:
  Subprocess(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}

  pid_t pid_;
  int pidfd_;
  bool reaped_ = false;
  int exit_code_ = 0;
};

std::string ReadFileOrEmpty(const std::string& path);

// A fresh directory under $TMPDIR (or /tmp); its owner removes it. An error
// if none could be made (never a shared directory the owner would remove).
absl::StatusOr<std::string> MakeTempDir(const std::string& prefix);

}  // namespace ebsp::testing

#endif  // EBSP_TESTS_CLIENT_CPP_SUPPORT_SUBPROCESS_H_
