#include "service/leadership.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace ebsp::server {
namespace {
constexpr char kLeaderPayloadUrl[] = "type.ebsp/leader";
}  // namespace

absl::Status NotLeaderError(absl::string_view leader) {
  if (leader.empty()) {
    return absl::UnavailableError(
        "not the leader; no leader is elected yet: retry after a backoff");
  }
  absl::Status status =
      absl::UnavailableError(absl::StrCat("not the leader; the leader is at ", leader));
  status.SetPayload(kLeaderPayloadUrl, absl::Cord(leader));
  return status;
}

std::optional<std::string> LeaderHint(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kLeaderPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace ebsp::server
