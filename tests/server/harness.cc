#include "tests/server/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace ebsp::server::testing {

ServerOptions TestOptions() {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.metrics_address = "127.0.0.1:0";
  options.tick_interval = absl::Milliseconds(20);
  return options;
}

std::shared_ptr<grpc::Channel> Channel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

std::unique_ptr<v1::Coordinator::Stub> Connect(int port) {
  return v1::Coordinator::NewStub(Channel(port));
}

std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return ctx;
}

v1::Policy Bsp() {
  v1::Policy p;
  p.set_kind(v1::POLICY_KIND_BSP);
  return p;
}
v1::Policy Asp() {
  v1::Policy p;
  p.set_kind(v1::POLICY_KIND_ASP);
  return p;
}
v1::Policy Ssp(int staleness) {
  v1::Policy p;
  p.set_kind(v1::POLICY_KIND_SSP);
  p.set_staleness(staleness);
  return p;
}
v1::Policy Ebsp(int lookahead) {
  v1::Policy p;
  p.set_kind(v1::POLICY_KIND_ELASTIC_BSP);
  p.set_lookahead(lookahead);
  return p;
}
v1::Policy LocalSteps(int h) {
  v1::Policy p;
  p.set_kind(v1::POLICY_KIND_LOCAL_STEPS);
  p.set_local_steps(h);
  return p;
}

v1::RegisterRequest RegisterRequestFor(const std::string& job, const std::string& name,
                                       const v1::Policy& policy) {
  v1::RegisterRequest request;
  request.set_job(job);
  request.set_worker_name(name);
  *request.mutable_policy_if_created() = policy;
  return request;
}

v1::ReportIterationRequest ReportRequestFor(const std::string& job, uint64_t worker, uint64_t round,
                                            uint32_t iteration, double compute_seconds) {
  v1::ReportIterationRequest request;
  request.set_job(job);
  request.set_worker_id(worker);
  request.set_round(round);
  request.set_iteration(iteration);
  request.set_compute_seconds(compute_seconds);
  return request;
}

v1::BarrierRequest BarrierRequestFor(const std::string& job, uint64_t worker, uint64_t round) {
  v1::BarrierRequest request;
  request.set_job(job);
  request.set_worker_id(worker);
  request.set_round(round);
  return request;
}

v1::HeartbeatRequest HeartbeatRequestFor(const std::string& job, uint64_t worker) {
  v1::HeartbeatRequest request;
  request.set_job(job);
  request.set_worker_id(worker);
  return request;
}

v1::LeaveRequest LeaveRequestFor(const std::string& job, uint64_t worker) {
  v1::LeaveRequest request;
  request.set_job(job);
  request.set_worker_id(worker);
  return request;
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration deadline) {
  const absl::Time end = absl::Now() + deadline;
  absl::Duration backoff = absl::Milliseconds(1);
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= end) return false;
    // Server state has no change notification, so this polls: the pause is
    // the polling interval, the deadline bounds the whole wait.
    absl::SleepFor(std::min(backoff, end - absl::Now()));
    backoff = std::min(backoff * 2, absl::Milliseconds(20));
  }
}

