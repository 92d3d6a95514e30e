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
  absl::StatusOr<std::string> Campaign(LeaseId lease, absl::string_view candidate) override {
    return client_->CreateIfAbsent(key_, candidate, lease);
  }
  absl::Status Resign(absl::string_view candidate) override {
    // Deletes the key only while it names `candidate`, never a successor's.
    absl::Status deleted = client_->DeleteIf(key_, key_, candidate);
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
