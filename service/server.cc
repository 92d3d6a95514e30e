#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "lib/log/log.h"
#include "service/store/file_job_store.h"
#include "service/tls/server_credentials.h"

namespace ebsp::server {
namespace {

// civetweb wants "host:port"; "0.0.0.0:9464" and "127.0.0.1:0" pass as is.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartExposer(const std::string& address) {
  // prometheus-cpp reports a bind failure by throwing; stop it here.
  try {
    return std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve /metrics on ", address, ": ", e.what()));
  }
}

// The host to connect to for reaching a listener bound to `address`.
std::string LoopbackHostFor(const std::string& address) {
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    return "127.0.0.1";
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

// The etcd key whose holder leads; job records live beside it (EtcdJobStore).
std::string LeaderKey(const ha::HaOptions& ha) { return ha.etcd_prefix + "/leader"; }

absl::StatusOr<std::unique_ptr<ha::EtcdClient>> ConnectEtcd(const ha::HaOptions& ha) {
  absl::StatusOr<std::vector<std::string>> endpoints = ha::ParseEndpoints(ha.etcd_endpoints);
  if (!endpoints.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ha_etcd_endpoints: ", endpoints.status().message()));
  }
  ha::EtcdOptions etcd_options;
  etcd_options.endpoints = *endpoints;
  etcd_options.call_timeout = ha.etcd_call_timeout;
  etcd_options.ca_file = ha.etcd_ca_file;
  etcd_options.cert_file = ha.etcd_cert_file;
  etcd_options.key_file = ha.etcd_key_file;
  return ha::EtcdClient::Create(etcd_options);
}

// Opens and closes one TCP connection to host:port, ignoring failures.
void Poke(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return;
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    connect(fd, found->ai_addr, found->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

}  // namespace

void CoordinatorServer::StopExposer() {
  if (exposer_ == nullptr) return;
  // civetweb's listener polls with a 2 s quantum and checks its stop flag
  // only between polls; a connection wakes it, so shutdown takes
  // milliseconds instead of up to 2 s.
  absl::Notification stopped;
  const std::string host = LoopbackHostFor(options_.metrics_address);
  const int port = metrics_port_;
  std::thread waker([&stopped, host, port] {
    for (int i = 0; i < 200 && !stopped.HasBeenNotified(); ++i) {
      Poke(host, port);
      stopped.WaitForNotificationWithTimeout(absl::Milliseconds(20));
    }
  });
  exposer_.reset();
  stopped.Notify();
  waker.join();
}

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const ServerOptions& options, const Clock* clock) {
  // First, so that a bad certificate path fails before anything listens.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  auth::AdminOptions admin = options.admin;
  admin.self_service_jobs = options.auto_create_jobs;
  absl::StatusOr<auth::AdminAuthorizer> authorizer = auth::AdminAuthorizer::Create(admin);
  if (!authorizer.ok()) return authorizer.status();
  if (!admin.admin_identities.empty() && options.tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--admin_identities needs client certificates: --tls_client_ca");
  }
  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer());
  server->options_ = options;
  if (clock == nullptr) {
    server->owned_clock_ = std::make_unique<MonotonicClock>();
    clock = server->owned_clock_.get();
  }
  server->metrics_ = std::make_unique<Metrics>(options.max_worker_series);
  if (options.ha.enabled()) {
    // Replicas share their jobs through etcd; a file on one replica's
    // volume would be a second, diverging copy.
    if (!options.state_dir.empty()) {
      return absl::InvalidArgumentError(
          "--state_dir and --ha_etcd_endpoints: with HA the jobs are kept in etcd "
          "(under --ha_etcd_prefix); give one of them");
    }
    absl::StatusOr<std::unique_ptr<ha::EtcdClient>> etcd = ConnectEtcd(options.ha);
    if (!etcd.ok()) return etcd.status();
    server->etcd_ = *std::move(etcd);
    auto store = std::make_unique<ha::EtcdJobStore>(server->etcd_.get(), options.ha.etcd_prefix,
                                                    LeaderKey(options.ha));
    server->etcd_store_ = store.get();
    server->store_ = std::move(store);
  } else if (!options.state_dir.empty()) {
    absl::StatusOr<std::unique_ptr<FileJobStore>> store = FileJobStore::Open(options.state_dir);
    if (!store.ok()) return store.status();
    server->store_ = *std::move(store);
  }
  server->service_ = std::make_unique<CoordinatorService>(
      options, clock, server->metrics_.get(), *std::move(authorizer), server->store_.get());
  // A single coordinator leads from the start; with HA a replica loads the
  // stored jobs when it is elected (OnElected), not before.
  if (!options.ha.enabled()) {
    if (absl::Status s = server->service_->LoadStoredJobs(); !s.ok()) return s;
  }

  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> exposer =
      StartExposer(options.metrics_address);
  if (!exposer.ok()) return exposer.status();
  server->exposer_ = *std::move(exposer);
  server->exposer_->RegisterCollectable(server->metrics_->registry());
  const std::vector<int> metrics_ports = server->exposer_->GetListeningPorts();
  if (metrics_ports.empty()) {
    return absl::UnavailableError(absl::StrCat("/metrics exposer on ", options.metrics_address,
                                               " reports no listening port"));
  }
  server->metrics_port_ = metrics_ports.front();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, *credentials, &server->grpc_port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // gRPC sets SO_REUSEPORT by default, which would let a second coordinator
  // bind the same port and silently take half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Clients ping idle connections (keepalive) to notice a coordinator that
  // froze or vanished without closing them; gRPC's defaults would answer
  // such pings with GOAWAY "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->grpc_port_ == 0) {
    server->exposer_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", options.listen_address));
  }
  server->ha_metrics_ = std::make_unique<ha::HaMetrics>(*server->metrics_->registry());
  if (grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  if (options.ha.enabled()) {
    // A standby until elected: NOT_SERVING for the Coordinator service.
    server->SetCoordinatorServing(false);
    if (absl::Status started = server->StartElection(clock); !started.ok()) {
      server->Shutdown();
      return started;
    }
  } else {
    server->SetCoordinatorServing(true);
  }
  CoordinatorService* service = server->service_.get();
  server->ticker_ = std::make_unique<Ticker>(options.tick_interval, [service] { service->Tick(); });
  server->ticker_->Start();
  return server;
}

void CoordinatorServer::SetCoordinatorServing(bool serving) {
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(std::string(v1::Coordinator::service_full_name()), serving);
  }
  ha_metrics_->SetLeader(serving);
}

