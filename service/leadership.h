// Leadership: whether this coordinator replica may serve the Coordinator API
// now, and which replica does. Without high availability there is none and
// the process always serves; with it, ha::LeaderElector implements this and
// the service asks on every call (it must be cheap and thread-safe).
#ifndef EBSP_SERVICE_LEADERSHIP_H_
#define EBSP_SERVICE_LEADERSHIP_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ebsp::server {

// The trailing metadata key a standby names the leader in.
inline constexpr char kLeaderMetadataKey[] = "ebsp-leader";

// UNAVAILABLE "not the leader; the leader is at HOST:PORT" carrying the
// address as a payload, which the call's edge turns into the trailing
// metadata `ebsp-leader` (see LeaderHint). `leader` may be empty (unknown).
absl::Status NotLeaderError(absl::string_view leader);
// The leader address a NotLeaderError carries, if any.
std::optional<std::string> LeaderHint(const absl::Status& status);

class Leadership {
 public:
  virtual ~Leadership() = default;
  // True only while this replica leads and its fence has not passed.
  virtual bool IsLeader() const = 0;
  // host:port of the leader as last seen; empty when unknown.
  virtual std::string LeaderAddress() const = 0;
};

}  // namespace ebsp::server

#endif  // EBSP_SERVICE_LEADERSHIP_H_
