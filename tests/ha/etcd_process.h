// A real etcd (Debian's etcd-server) on 127.0.0.1 for tests: ports picked at
// run time, a data directory of its own, started, killed, restarted on the
// same ports (and data), and waited for with deadlines.
#ifndef EBSP_TESTS_HA_ETCD_PROCESS_H_
#define EBSP_TESTS_HA_ETCD_PROCESS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/client/cpp/support/subprocess.h"

namespace ebsp::testing {

class EtcdProcess {
 public:
  // Starts etcd and waits until it answers (deadline `ready_timeout`).
  static absl::StatusOr<std::unique_ptr<EtcdProcess>> Start(
      absl::Duration ready_timeout = absl::Seconds(30));
  ~EtcdProcess();  // SIGKILL.

  // host:port of its client URL.
  std::string endpoint() const;
  absl::Status Kill();
  absl::Status Restart(absl::Duration ready_timeout = absl::Seconds(30));
  std::string log() const;

 private:
  EtcdProcess() = default;
  absl::Status Launch(absl::Duration ready_timeout);

  std::string dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace ebsp::testing

#endif  // EBSP_TESTS_HA_ETCD_PROCESS_H_
