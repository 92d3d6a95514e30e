// TokenHash: how the coordinator keeps a job's auth token: its SHA-256, never
// the token itself, so that a state file, a dump or a log line cannot leak
// it. Presented tokens are hashed and compared in constant time.
//
//   TokenHash h = TokenHash::Of("s3cret");   // At CreateJob.
//   h.Matches(presented)                     // At Register.
//   h.hex() / TokenHash::FromHex(...)        // What the job store writes.
//
// An empty token means "no token required": TokenHash::Of("") is the empty
// hash, which matches anything. A value type; thread-compatible.
#ifndef EBSP_SERVICE_AUTH_TOKEN_HASH_H_
#define EBSP_SERVICE_AUTH_TOKEN_HASH_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ebsp::server::auth {

inline constexpr size_t kSha256Bytes = 32;
using Sha256Digest = std::array<uint8_t, kSha256Bytes>;

// SHA-256 of `bytes` (OpenSSL libcrypto).
Sha256Digest Sha256(absl::string_view bytes);

// Equality of two byte strings in time that depends only on their lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

class TokenHash {
 public:
  TokenHash() = default;  // The empty hash: no token required.
  static TokenHash Of(absl::string_view token);
  // 64 lowercase hex digits, or "" for the empty hash; INVALID_ARGUMENT
  // otherwise.
  static absl::StatusOr<TokenHash> FromHex(absl::string_view hex);

  bool empty() const { return !set_; }
  // True if no token is required, or `presented` hashes to this hash
  // (compared in constant time).
  bool Matches(absl::string_view presented) const;
  // "" for the empty hash.
  std::string hex() const;

 private:
  bool set_ = false;
  Sha256Digest digest_{};
};

}  // namespace ebsp::server::auth

#endif  // EBSP_SERVICE_AUTH_TOKEN_HASH_H_
