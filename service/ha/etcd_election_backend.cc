#include <utility>

#include "service/ha/election_backend.h"
#include "service/ha/etcd_client.h"

namespace ebsp::ha {
namespace {

class EtcdElectionBackend final : public ElectionBackend {
 public:
  EtcdElectionBackend(EtcdClient* client, std::string key)
      : client_(client), key_(std::move(key)) {}

  absl::StatusOr<LeaseId> GrantLease(absl::Duration ttl) override {
    return client_->GrantLease(ttl);
  }
  absl::Status RenewLease(LeaseId lease) override { return client_->KeepAlive(lease).status(); }
  absl::Status RevokeLease(LeaseId lease) override { return client_->RevokeLease(lease); }
  absl::StatusOr<Holder> Campaign(LeaseId lease, absl::string_view candidate) override {
    absl::StatusOr<EtcdClient::Holder> holder = client_->CreateIfAbsent(key_, candidate, lease);
    if (!holder.ok()) return holder.status();
    return Holder{std::move(holder->value), holder->lease};
  }
  absl::Status Resign(LeaseId lease) override {
    // Deletes the key only while it is bound to `lease`, never a successor's.
    absl::Status deleted = client_->DeleteIf(key_, key_, lease);
    return absl::IsFailedPrecondition(deleted) ? absl::OkStatus() : deleted;
  }

 private:
  EtcdClient* const client_;
  const std::string key_;
};

}  // namespace

std::unique_ptr<ElectionBackend> NewEtcdElectionBackend(EtcdClient* client, std::string key) {
  return std::make_unique<EtcdElectionBackend>(client, std::move(key));
}

}  // namespace ebsp::ha
