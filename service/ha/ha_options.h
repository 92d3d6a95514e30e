// Settings of high availability (docs/ha.md); main.cc fills them from the
// --ha_* flags. Off while `etcd_endpoints` is empty: the coordinator is then
// a single process that always leads, with no dependency.
#ifndef EBSP_SERVICE_HA_HA_OPTIONS_H_
#define EBSP_SERVICE_HA_HA_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace ebsp::ha {

struct HaOptions {
  // "host:port,host:port" (http:// or https:// prefixes allowed).
  std::string etcd_endpoints;
  // Keys live under this prefix: <prefix>/leader, <prefix>/jobs/<name>.
  // Replicas of one coordinator share it; separate coordinators do not.
  std::string etcd_prefix = "/ebsp";
  absl::Duration lease_ttl = absl::Seconds(5);
  // What a standby tells clients (host:port reachable by workers). Empty:
  // the listen address's host (127.0.0.1 for a wildcard) and the bound port.
  std::string advertise_address;
  absl::Duration etcd_call_timeout = absl::Seconds(2);
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;

  bool enabled() const { return !etcd_endpoints.empty(); }
};

}  // namespace ebsp::ha

#endif  // EBSP_SERVICE_HA_HA_OPTIONS_H_
