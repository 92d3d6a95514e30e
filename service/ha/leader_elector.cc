#include "service/ha/leader_elector.h"

#include <algorithm>
#include <utility>

#include "lib/log/log.h"

namespace ebsp::ha {

LeaderElector::LeaderElector(ElectionOptions options, ElectionBackend* backend,
                             const server::Clock* clock)
    : options_(std::move(options)), backend_(backend), clock_(clock) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::IsLeader() const {
  if (!leading_.load(std::memory_order_acquire)) return false;
  return absl::ToUnixNanos(clock_->Now()) < fence_unix_nanos_.load(std::memory_order_acquire);
}

std::string LeaderElector::LeaderAddress() const {
  absl::MutexLock lock(&mu_);
  // A replica whose fence passed may still have itself as the last leader
  // seen: naming itself would send clients straight back.
  if (leader_address_ == options_.candidate_address && !IsLeader()) return "";
  return leader_address_;
}

void LeaderElector::Run() {
  while (true) {
    const absl::Duration wait = Step();
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), wait)) break;
  }
  if (leading_.load()) Depose("stopping");
  // Best effort: a successor takes over at once instead of after the TTL.
  if (lease_ != 0) {
    backend_->Resign(lease_).IgnoreError();
    backend_->RevokeLease(lease_).IgnoreError();
  }
}

void LeaderElector::Depose(const char* why) {
  leading_.store(false, std::memory_order_release);
  leader_lease_.store(0, std::memory_order_release);
  log::Event(log::Level::kWarning, "leadership_lost",
             {{"replica", options_.candidate_address}, {"reason", why}});
  if (options_.on_deposed) options_.on_deposed();
}

absl::Duration LeaderElector::Step() {
  const absl::Duration renew_interval = options_.lease_ttl / 3;
  const absl::Time started = clock_->Now();
  if (leading_.load() && started >= lease_valid_until_ - options_.fencing_margin) {
    // Resumed after a stall past the fence (SIGSTOP, a frozen VM). IsLeader()
    // has said no since the fence passed; the health status and the metric
    // follow now, not after an etcd call that may take its whole timeout.
    Depose("it stalled past its lease");
  }
  if (lease_ == 0) {
    absl::StatusOr<LeaseId> lease = backend_->GrantLease(options_.lease_ttl);
    if (!lease.ok()) return options_.poll_interval;
    lease_ = *lease;
    lease_valid_until_ = started + options_.lease_ttl;
    last_renewal_ = started;
  } else if (started - last_renewal_ >= renew_interval) {
    absl::Status renewed = backend_->RenewLease(lease_);
    if (renewed.ok()) {
      lease_valid_until_ = started + options_.lease_ttl;
      last_renewal_ = started;
    } else if (absl::IsNotFound(renewed)) {
      lease_ = 0;
      if (leading_.load()) Depose("its lease expired in etcd");
      return absl::ZeroDuration();
    }
  }
  const absl::Time fence = lease_valid_until_ - options_.fencing_margin;
  if (clock_->Now() >= fence) {
    // etcd unreachable for a whole TTL: the lease is as good as gone.
    if (leading_.load()) Depose("it could not renew its lease within the TTL");
    lease_ = 0;
    return options_.poll_interval;
  }
  fence_unix_nanos_.store(absl::ToUnixNanos(fence), std::memory_order_release);

  absl::StatusOr<ElectionBackend::Holder> holder =
      backend_->Campaign(lease_, options_.candidate_address);
  if (holder.ok()) {
    {
      absl::MutexLock lock(&mu_);
      leader_address_ = holder->address;
    }
    const bool mine = holder->lease == lease_;
    if (mine && !leading_.load()) {
      // Before on_elected: the job store it loads writes under this lease.
      leader_lease_.store(lease_, std::memory_order_release);
      absl::Status ready = options_.on_elected ? options_.on_elected() : absl::OkStatus();
      if (ready.ok()) {
        leading_.store(true, std::memory_order_release);
        terms_.fetch_add(1);
        log::Event(log::Level::kInfo, "leadership_acquired",
                   {{"replica", options_.candidate_address},
                    {"lease_ttl", options_.lease_ttl},
                    {"term", terms_.load()}});
      } else {
        log::Event(log::Level::kError, "leadership_refused",
                   {{"replica", options_.candidate_address}, {"error", ready.ToString()}});
        leader_lease_.store(0, std::memory_order_release);
        backend_->Resign(lease_).IgnoreError();
      }
    } else if (!mine && leading_.load()) {
      Depose("another replica holds the leadership key");
    }
  }
  const absl::Duration until_renewal =
      std::max(absl::ZeroDuration(), last_renewal_ + renew_interval - clock_->Now());
  return leading_.load() ? until_renewal : std::min(options_.poll_interval, until_renewal);
}

}  // namespace ebsp::ha
