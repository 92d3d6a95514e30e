// PeerRateLimiter: a token bucket per peer, so that one runaway client
// cannot take the coordinator's whole request capacity from other jobs.
//
// A peer is one client connection (gRPC's ctx->peer(), "ipv4:10.1.2.3:41234"),
// not an IP address: the workers of a host, a NAT, and the load generator's
// 10,000 workers share one address, while every ebsp client process holds
// its own connection. Each request (a unary call or one message on a
// stream) takes one token; a bucket refills at `rate` per second up to
// `burst`. A call beyond that is RESOURCE_EXHAUSTED.
//
// Bounded memory: at most `max_peers` buckets; peers idle for `idle_expiry`
// are dropped by Sweep (the ticker), and peers beyond the bound share one
// overflow bucket. Sharded by peer so the report path rarely contends.
// Thread-safe. Time comes from the caller.
#ifndef EBSP_SERVICE_LIMITS_PEER_RATE_LIMITER_H_
#define EBSP_SERVICE_LIMITS_PEER_RATE_LIMITER_H_

#include <array>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ebsp::server::limits {

struct RateLimit {
  double requests_per_second = 0;  // 0: no limit.
  double burst = 0;                // Tokens a fresh or idle peer starts with.
  int max_peers = 100000;
  absl::Duration idle_expiry = absl::Minutes(1);
};

class PeerRateLimiter {
 public:
  explicit PeerRateLimiter(const RateLimit& limit);

  bool enabled() const { return limit_.requests_per_second > 0; }
  // Takes one token of `peer`'s bucket: false if it has none left.
  bool Admit(absl::string_view peer, absl::Time now);
  // Drops buckets idle for longer than idle_expiry (full again by then).
  void Sweep(absl::Time now);
  // Buckets held (for tests and the sweep).
  int peers() const;

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, Bucket> buckets ABSL_GUARDED_BY(mu);
  };
  static constexpr int kShards = 16;

  bool Take(Bucket& bucket, absl::Time now) const;

  const RateLimit limit_;
  std::array<Shard, kShards> shards_;
  absl::Mutex overflow_mu_;
  Bucket overflow_ ABSL_GUARDED_BY(overflow_mu_);
};

}  // namespace ebsp::server::limits

#endif  // EBSP_SERVICE_LIMITS_PEER_RATE_LIMITER_H_