namespace {

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

// Waits for the completion of `expected` on `cq`, bounded.
bool Await(grpc::CompletionQueue& cq, void* expected, bool* ok) {
  void* tag = nullptr;
  const auto deadline = absl::ToChronoTime(absl::Now() + kRpcDeadline);
  if (cq.AsyncNext(&tag, ok, deadline) != grpc::CompletionQueue::GOT_EVENT) {
    return false;
  }
  return tag == expected;
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

absl::StatusOr<std::string> RawUnary(const std::shared_ptr<grpc::Channel>& channel,
                                     const std::string& method, const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto ctx = Context();
  auto call = stub.PrepareUnaryCall(ctx.get(), method, ToBuffer(request), &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  bool ok = false;
  const bool done = Await(cq, reinterpret_cast<void*>(1), &ok);
  cq.Shutdown();
  void* tag;
  while (cq.Next(&tag, &ok)) {
  }
  if (!done) return absl::DeadlineExceededError("no reply");
  if (!status.ok()) return FromGrpc(status);
  return FromBuffer(response);
}

absl::StatusOr<std::string> RawBidiFirstReply(const std::shared_ptr<grpc::Channel>& channel,
                                              const std::string& method,
                                              const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto ctx = Context();
  auto call = stub.PrepareCall(ctx.get(), method, &cq);
  bool ok = false;
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::StatusOr<std::string> result = absl::InternalError("stream failed");
  call->StartCall(reinterpret_cast<void*>(1));
  if (Await(cq, reinterpret_cast<void*>(1), &ok) && ok) {
    call->Write(ToBuffer(request), reinterpret_cast<void*>(2));
    if (Await(cq, reinterpret_cast<void*>(2), &ok) && ok) {
      call->WritesDone(reinterpret_cast<void*>(3));
      if (Await(cq, reinterpret_cast<void*>(3), &ok)) {
        call->Read(&response, reinterpret_cast<void*>(4));
        if (Await(cq, reinterpret_cast<void*>(4), &ok) && ok) {
          result = FromBuffer(response);
        }
      }
    }
  }
  call->Finish(&status, reinterpret_cast<void*>(5));
  Await(cq, reinterpret_cast<void*>(5), &ok);
  if (!status.ok()) result = FromGrpc(status);
  ctx->TryCancel();
  cq.Shutdown();
  void* tag;
  while (cq.Next(&tag, &ok)) {
  }
  return result;
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to port ", port));
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send failed");
  }
  std::string reply;
  char buf[16384];
  // HTTP/1.0: the server closes the connection after the body; the receive
  // timeout bounds each read.
  for (int reads = 0; reads < 100000; ++reads) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t body = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return absl::InternalError(absl::StrCat("not an HTTP reply: ", reply.substr(0, 200)));
  }
  const std::string status_line = reply.substr(0, reply.find("\r\n"));
  if (status_line.find(" 200") == std::string::npos) {
    return absl::InternalError(absl::StrCat("HTTP status: ", status_line));
  }
  return reply.substr(body + 4);
}

namespace {

double ComputeSecondsFor(const std::string& name) {
  // Heterogeneous but deterministic speeds: 1 ms .. 8 ms.
  return 0.001 * static_cast<double>(1 + std::hash<std::string>{}(name) % 8);
}

grpc::Status Leave(v1::Coordinator::Stub& stub, const std::string& job, uint64_t worker) {
  v1::LeaveResponse reply;
  return stub.Leave(Context().get(), LeaveRequestFor(job, worker), &reply);
}

// Registers `name` and calls `registered`, even after a failure, so that the
// other workers waiting for everyone to register are not stranded.
WorkerRun StartRun(v1::Coordinator::Stub& stub, const std::string& job, const std::string& name,
                   const v1::Policy& policy, const std::function<void()>& registered,
                   v1::RegisterResponse* reg) {
  WorkerRun run;
  run.status = stub.Register(Context().get(), RegisterRequestFor(job, name, policy), reg);
  if (registered) registered();
  run.worker_id = reg->worker_id();
  return run;
}

// Reports `iteration` of `round` for `run`'s worker and counts it. The
// answer must be CONTINUE or `stop` (the directive the loop acts on); on an
// RPC failure or another directive, `run.status` says so and the result is
// empty.
std::optional<v1::ReportIterationResponse> ReportOne(v1::Coordinator::Stub& stub,
                                                     const std::string& job, uint64_t round,
                                                     uint32_t iteration, double compute_seconds,
                                                     v1::Directive stop, WorkerRun& run) {
  v1::ReportIterationResponse answer;
  run.status = stub.ReportIteration(
      Context().get(), ReportRequestFor(job, run.worker_id, round, iteration, compute_seconds),
      &answer);
  if (!run.status.ok()) return std::nullopt;
  ++run.iterations;
  if (answer.directive() != v1::DIRECTIVE_CONTINUE && answer.directive() != stop) {
    run.status = grpc::Status(grpc::StatusCode::INTERNAL,
                              absl::StrCat("unexpected directive ", answer.directive()));
    return std::nullopt;
  }
  return answer;
}

}  // namespace

WorkerRun RunRoundWorker(v1::Coordinator::Stub& stub, const std::string& job,
                         const std::string& name, const v1::Policy& policy, int rounds,
                         const std::function<void()>& registered) {
  v1::RegisterResponse reg;
  WorkerRun run = StartRun(stub, job, name, policy, registered, &reg);
  if (!run.status.ok()) return run;
  uint64_t round = reg.round();
  if (reg.state() == v1::WORKER_STATE_PENDING) {
    v1::BarrierResponse reply;
    run.status =
        stub.Barrier(Context().get(), BarrierRequestFor(job, run.worker_id, round - 1), &reply);
    if (!run.status.ok()) return run;
    round = reply.round();
  }
  const double compute = ComputeSecondsFor(name);
  for (int r = 0; r < rounds; ++r) {
    bool synced = false;
    // A target is at most 4096 (kMaxLookahead): the loop is bounded.
    for (uint32_t it = 1; it <= 4097 && !synced; ++it) {
      std::optional<v1::ReportIterationResponse> answer =
          ReportOne(stub, job, round, it, compute, v1::DIRECTIVE_SYNC_NOW, run);
      if (!answer.has_value()) return run;
      if (answer->directive() == v1::DIRECTIVE_CONTINUE) continue;
      run.sync_at.push_back(static_cast<int>(it));
      run.targets.push_back(static_cast<int>(answer->target()));
      v1::BarrierResponse reply;
      run.status =
          stub.Barrier(Context().get(), BarrierRequestFor(job, run.worker_id, round), &reply);
      if (!run.status.ok()) return run;
      if (reply.round() != round + 1) {
        run.status = grpc::Status(
            grpc::StatusCode::INTERNAL,
            absl::StrCat("barrier of round ", round, " returned round ", reply.round()));
        return run;
      }
      round = reply.round();
      run.last_live_workers = reply.live_workers();
      ++run.rounds;
      synced = true;
    }
    if (!synced) {
      run.status = grpc::Status(grpc::StatusCode::INTERNAL, "never told to sync");
      return run;
    }
  }
  run.status = Leave(stub, job, run.worker_id);
  return run;
}

WorkerRun RunClockWorker(v1::Coordinator::Stub& stub, const std::string& job,
                         const std::string& name, const v1::Policy& policy, int iterations,
                         const std::function<void()>& registered) {
  v1::RegisterResponse reg;
  WorkerRun run = StartRun(stub, job, name, policy, registered, &reg);
  if (!run.status.ok()) return run;
  const double compute = ComputeSecondsFor(name);
  for (int it = 1; it <= iterations; ++it) {
    std::optional<v1::ReportIterationResponse> answer = ReportOne(
        stub, job, reg.round(), static_cast<uint32_t>(it), compute, v1::DIRECTIVE_WAIT, run);
    if (!answer.has_value()) return run;
    if (answer->directive() == v1::DIRECTIVE_CONTINUE) continue;
    v1::WaitForClockRequest wait;
    wait.set_job(job);
    wait.set_worker_id(run.worker_id);
    v1::WaitForClockResponse woke;
    run.status = stub.WaitForClock(Context().get(), wait, &woke);
    if (!run.status.ok()) return run;
    ++run.waits;
    run.max_lead = std::max<int64_t>(run.max_lead, static_cast<int64_t>(woke.own_clock()) -
                                                       static_cast<int64_t>(woke.slowest_clock()));
  }
  run.status = Leave(stub, job, run.worker_id);
  return run;
}

// ---------------------------------------------------------------------------
// CoordinatorProcess

namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::optional<std::pair<int, int>> ReadReadyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  int grpc_port = 0;
  int metrics_port = 0;
  if (std::sscanf(line.c_str(), "{\"grpc_port\": %d, \"metrics_port\": %d}", &grpc_port,
                  &metrics_port) != 2) {
    return std::nullopt;
  }
  return std::make_pair(grpc_port, metrics_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CoordinatorProcess>> CoordinatorProcess::Start(
    std::vector<std::string> flags) {
  const char* binary = std::getenv("EBSP_COORDINATOR");
  if (binary == nullptr || *binary == '\0') {
    return absl::FailedPreconditionError("EBSP_COORDINATOR is not set");
  }
  char dir_template[] = "/tmp/ebsp-server-test-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<CoordinatorProcess> process(new CoordinatorProcess());
  process->dir_ = dir_template;
  const std::string ready = process->dir_ + "/ready.json";
  const std::string log = process->dir_ + "/stderr.log";
  flags.push_back("--ready_file=" + ready);

  const int inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify < 0) return absl::InternalError("inotify_init1 failed");
  inotify_add_watch(inotify, process->dir_.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary));
  for (std::string& f : flags) argv.push_back(f.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = posix_spawn(&process->pid_, binary, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    close(inotify);
    return absl::InternalError(absl::StrCat("posix_spawn ", binary, " failed: ", rc));
  }
  const int pidfd = PidfdOpen(process->pid_);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status status = absl::DeadlineExceededError("coordinator wrote no ready file within 20s");
  while (absl::Now() < deadline) {
    if (auto ports = ReadReadyFile(ready); ports.has_value()) {
      process->grpc_port_ = ports->first;
      process->metrics_port_ = ports->second;
      status = absl::OkStatus();
      break;
    }
    pollfd fds[2] = {{inotify, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const int wait_ms =
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now())));
    poll(fds, pidfd >= 0 ? 2 : 1, wait_ms);
    if (pidfd >= 0 && (fds[1].revents & POLLIN)) {
      status = absl::InternalError(
          absl::StrCat("coordinator exited before it was ready: ", process->Stderr()));
      break;
    }
    char events[4096];
    while (read(inotify, events, sizeof(events)) > 0) {
    }
  }
  close(inotify);
  if (pidfd >= 0) close(pidfd);
  if (!status.ok()) return status;  // The destructor kills the child.
  return process;
}

CoordinatorProcess::~CoordinatorProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) {
    std::remove((dir_ + "/ready.json").c_str());
    std::remove((dir_ + "/ready.json.tmp").c_str());
    std::remove((dir_ + "/stderr.log").c_str());
    rmdir(dir_.c_str());
  }
}

std::optional<int> CoordinatorProcess::SignalAndWait(int signal, absl::Duration deadline) {
  if (reaped_) return std::nullopt;
  const int pidfd = PidfdOpen(pid_);
  kill(pid_, signal);
  if (pidfd >= 0) {
    pollfd fd = {pidfd, POLLIN, 0};
    poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(deadline)));
    close(pidfd);
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  reaped_ = true;
  return status;
}

std::string CoordinatorProcess::Stderr() const {
  std::ifstream in(dir_ + "/stderr.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace ebsp::server::testing
