#include "service/limits/peer_rate_limiter.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace ebsp::server::limits {

PeerRateLimiter::PeerRateLimiter(const RateLimit& limit) : limit_(limit) {
  overflow_.tokens = limit_.burst;
}

bool PeerRateLimiter::Take(Bucket& bucket, absl::Time now) const {
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.last));
  bucket.tokens = std::min(limit_.burst, bucket.tokens + elapsed * limit_.requests_per_second);
  bucket.last = std::max(bucket.last, now);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

bool PeerRateLimiter::Admit(absl::string_view peer, absl::Time now) {
  if (!enabled()) return true;
  Shard& shard = shards_[absl::HashOf(peer) % kShards];
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.buckets.find(peer);
    if (it == shard.buckets.end() &&
        static_cast<int>(shard.buckets.size()) < limit_.max_peers / kShards + 1) {
      it = shard.buckets.emplace(std::string(peer), Bucket{limit_.burst, now}).first;
    }
    if (it != shard.buckets.end()) return Take(it->second, now);
  }
  absl::MutexLock lock(&overflow_mu_);
  return Take(overflow_, now);
}

void PeerRateLimiter::Sweep(absl::Time now) {
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    absl::erase_if(shard.buckets,
                   [&](const auto& entry) { return now - entry.second.last > limit_.idle_expiry; });
  }
}

int PeerRateLimiter::peers() const {
  int total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += static_cast<int>(shard.buckets.size());
  }
  return total;
}

}  // namespace ebsp::server::limits