absl::Status CoordinatorServer::StartElection(const Clock* clock) {
  const ha::HaOptions& ha = options_.ha;
  election_backend_ = ha::NewEtcdElectionBackend(etcd_.get(), LeaderKey(ha));

  ha::ElectionOptions election;
  election.candidate_address =
      ha.advertise_address.empty()
          ? absl::StrCat(LoopbackHostFor(options_.listen_address), ":", grpc_port_)
          : ha.advertise_address;
  election.lease_ttl = ha.lease_ttl;
  election.on_elected = [this] { return OnElected(); };
  election.on_deposed = [this] { OnDeposed(); };
  elector_ = std::make_unique<ha::LeaderElector>(election, election_backend_.get(), clock);
  etcd_store_->FenceWith(elector_.get());
  service_->SetLeadership(elector_.get());
  log::Event(log::Level::kInfo, "ha_standby",
             {{"replica", election.candidate_address},
              {"etcd", ha.etcd_endpoints},
              {"prefix", ha.etcd_prefix},
              {"lease_ttl", ha.lease_ttl}});
  elector_->Start();
  return absl::OkStatus();
}

absl::Status CoordinatorServer::OnElected() {
  // Jobs this replica may still hold from an earlier term are stale; the
  // store has them as the last leader left them.
  service_->DropAllJobs();
  // A store that cannot be read refuses the leadership (the elector resigns)
  // rather than lead without the jobs.
  if (absl::Status s = service_->LoadStoredJobs(); !s.ok()) return s;
  SetCoordinatorServing(true);
  return absl::OkStatus();
}

void CoordinatorServer::OnDeposed() {
  SetCoordinatorServing(false);
  // Parked calls learn at once that they must go to the new leader. The
  // stored records stay: they are the next leader's jobs.
  service_->DropAllJobs();
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

void CoordinatorServer::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Resign first: a standby takes over while this one drains. It loads the
  // store when elected, so the rosters are written before.
  if (elector_ != nullptr) {
    if (elector_->IsLeader()) service_->FlushRosters();
    elector_->Stop();
  }
  if (server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(false);
    }
  }
  // Parked calls first, so they end with UNAVAILABLE rather than CANCELLED.
  if (service_ != nullptr) service_->BeginShutdown();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options_.shutdown_grace));
    server_->Wait();
  }
  if (ticker_ != nullptr) ticker_->Stop();
  // No call runs any more: the rosters written now are the last live sets.
  // (With HA they were written before resigning; the store now refuses.)
  if (service_ != nullptr && elector_ == nullptr) service_->FlushRosters();
  StopExposer();
}

}  // namespace ebsp::server
