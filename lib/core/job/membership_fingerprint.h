// The membership fingerprint: a 64-bit value that identifies a set of worker
// names, as the proto's "Membership" comment defines it:
//
//   fingerprint(S) = sum mod 2^64 over names n in S of NameFingerprint(n)
//   NameFingerprint(n) = SplitMix64(FNV-1a-64(the bytes of n))
//
// A sum is order-independent and updated in O(1) when one name joins or
// leaves, and every input is a plain function of the name, so two
// coordinators (or one before and after a restart) that hold the same names
// give the same value. Clients only compare values; this is the one
// implementation (other languages reproduce the known values in
// tests/core/membership_fingerprint_test.cc).
#ifndef EBSP_LIB_CORE_JOB_MEMBERSHIP_FINGERPRINT_H_
#define EBSP_LIB_CORE_JOB_MEMBERSHIP_FINGERPRINT_H_

#include <cstdint>
#include <string_view>

namespace ebsp::core {

// FNV-1a, 64 bits: offset basis 0xcbf29ce484222325, prime 0x100000001b3.
uint64_t Fnv1a64(std::string_view bytes);

// SplitMix64's output function applied to `x` as the state:
//   z = x + 0x9e3779b97f4a7c15
//   z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
//   z = (z ^ (z >> 27)) * 0x94d049bb133111eb
//   return z ^ (z >> 31)
// It spreads FNV's weak low bits so sums of similar names do not collide.
uint64_t SplitMix64(uint64_t x);

// SplitMix64(Fnv1a64(name)): one name's share of a fingerprint.
uint64_t NameFingerprint(std::string_view name);

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_MEMBERSHIP_FINGERPRINT_H_
