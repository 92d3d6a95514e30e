#include "service/auth/admin_authorizer.h"

#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ebsp::server::auth {
namespace {

// An admin token file is a line; a larger file is the wrong file.
constexpr size_t kMaxTokenFileBytes = 4096;

}  // namespace

absl::StatusOr<AdminAuthorizer> AdminAuthorizer::Create(const AdminOptions& options) {
  AdminAuthorizer authorizer;
  authorizer.self_service_jobs_ = options.self_service_jobs;
  for (const std::string& identity : options.admin_identities) {
    if (!identity.empty()) authorizer.admin_identities_.insert(identity);
  }
  if (options.admin_token_file.empty()) return authorizer;
  std::ifstream in(options.admin_token_file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin_token_file=", options.admin_token_file, ": cannot be read"));
  }
  std::string token;
  token.resize(kMaxTokenFileBytes + 1);
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<size_t>(in.gcount()));
  if (token.size() > kMaxTokenFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("--admin_token_file=", options.admin_token_file,
                                                   ": larger than ", kMaxTokenFileBytes, " bytes"));
  }
  absl::StripTrailingAsciiWhitespace(&token);
  if (token.size() < kMinAdminTokenBytes) {
    // The length is no secret worth keeping; the token itself is never shown.
    return absl::InvalidArgumentError(absl::StrCat(
        "--admin_token_file=", options.admin_token_file, ": the token has ", token.size(),
        " bytes, at least ", kMinAdminTokenBytes, " needed (e.g. openssl rand -hex 32)"));
  }
  authorizer.admin_token_ = TokenHash::Of(token);
  return authorizer;
}

bool AdminAuthorizer::IsAdmin(const Caller& caller) const {
  if (loopback_only()) return caller.loopback;
  if (!admin_token_.empty() && !caller.bearer_token.empty() &&
      admin_token_.Matches(caller.bearer_token)) {
    return true;
  }
  for (const std::string& identity : caller.certificate_identities) {
    if (admin_identities_.contains(identity)) return true;
  }
  return false;
}

absl::Status AdminAuthorizer::Refuse(const Caller& caller, absl::string_view method,
                                     absl::string_view job) const {
  if (caller.malformed_authorization) {
    return absl::UnauthenticatedError(absl::StrCat(
        method, " of job \"", job, "\": the authorization metadata must be \"Bearer <token>\""));
  }
  const bool presented = !caller.bearer_token.empty() ||
                         (!admin_identities_.empty() && !caller.certificate_identities.empty());
  if (!presented) {
    return absl::UnauthenticatedError(absl::StrCat(
        method, " of job \"", job,
        "\" needs a credential: metadata \"authorization: Bearer <admin token or the job's "
        "token>\"",
        loopback_only() ? " (no admin credential is configured on this coordinator: "
                          "administration without one is allowed only from loopback)"
                        : ""));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the presented credential does not allow ", method, " of job \"", job, "\""));
}

absl::Status AdminAuthorizer::AuthorizeJob(const Caller& caller, absl::string_view method,
                                           absl::string_view job,
                                           const TokenHash* job_token) const {
  if (IsAdmin(caller)) return absl::OkStatus();
  if (!caller.malformed_authorization && job_token != nullptr && !job_token->empty() &&
      !caller.bearer_token.empty() && job_token->Matches(caller.bearer_token)) {
    return absl::OkStatus();
  }
  return Refuse(caller, method, job);
}

absl::Status AdminAuthorizer::AuthorizeCreate(const Caller& caller, absl::string_view job,
                                              absl::string_view spec_token) const {
  if (IsAdmin(caller)) return absl::OkStatus();
  if (self_service_jobs_ && !caller.malformed_authorization && !spec_token.empty() &&
      TokenHash::Of(spec_token).Matches(caller.bearer_token)) {
    return absl::OkStatus();
  }
  return Refuse(caller, "CreateJob", job);
}

absl::Status AdminAuthorizer::AuthorizeAutoCreate(const Caller& caller, absl::string_view job,
                                                  absl::string_view request_token) const {
  if (IsAdmin(caller)) return absl::OkStatus();
  if (self_service_jobs_ && !request_token.empty()) return absl::OkStatus();
  if (caller.bearer_token.empty() && !caller.malformed_authorization) {
    return absl::UnauthenticatedError(absl::StrCat(
        "Register of job \"", job,
        "\" would create it: that needs the job's auth_token in the request (the new job's "
        "token) or an admin credential",
        loopback_only() ? " (none is configured here: allowed only from loopback)" : ""));
  }
  return Refuse(caller, "Register (creating the job)", job);
}

std::string AdminAuthorizer::Describe() const {
  if (loopback_only()) return "loopback_only";
  if (admin_identities_.empty()) return "token";
  return admin_token_.empty() ? "identities" : "token+identities";
}

}  // namespace ebsp::server::auth
