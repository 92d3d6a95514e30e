// AdminAuthorizer: who may administer a job (CreateJob, UpdatePolicy,
// DeleteJob, and the job creation a Register of an unknown job does).
//
// A call may administer job J when it presents:
//   - the admin token (`authorization: Bearer <token>`, --admin_token_file), or
//   - a verified client certificate naming an --admin_identities entry, or
//   - J's own token as the bearer token (J has one: JobSpec.auth_token), or,
//   - only when neither admin credential is configured, nothing, from
//     loopback (the safe default: remote peers cannot administer).
// Creating J with token T by presenting T ("self-service", the same power
// Register's auto-create gives a worker) needs --auto_create_jobs.
//
// Refusals: UNAUTHENTICATED when the call presented no credential (no
// bearer token, and no certificate where identities are configured) or a
// malformed `authorization`; PERMISSION_DENIED when what it presented does
// not allow the call. Messages name the method and the job, never a token.
//
// Tokens are kept as SHA-256 hashes and compared in constant time
// (token_hash.h). Immutable after construction; thread-safe.
#ifndef EBSP_SERVICE_AUTH_ADMIN_AUTHORIZER_H_
#define EBSP_SERVICE_AUTH_ADMIN_AUTHORIZER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/auth/caller.h"
#include "service/auth/token_hash.h"

namespace ebsp::server::auth {

struct AdminOptions {
  // A file whose content (trailing whitespace removed) is the admin token,
  // at least kMinAdminTokenBytes long. Empty: no admin token.
  std::string admin_token_file;
  // Client certificate identities (a subject alternative name such as
  // spiffe://cluster/ns/ml/sa/ops, or a common name) that may administer
  // every job; they need mutual TLS.
  std::vector<std::string> admin_identities;
  // CreateJob with the job's own token (and Register of an unknown job
  // with a token) is allowed without an admin credential.
  bool self_service_jobs = true;
};

inline constexpr size_t kMinAdminTokenBytes = 16;

class AdminAuthorizer {
 public:
  // Reads and hashes the admin token. INVALID_ARGUMENT naming the flag if
  // the file cannot be read, is empty or shorter than kMinAdminTokenBytes.
  static absl::StatusOr<AdminAuthorizer> Create(const AdminOptions& options);

  // Anyone on loopback is admin; nobody else. For in-process tests.
  AdminAuthorizer() = default;

  // UpdatePolicy or DeleteJob (`method`) of `job`, whose token hash is
  // `job_token` (null if the job does not exist; then only an admin passes).
  absl::Status AuthorizeJob(const Caller& caller, absl::string_view method, absl::string_view job,
                            const TokenHash* job_token) const;

  // CreateJob of `job` whose spec carries `spec_token`.
  absl::Status AuthorizeCreate(const Caller& caller, absl::string_view job,
                               absl::string_view spec_token) const;

  // Register of `job` that does not exist, with the request's job token
  // `request_token`: creating it needs the same as CreateJob, except that a
  // non-empty request token is the job's own token (workers send it in the
  // request, not as metadata).
  absl::Status AuthorizeAutoCreate(const Caller& caller, absl::string_view job,
                                   absl::string_view request_token) const;

  // No admin token and no identities: administration only from loopback.
  bool loopback_only() const { return admin_token_.empty() && admin_identities_.empty(); }
  // For the start log line: "token", "identities", "token+identities" or
  // "loopback_only".
  std::string Describe() const;

 private:
  bool IsAdmin(const Caller& caller) const;
  // The refusal of a caller that is neither admin nor the job's owner.
  absl::Status Refuse(const Caller& caller, absl::string_view method, absl::string_view job) const;

  TokenHash admin_token_;
  absl::flat_hash_set<std::string> admin_identities_;
  bool self_service_jobs_ = true;
};

}  // namespace ebsp::server::auth

#endif  // EBSP_SERVICE_AUTH_ADMIN_AUTHORIZER_H_
