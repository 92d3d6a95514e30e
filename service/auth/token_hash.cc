#include "service/auth/token_hash.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ebsp::server::auth {

Sha256Digest Sha256(absl::string_view bytes) {
  Sha256Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

TokenHash TokenHash::Of(absl::string_view token) {
  TokenHash h;
  if (token.empty()) return h;
  h.set_ = true;
  h.digest_ = Sha256(token);
  return h;
}

absl::StatusOr<TokenHash> TokenHash::FromHex(absl::string_view hex) {
  TokenHash h;
  if (hex.empty()) return h;
  if (hex.size() != 2 * kSha256Bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("token hash has ", hex.size(), " hex digits, expected ", 2 * kSha256Bytes));
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return absl::InvalidArgumentError(absl::StrCat("token hash has character '",
                                                     absl::CHexEscape(absl::string_view(&c, 1)),
                                                     "'; expected lowercase hex"));
    }
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  h.set_ = true;
  std::copy(bytes.begin(), bytes.end(), h.digest_.begin());
  return h;
}

bool TokenHash::Matches(absl::string_view presented) const {
  if (!set_) return true;
  // Hashing first makes the comparison length-independent of the token.
  const Sha256Digest p = Sha256(presented);
  return CRYPTO_memcmp(p.data(), digest_.data(), kSha256Bytes) == 0;
}

std::string TokenHash::hex() const {
  if (!set_) return "";
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest_.data()), digest_.size()));
}

}  // namespace ebsp::server::auth
