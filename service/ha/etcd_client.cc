#include "service/ha/etcd_client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ebsp::ha {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read etcd TLS file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what,
                      absl::string_view endpoint) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("etcd ", what, " at ", endpoint, ": ", status.error_message()));
}

// The first key after every key that starts with `prefix` (etcd's range_end
// for a prefix query).
std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // Every key.
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseEndpoints(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    absl::ConsumePrefix(&item, "http://") || absl::ConsumePrefix(&item, "https://");
    absl::ConsumeSuffix(&item, "/");
    const size_t colon = item.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(item.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint \"", item, "\" is not host:port"));
    }
    out.emplace_back(item);
  }
  if (out.empty()) return absl::InvalidArgumentError("no etcd endpoint given");
  return out;
}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(const EtcdOptions& options) {
  if (options.endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoint given");
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.ca_file.empty() || !options.cert_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadFile(options.ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!options.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadFile(options.cert_file);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadFile(options.key_file);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  }
  std::vector<Endpoint> endpoints;
  for (const std::string& address : options.endpoints) {
    grpc::ChannelArguments args;
    // Reconnect quickly after an etcd restart: leadership depends on it.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(address, credentials, args);
    endpoints.push_back(Endpoint{address, etcdserverpb::KV::NewStub(channel),
                                 etcdserverpb::Lease::NewStub(channel)});
  }
  return std::unique_ptr<EtcdClient>(new EtcdClient(options, std::move(endpoints)));
}

EtcdClient::EtcdClient(EtcdOptions options, std::vector<Endpoint> endpoints)
    : options_(std::move(options)), endpoints_(std::move(endpoints)) {}

template <typename Call>
absl::Status EtcdClient::OnSomeEndpoint(absl::string_view what, Call call) {
  const size_t first = preferred_.load();
  absl::Status status;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t index = (first + i) % endpoints_.size();
    Endpoint& endpoint = endpoints_[index];
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
    status = FromGrpc(call(endpoint, &context), what, endpoint.address);
    if (!absl::IsUnavailable(status) && !absl::IsDeadlineExceeded(status)) {
      preferred_.store(index);
      return status;
    }
  }
  return status;
}

absl::Status EtcdClient::RunTxn(const etcdserverpb::TxnRequest& request,
                                etcdserverpb::TxnResponse* response) {
  return OnSomeEndpoint(
      "Txn", [&](Endpoint& e, grpc::ClientContext* c) { return e.kv->Txn(c, request, response); });
}

absl::StatusOr<int64_t> EtcdClient::GrantLease(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  etcdserverpb::LeaseGrantResponse response;
  absl::Status status = OnSomeEndpoint("LeaseGrant", [&](Endpoint& e, grpc::ClientContext* c) {
    return e.lease->LeaseGrant(c, request, &response);
  });
  if (!status.ok()) return status;
  if (!response.error().empty()) {
    return absl::UnavailableError(absl::StrCat("etcd LeaseGrant: ", response.error()));
  }
  return response.id();
}

absl::StatusOr<absl::Duration> EtcdClient::KeepAlive(int64_t lease) {
  etcdserverpb::LeaseKeepAliveResponse response;
  bool answered = false;
  absl::Status status = OnSomeEndpoint("LeaseKeepAlive", [&](Endpoint& e, grpc::ClientContext* c) {
    std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                                             etcdserverpb::LeaseKeepAliveResponse>>
        stream = e.lease->LeaseKeepAlive(c);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(lease);
    answered = stream->Write(request) && stream->Read(&response);
    // One renewal per stream: the answer is all we wanted.
    c->TryCancel();
    grpc::Status finished = stream->Finish();
    return answered ? grpc::Status::OK : finished;
  });
  if (!status.ok()) return status;
  if (!answered) return absl::UnavailableError("etcd LeaseKeepAlive: no answer");
  if (response.ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd lease ", lease, " has expired"));
  }
  return absl::Seconds(response.ttl());
}

absl::Status EtcdClient::RevokeLease(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseRevokeResponse response;
  return OnSomeEndpoint("LeaseRevoke", [&](Endpoint& e, grpc::ClientContext* c) {
    return e.lease->LeaseRevoke(c, request, &response);
  });
}

