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
  server->service_ = std::make_unique<CoordinatorService>(options, clock, server->metrics_.get(),
                                                          *std::move(authorizer));

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
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->grpc_port_ == 0) {
    server->exposer_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", options.listen_address));
  }
  if (grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(std::string(v1::Coordinator::service_full_name()), true);
  }
  CoordinatorService* service = server->service_.get();
  server->ticker_ = std::make_unique<Ticker>(options.tick_interval, [service] { service->Tick(); });
  server->ticker_->Start();
  return server;
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

void CoordinatorServer::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
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
  StopExposer();
}

}  // namespace ebsp::server
