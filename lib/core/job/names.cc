#include "lib/core/job/names.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ebsp::core {
namespace {

bool IsNameChar(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || (allow_colon && c == ':');
}

absl::Status ValidateName(absl::string_view kind, absl::string_view name, bool allow_colon,
                          absl::string_view allowed, size_t max_length = kMaxNameLength) {
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " is empty"));
  }
  if (name.size() > max_length) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s has %d characters, at most %d allowed (starts with \"%s\")", kind,
                        name.size(), max_length, name.substr(0, 32)));
  }
  for (char c : name) {
    if (!IsNameChar(c, allow_colon)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s \"%s\" has character '%s'; allowed: %s", kind, absl::CHexEscape(name),
                          absl::CHexEscape(absl::string_view(&c, 1)), allowed));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateJobName(absl::string_view name) {
  return ValidateName("job name", name, /*allow_colon=*/false, "[A-Za-z0-9._-]");
}

absl::Status ValidateWorkerName(absl::string_view name) {
  return ValidateName("worker name", name, /*allow_colon=*/true, "[A-Za-z0-9._:-]");
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty()) return absl::OkStatus();
  return ValidateName("request_id", request_id, /*allow_colon=*/true, "[A-Za-z0-9._:-]",
                      kMaxRequestIdLength);
}

}  // namespace ebsp::core