absl::StatusOr<EtcdClient::Holder> EtcdClient::CreateIfAbsent(absl::string_view key,
                                                              absl::string_view value,
                                                              int64_t lease) {
  etcdserverpb::TxnRequest request;
  etcdserverpb::Compare* absent = request.add_compare();
  absent->set_key(std::string(key));
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  put->set_lease(lease);
  request.add_failure()->mutable_request_range()->set_key(std::string(key));
  etcdserverpb::TxnResponse response;
  absl::Status status = RunTxn(request, &response);
  if (!status.ok()) return status;
  if (response.succeeded()) return Holder{std::string(value), lease};
  if (response.responses_size() == 1 && response.responses(0).has_response_range() &&
      response.responses(0).response_range().kvs_size() == 1) {
    const etcdserverpb::KeyValue& kv = response.responses(0).response_range().kvs(0);
    return Holder{kv.value(), kv.lease()};
  }
  // The key vanished between the compare and the range: nobody holds it.
  return Holder{};
}

namespace {

// A transaction whose success ops run only if `guard_key` is bound to
// `guard_lease` (a key that does not exist has lease 0: the guard fails).
etcdserverpb::TxnRequest Guarded(absl::string_view guard_key, int64_t guard_lease) {
  etcdserverpb::TxnRequest request;
  etcdserverpb::Compare* guard = request.add_compare();
  guard->set_key(std::string(guard_key));
  guard->set_target(etcdserverpb::Compare::LEASE);
  guard->set_result(etcdserverpb::Compare::EQUAL);
  guard->set_lease(guard_lease);
  return request;
}

absl::Status GuardFailed(absl::string_view key, absl::string_view guard_key, int64_t guard_lease) {
  return absl::FailedPreconditionError(absl::StrCat("etcd write of ", key, " refused: ", guard_key,
                                                    " is no longer bound to lease ", guard_lease,
                                                    " (this replica is not the leader)"));
}

}  // namespace

absl::Status EtcdClient::PutIf(absl::string_view key, absl::string_view value,
                               absl::string_view guard_key, int64_t guard_lease) {
  etcdserverpb::TxnRequest request = Guarded(guard_key, guard_lease);
  etcdserverpb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  etcdserverpb::TxnResponse response;
  absl::Status status = RunTxn(request, &response);
  if (!status.ok()) return status;
  return response.succeeded() ? absl::OkStatus() : GuardFailed(key, guard_key, guard_lease);
}

absl::Status EtcdClient::DeleteIf(absl::string_view key, absl::string_view guard_key,
                                  int64_t guard_lease) {
  etcdserverpb::TxnRequest request = Guarded(guard_key, guard_lease);
  request.add_success()->mutable_request_delete_range()->set_key(std::string(key));
  etcdserverpb::TxnResponse response;
  absl::Status status = RunTxn(request, &response);
  if (!status.ok()) return status;
  return response.succeeded() ? absl::OkStatus() : GuardFailed(key, guard_key, guard_lease);
}

absl::StatusOr<std::optional<std::string>> EtcdClient::Get(absl::string_view key) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  etcdserverpb::RangeResponse response;
  absl::Status status = OnSomeEndpoint("Range", [&](Endpoint& e, grpc::ClientContext* c) {
    return e.kv->Range(c, request, &response);
  });
  if (!status.ok()) return status;
  if (response.kvs_size() == 0) return std::optional<std::string>();
  return std::optional<std::string>(response.kvs(0).value());
}

absl::Status EtcdClient::Put(absl::string_view key, absl::string_view value) {
  etcdserverpb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  etcdserverpb::PutResponse response;
  return OnSomeEndpoint(
      "Put", [&](Endpoint& e, grpc::ClientContext* c) { return e.kv->Put(c, request, &response); });
}

absl::Status EtcdClient::Delete(absl::string_view key) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  etcdserverpb::DeleteRangeResponse response;
  return OnSomeEndpoint("DeleteRange", [&](Endpoint& e, grpc::ClientContext* c) {
    return e.kv->DeleteRange(c, request, &response);
  });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> EtcdClient::GetPrefix(
    absl::string_view prefix) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(prefix));
  request.set_range_end(PrefixEnd(prefix));
  etcdserverpb::RangeResponse response;
  absl::Status status = OnSomeEndpoint("Range", [&](Endpoint& e, grpc::ClientContext* c) {
    return e.kv->Range(c, request, &response);
  });
  if (!status.ok()) return status;
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(response.kvs_size());
  for (const etcdserverpb::KeyValue& kv : response.kvs()) out.emplace_back(kv.key(), kv.value());
  return out;
}

}  // namespace ebsp::ha
