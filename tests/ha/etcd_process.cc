#include "tests/ha/etcd_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/ha/etcd_client.h"
#include "tests/client/cpp/support/coordinator_process.h"

namespace ebsp::testing {
namespace {

// GET /health on 127.0.0.1:port answers {"health":"true"} once etcd serves.
bool Healthy(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval timeout{0, 500'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[512];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) reply.append(buffer, n);
    }
  }
  close(fd);
  return reply.find("\"health\":\"true\"") != std::string::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdProcess>> EtcdProcess::Start(absl::Duration ready_timeout) {
  std::unique_ptr<EtcdProcess> etcd(new EtcdProcess());
  absl::StatusOr<std::string> dir = MakeTempDir("ebsp-etcd-");
  if (!dir.ok()) return dir.status();
  etcd->dir_ = *dir;
  absl::StatusOr<int> client = PickFreePort();
  absl::StatusOr<int> peer = PickFreePort();
  if (!client.ok()) return client.status();
  if (!peer.ok()) return peer.status();
  etcd->client_port_ = *client;
  etcd->peer_port_ = *peer;
  if (absl::Status launched = etcd->Launch(ready_timeout); !launched.ok()) return launched;
  return etcd;
}

EtcdProcess::~EtcdProcess() {
  process_.reset();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string EtcdProcess::endpoint() const { return absl::StrCat("127.0.0.1:", client_port_); }

std::string EtcdProcess::log() const { return ReadFileOrEmpty(dir_ + "/etcd.log"); }

absl::Status EtcdProcess::Launch(absl::Duration ready_timeout) {
  const std::string client_url = absl::StrCat("http://127.0.0.1:", client_port_);
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", peer_port_);
  const std::vector<std::string> argv = {
      "/usr/bin/etcd",
      "--name=test",
      "--data-dir=" + dir_ + "/data",
      "--listen-client-urls=" + client_url,
      "--advertise-client-urls=" + client_url,
      "--listen-peer-urls=" + peer_url,
      "--initial-advertise-peer-urls=" + peer_url,
      "--initial-cluster=test=" + peer_url,
      "--log-level=warn",
  };
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Spawn(argv, dir_ + "/etcd.log", dir_ + "/etcd.log");
  if (!process.ok()) return process.status();
  process_ = *std::move(process);

  // etcd accepts TCP connections before it serves; a gRPC channel that
  // connects too early backs off for seconds. Its HTTP /health says when.
  const absl::Time deadline = absl::Now() + ready_timeout;
  while (!Healthy(client_port_)) {
    if (process_->HasExited()) {
      return absl::InternalError(absl::StrCat("etcd exited at start:\n", log()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "etcd was not healthy within ", absl::FormatDuration(ready_timeout), ":\n", log()));
    }
    absl::SleepFor(absl::Milliseconds(50));  // Polling a process we cannot be told about.
  }
  ha::EtcdOptions options;
  options.endpoints = {endpoint()};
  options.call_timeout = absl::Milliseconds(500);
  absl::StatusOr<std::unique_ptr<ha::EtcdClient>> client = ha::EtcdClient::Create(options);
  if (!client.ok()) return client.status();
  absl::Status last;
  while (absl::Now() < deadline) {
    if (process_->HasExited()) {
      return absl::InternalError(absl::StrCat("etcd exited at start:\n", log()));
    }
    last = (*client)->Get("/ebsp-test/ready").status();
    if (last.ok()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));  // Polling a process we cannot be told about.
  }
  return absl::DeadlineExceededError(absl::StrCat("etcd did not answer within ",
                                                  absl::FormatDuration(ready_timeout), ": ",
                                                  last.ToString(), "\n", log()));
}

absl::Status EtcdProcess::Kill() {
  if (process_ == nullptr) return absl::OkStatus();
  process_->Signal(SIGKILL);
  absl::Status waited = process_->Wait(absl::Seconds(10)).status();
  process_.reset();
  return waited;
}

absl::Status EtcdProcess::Restart(absl::Duration ready_timeout) {
  if (absl::Status killed = Kill(); !killed.ok()) return killed;
  return Launch(ready_timeout);
}

}  // namespace ebsp::testing
