// libFuzzer target: request bytes parsed as each v1 request message and
// handed to CoordinatorService's handlers (Handle*), in process, on a
// service with a fake clock.
//
// Input: byte 0 picks the configuration: bit 0 auto-create, bit 1 an admin
// token (else loopback-only administration), bits 2-3 the barrier deadline
// (20, 30, 40 s; 3: one request, see below), bits 4-7 the default policy.
// Then a sequence of requests, each:
//   op      low 4 bits: the request (kRequests; 15 = advance the clock by
//           (op >> 4) s and Tick); high 4 bits: (op >> 4) x 250 ms of
//           virtual time before it;
//   bytes   one length byte, then that many bytes parsed with
//           ParseFromArray as the request message (skipped if they do not
//           parse: gRPC would not reach the handler);
//   flags   which fields the harness overwrites with values it knows, so
//           that sequences reach deep state (a Register followed by
//           reports and barriers) instead of NOT_FOUND: a known job name,
//           the id of a worker registered earlier in this input and its
//           round and next iteration, a worker name, a policy, a job token,
//           a request id;
//   value   picks those values;
//   caller  (administration calls, and a Register that would create its
//           job) loopback or not, and the bearer token presented.
// The administration calls are authorized as the RPC methods do before
// their handler (CreateJob, UpdatePolicy, DeleteJob, auto-create Register).
// With bits 2-3 of byte 0 both set, byte 1 picks the request and all the
// rest is its message, unchanged.
//
// Checked after every request (service_checks.h): only the status codes
// coordinator_service.h documents for the handler, with a message; a
// failed request changes nothing (ListJobs, with every job's full view,
// equal before and after); every job view consistent; replies consistent
// with the job they came from. Barrier and WaitForClock never block: the
// harness's WaitingCall records how it ends, a parked call ends later
// (release, eviction, deadline, a newer wait, DeleteJob) and every call
// ends exactly once (BeginShutdown at the end of the input drains the rest).
//
// Each input gets a fresh service (deterministic up to the random worker
// ids the registry draws), so a crash reproduces from its input alone.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "elasticbsp/v1/coordinator.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/core/policy/policy_config.h"
#include "lib/log/log.h"
#include "service/auth/admin_authorizer.h"
#include "service/auth/token_hash.h"
#include "service/clock.h"
#include "service/coordinator_service.h"
#include "service/metrics.h"
#include "service/proto_convert.h"
#include "service/server_options.h"
#include "service/validation.h"
#include "service/waiting_call.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_policies.h"
#include "tests/fuzz/service_checks.h"
#include "tests/server/memory_job_store.h"

namespace ebsp::fuzz {
namespace {

using server::CoordinatorService;

constexpr int kMaxRequests = 200;
constexpr int kMaxJobs = 3;
constexpr int kMaxWorkersPerJob = 5;
constexpr size_t kMaxKnownWorkers = 16;

constexpr const char* kJobs[] = {"a", "b", "c", "d"};  // kMaxJobs + 1
constexpr const char* kWorkerNames[] = {"h0:0", "h0:1", "h1:0", "h1:1", "h2:0", "h2:1"};
// Job tokens: none, two real ones (index 1 and 2).
constexpr const char* kJobTokens[] = {"", "job-token-a", "job-token-b"};
constexpr char kAdminToken[] = "admin-token-0123456789";
constexpr Request kRequests[] = {
    Request::kCreateJob,    Request::kGetJob,    Request::kListJobs, Request::kUpdatePolicy,
    Request::kDeleteJob,    Request::kRegister,  Request::kRegister, Request::kReport,
    Request::kReport,       Request::kReport,    Request::kBarrier,  Request::kBarrier,
    Request::kWaitForClock, Request::kHeartbeat, Request::kLeave,
};
constexpr int kTickOp = 15;
// Op 15 with these high nibbles restarts the coordinator instead of a tick.
constexpr int kRestartKill = 14;      // Nothing flushed (kill -9).
constexpr int kRestartGraceful = 15;  // Rosters flushed (SIGTERM).

[[noreturn]] void Fail(int step, const std::string& what) {
  std::fprintf(stderr, "service_handlers: broken at request %d: %s\n", step, what.c_str());
  std::abort();
}

v1::Policy PolicyProto(int index) {
  return server::PolicyToProto(*core::ParsePolicy(kPolicies[index % kPolicyCount]));
}

// Time moves only when the input says so.
class FakeClock final : public server::Clock {
 public:
  absl::Time Now() const override { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  // The target is single-threaded: no lock needed.
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

// A Barrier or WaitForClock as the harness makes it: records how it ended.
class FuzzCall final : public server::WaitingCall {
 public:
  FuzzCall(std::string job, core::WorkerId worker, core::WaitKind kind, absl::Time started,
           uint64_t round, const bool* shutting_down)
      : WaitingCall(worker, kind, started),
        job_(std::move(job)),
        round_(round),
        shutting_down_(shutting_down) {}

  void Complete(const server::WaitOutcome& outcome) override {
    if (completions_++ > 0) {
      Fail(-1, absl::StrCat("a wait of worker ", worker(),
                            " was finished twice: ", outcome.status.ToString()));
    }
    outcome_ = outcome;
    during_shutdown_ = *shutting_down_;
  }

  const std::string& job() const { return job_; }
  uint64_t round() const { return round_; }
  int completions() const { return completions_; }
  bool during_shutdown() const { return during_shutdown_; }
  const server::WaitOutcome& outcome() const { return outcome_; }

 private:
  const std::string job_;
  const uint64_t round_;
  const bool* const shutting_down_;
  int completions_ = 0;
  bool during_shutdown_ = false;
  server::WaitOutcome outcome_;
};

// A worker the harness registered: what it knows from the replies.
struct KnownWorker {
  uint64_t id = 0;
  std::string job;
  uint64_t round = 0;
  uint32_t iteration = 0;  // The last one reported in `round`.
};

// Process-wide: the metrics (their registry outlives every service) and the
// authorizers: [admin token configured][self-service job creation].
struct Shared {
  Shared() : metrics(/*max_worker_series=*/8) {
    // Parse failures and events of arbitrary input are not news.
    google::protobuf::SetLogHandler(nullptr);
    log::SetMinLevel(log::Level::kError);
    log::SetSinkForTest([](std::string_view) {});
    char path[] = "/tmp/ebsp-fuzz-admin-token-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0 || write(fd, kAdminToken, sizeof(kAdminToken) - 1) < 0) std::abort();
    close(fd);
    for (int token = 0; token < 2; ++token) {
      for (int self_service = 0; self_service < 2; ++self_service) {
        server::auth::AdminOptions options;
        if (token == 1) options.admin_token_file = path;
        options.self_service_jobs = self_service == 1;
        absl::StatusOr<server::auth::AdminAuthorizer> authorizer =
            server::auth::AdminAuthorizer::Create(options);
        if (!authorizer.ok()) std::abort();
        authorizers[token][self_service] = *std::move(authorizer);
      }
    }
    unlink(path);
  }

  server::Metrics metrics;
  server::auth::AdminAuthorizer authorizers[2][2];
};

Shared& GetShared() {
  static Shared* shared = new Shared();
  return *shared;
}

class Harness {
 public:
  Harness(uint8_t config, Shared& shared) {
    server::ServerOptions options;
    options.auto_create_jobs = (config & 1) != 0;
    const bool admin_token = (config & 2) != 0;
    // So that parked waits run into their deadline within an input.
    options.barrier_deadline = absl::Seconds(20 + 10 * ((config >> 2) & 3));
    options.default_policy = *core::ParsePolicy(kPolicies[(config >> 4) % kPolicyCount]);
    options.max_jobs = kMaxJobs;
    options.max_workers_per_job = kMaxWorkersPerJob;
    options.max_worker_series = 8;
    // A restored job's hold ends within an input.
    options.restart_grace = absl::Seconds(10);
    options_ = options;
    metrics_ = &shared.metrics;
    // Self-service job creation follows auto-create, as server.cc sets it.
    authorizer_ = &shared.authorizers[admin_token ? 1 : 0][options.auto_create_jobs ? 1 : 0];
    Start();
  }

  ~Harness() { Stop(/*graceful=*/true); }

  // A coordinator over the store: it restores the stored jobs first.
  void Start() {
    shutting_down_ = false;
    service_ =
        std::make_unique<CoordinatorService>(options_, &clock_, metrics_, *authorizer_, &store_);
    if (absl::Status s = service_->LoadStoredJobs(); !s.ok()) {
      Fail(step_, absl::StrCat("the jobs this coordinator stored do not load: ", s.ToString()));
    }
  }

  // Ends the coordinator: parked waits end with UNAVAILABLE, each call
  // finished exactly once. `graceful` writes the rosters first, as the
  // SIGTERM path does.
  void Stop(bool graceful) {
    shutting_down_ = true;
    store_.set_failing(false);
    service_->BeginShutdown();
    if (graceful) service_->FlushRosters();
    for (const std::unique_ptr<FuzzCall>& call : calls_) {
      if (call->completions() != 1) {
        Fail(step_, absl::StrCat("a wait of worker ", call->worker(), " was never finished"));
      }
      if (call->during_shutdown() && !checked_.contains(call.get())) {
        checked_.insert(call.get());
        CheckOutcome(*call, Answer::kShutdown);
      }
    }
    service_.reset();
  }

  // A restart keeps every job (spec, token) and loses the workers: the
  // same job names come back, each with its spec, and the policy a change
  // was waiting for is the policy (a restart is a round boundary). Without
  // the rosters flushed (a kill) a policy change may come back as before.
  void Restart(bool graceful) {
    const v1::ListJobsResponse before = Observe();
    Stop(graceful);
    // Workers and the answers kept for retries do not survive it.
    known_.clear();
    register_replies_.clear();
    Start();
    const v1::ListJobsResponse after = Observe();
    // Each restored job holds its first barrier for its roster's names, who
    // are not workers yet: the view misses nobody until the hold ends.
    held_.clear();
    for (const v1::Job& job : after.jobs())
      held_[job.spec().job()] = clock_.Now() + options_.restart_grace;
    Check(CheckJobs(after, kMaxJobs));
    std::string broken;
    if (before.jobs_size() != after.jobs_size()) {
      broken = absl::StrCat(before.jobs_size(), " jobs before, ", after.jobs_size(), " after");
    }
    for (int i = 0; broken.empty() && i < before.jobs_size(); ++i) {
      const v1::Job& was = before.jobs(i);
      const v1::Job& is = after.jobs(i);
      v1::JobSpec expected = was.spec();
      if (was.has_pending_policy()) *expected.mutable_policy() = was.pending_policy();
      v1::JobSpec got = is.spec();
      if (!graceful) got.clear_policy(), expected.clear_policy();
      if (!google::protobuf::util::MessageDifferencer::Equals(expected, got) ||
          is.workers_size() != 0) {
        broken = absl::StrCat("job ", was.spec().job(), " was ", was.ShortDebugString(),
                              "; after the restart ", is.ShortDebugString());
      }
    }
    if (!broken.empty()) {
      Fail(step_, absl::StrCat(graceful ? "graceful" : "kill", " restart: ", broken));
    }
  }

  // Runs every request of the input.
  void Run(FuzzInput& in) {
    for (step_ = 0; step_ < kMaxRequests && !in.done(); ++step_) {
      const uint8_t op = in.Byte();
      if ((op & 15) == kTickOp && (op >> 4) >= kRestartKill) {
        Restart(/*graceful=*/(op >> 4) == kRestartGraceful);
        continue;
      }
      if ((op & 15) == kTickOp) {
        clock_.Advance(absl::Seconds(op >> 4));
        service_->Tick();
        absl::erase_if(held_, [&](const auto& job) { return job.second <= clock_.Now(); });
        CheckFinishedCalls();
        Check(CheckJobs(Observe(), kMaxJobs));
        continue;
      }
      clock_.Advance(absl::Milliseconds(250 * (op >> 4)));
      const Request request = kRequests[op & 15];
      const std::string bytes = in.Bytes(255);
      const uint8_t flags = in.Byte();
      const uint8_t value = in.Byte();
      store_.set_failing((flags & kStoreFails) != 0);
      Send(request, bytes, flags, value, in);
      store_.set_failing(false);
    }
  }

  // One request whose message is all of `bytes`, as it came.
  // Its caller is on loopback without a credential (allowed to administer
  // jobs unless an admin token is configured).
  void RunOne(Request request, const std::string& bytes, FuzzInput& in) {
    one_request_ = true;
    Send(request, bytes, /*flags=*/0, /*value=*/0, in);
  }

 private:
  // Field overwrites (the flags byte).
  static constexpr uint8_t kSetJob = 1;
  static constexpr uint8_t kSetWorker = 2;    // Id of a known worker; Register: a name.
  static constexpr uint8_t kSetProgress = 4;  // Round, next iteration; policy.
  static constexpr uint8_t kSetToken = 8;
  static constexpr uint8_t kSetRequestId = 16;
  static constexpr uint8_t kSetSpec = 32;     // CreateJob: small heartbeat timeout, max_workers.
  static constexpr uint8_t kStoreFails = 64;  // The job store refuses writes meanwhile.

  void Check(const std::string& broken) const {
    if (!broken.empty()) Fail(step_, broken);
  }

  v1::ListJobsResponse Observe() {
    v1::ListJobsResponse jobs;
    Check(CheckStatus(Request::kListJobs, Answer::kImmediate, service_->HandleListJobs(&jobs)));
    return jobs;
  }

  bool JobExists(const std::string& job) {
    v1::GetJobRequest request;
    request.set_job(job);
    v1::Job view;
    return service_->HandleGetJob(request, &view).ok();
  }

  // The job's view as GetJob answers it; empty if it does not exist.
  v1::Job View(const std::string& job) {
    v1::GetJobRequest request;
    request.set_job(job);
    v1::Job view;
    if (!service_->HandleGetJob(request, &view).ok()) view.Clear();
    return view;
  }

  static const v1::Job* FindJob(const v1::ListJobsResponse& jobs, const std::string& name) {
    for (const v1::Job& job : jobs.jobs()) {
      if (job.spec().job() == name) return &job;
    }
    return nullptr;
  }
  static const v1::WorkerStatus* FindWorker(const v1::Job* job, uint64_t id) {
    if (job == nullptr) return nullptr;
    for (const v1::WorkerStatus& w : job->workers()) {
      if (w.worker_id() == id) return &w;
    }
    return nullptr;
  }

  // Equal views, except that `worker` may have been seen since (a retried
  // Register renews the lease, like a heartbeat).
  static bool SameButLease(v1::Job a, v1::Job b, uint64_t worker) {
    for (v1::Job* job : {&a, &b}) {
      for (v1::WorkerStatus& w : *job->mutable_workers()) {
        if (w.worker_id() != worker) continue;
        w.clear_seconds_since_last_seen();
        w.clear_lease_remaining_seconds();
      }
    }
    return google::protobuf::util::MessageDifferencer::Equals(a, b);
  }

  const KnownWorker* Known(uint8_t value) const {
    if (known_.empty()) return nullptr;
    return &known_[(value >> 2) % known_.size()];
  }

  KnownWorker* KnownById(uint64_t id) {
    for (KnownWorker& w : known_) {
      if (w.id == id) return &w;
    }
    return nullptr;
  }

  // Who calls: loopback or not, and the bearer token it presents.
  server::auth::Caller ReadCaller(FuzzInput& in, const std::string& job) {
    server::auth::Caller caller;
    if (one_request_) {
      caller.loopback = true;
      return caller;
    }
    const uint8_t c = in.Byte();
    caller.loopback = (c & 1) != 0;
    switch ((c >> 1) % 6) {
      case 0:
        break;  // No credential.
      case 1:
        caller.sent_authorization = true;
        caller.bearer_token = kAdminToken;
        break;
      case 2: {
        // The job's own token (what it was created with), or a real one.
        auto it = tokens_.find(job);
        caller.sent_authorization = true;
        caller.bearer_token =
            it != tokens_.end() && !it->second.empty() ? it->second : kJobTokens[1];
        break;
      }
      case 3:
        caller.sent_authorization = true;
        caller.bearer_token = kJobTokens[2];
        break;
      case 4:
        caller.sent_authorization = true;
        caller.malformed_authorization = true;
        break;
      default:
        caller.sent_authorization = true;
        caller.bearer_token = in.Bytes(32);
        caller.malformed_authorization = caller.bearer_token.empty();
        break;
    }
    return caller;
  }

  // UpdatePolicy / DeleteJob as the RPC method authorizes it.
  absl::Status AuthorizeJob(const server::auth::Caller& caller, const char* method,
                            const std::string& job) {
    if (absl::Status s = server::ValidateJobName(job); !s.ok()) return s;
    std::optional<server::auth::TokenHash> hash;
    if (JobExists(job)) {
      auto it = tokens_.find(job);
      if (it == tokens_.end()) Fail(step_, absl::StrCat("job \"", job, "\" appeared from nowhere"));
      hash = server::auth::TokenHash::Of(it->second);
    }
    return authorizer_->AuthorizeJob(caller, method, job, hash ? &*hash : nullptr);
  }

  void Send(Request request, const std::string& bytes, uint8_t flags, uint8_t value,
            FuzzInput& in) {
    const v1::ListJobsResponse before = Observe();
    std::optional<absl::Status> status;
    switch (request) {
      case Request::kCreateJob:
        status = CreateJob(bytes, flags, value, in);
        break;
      case Request::kGetJob:
        status = GetJob(bytes, flags, value);
        break;
      case Request::kListJobs: {
        v1::ListJobsRequest parsed;
        if (!parsed.ParseFromString(bytes)) return;
        v1::ListJobsResponse reply;
        status = service_->HandleListJobs(&reply);
        if (status->ok() && !google::protobuf::util::MessageDifferencer::Equals(reply, before)) {
          Fail(step_, "two ListJobs in a row differ");
        }
        break;
      }
      case Request::kUpdatePolicy:
        status = UpdatePolicy(bytes, flags, value, in);
        break;
      case Request::kDeleteJob:
        status = DeleteJob(bytes, flags, value, in);
        break;
      case Request::kRegister:
        status = Register(bytes, flags, value, in);
        break;
      case Request::kReport:
        status = Report(bytes, flags, value);
        break;
      case Request::kBarrier:
      case Request::kWaitForClock:
        status = Wait(request, bytes, flags, value);
        break;
      case Request::kHeartbeat:
        status = Heartbeat(bytes, flags, value);
        break;
      case Request::kLeave:
        status = Leave(bytes, flags, value);
        break;
    }
    if (!status.has_value()) return;  // Did not parse: gRPC would not call the handler.
    if (trace_) {
      std::fprintf(stderr, "%3d %-15s %s\n", step_, RequestName(request),
                   status->ToString().c_str());
    }
    Check(CheckStatus(request, Answer::kImmediate, *status));
    CheckFinishedCalls();
    const v1::ListJobsResponse after = Observe();
    Check(CheckJobs(after, kMaxJobs));
    CheckParkedCalls(after);
    if (status->ok() && request == Request::kReport) CheckCounted(before, after);
    if (!status->ok() && !google::protobuf::util::MessageDifferencer::Equals(before, after)) {
      Fail(step_, absl::StrCat(RequestName(request), " failed with ", status->ToString(),
                               " but changed the jobs:\n", before.DebugString(), "--- after:\n",
                               after.DebugString()));
    }
  }

  // Each request below returns nullopt when its bytes do not parse.
  template <typename Message>
  static bool Parse(const std::string& bytes, Message* message) {
    return message->ParseFromString(bytes);
  }

  void SetJob(uint8_t flags, uint8_t value, std::string* job) const {
    if (flags & kSetJob) *job = kJobs[value % 4];
  }

  std::optional<absl::Status> CreateJob(const std::string& bytes, uint8_t flags, uint8_t value,
                                        FuzzInput& in) {
    v1::CreateJobRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    v1::JobSpec* spec = request.mutable_spec();
    SetJob(flags, value, spec->mutable_job());
    if (flags & kSetProgress) *spec->mutable_policy() = PolicyProto(value >> 2);
    if (flags & kSetToken) spec->set_auth_token(kJobTokens[(value >> 4) % 3]);
    if (flags & kSetRequestId) request.set_request_id(absl::StrCat("create-", value >> 6));
    if (flags & kSetSpec) {
      spec->set_heartbeat_timeout_seconds(2.5 * (1 + (value >> 5)));
      spec->set_max_workers(1 + (value >> 6));
    }
    const server::auth::Caller caller = ReadCaller(in, spec->job());
    // CreateJob's edge: the name, then the authorizer, then the handler.
    if (absl::Status s = server::ValidateJobName(spec->job()); !s.ok()) return s;
    if (absl::Status s = authorizer_->AuthorizeCreate(caller, spec->job(), spec->auth_token());
        !s.ok()) {
      return s;
    }
    const bool existed = JobExists(spec->job());
    v1::Job reply;
    absl::Status status = service_->HandleCreateJob(request, &reply);
    if (!status.ok()) return status;
    if (existed) {
      // A retry (same request_id and token): the job as it is now.
      if (request.request_id().empty() ||
          !google::protobuf::util::MessageDifferencer::Equals(reply, View(spec->job()))) {
        Fail(step_, absl::StrCat("CreateJob of an existing job answered ", reply.DebugString()));
      }
      return status;
    }
    tokens_[spec->job()] = spec->auth_token();
    Check(CheckJob(reply));
    if (reply.spec().job() != spec->job() || reply.workers_size() != 0) {
      Fail(step_, absl::StrCat("CreateJob answered ", reply.DebugString()));
    }
    if (!reply.spec().auth_token().empty()) Fail(step_, "CreateJob returned the auth token");
    return status;
  }

  std::optional<absl::Status> GetJob(const std::string& bytes, uint8_t flags, uint8_t value) {
    v1::GetJobRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    SetJob(flags, value, request.mutable_job());
    v1::Job reply;
    absl::Status status = service_->HandleGetJob(request, &reply);
    if (status.ok() && reply.spec().job() != request.job()) {
      Fail(step_, absl::StrCat("GetJob of ", request.job(), " answered ", reply.spec().job()));
    }
    return status;
  }

  std::optional<absl::Status> UpdatePolicy(const std::string& bytes, uint8_t flags, uint8_t value,
                                           FuzzInput& in) {
    v1::UpdatePolicyRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    SetJob(flags, value, request.mutable_job());
    if (flags & kSetProgress) *request.mutable_policy() = PolicyProto(value >> 2);
    const server::auth::Caller caller = ReadCaller(in, request.job());
    if (absl::Status s = AuthorizeJob(caller, "UpdatePolicy", request.job()); !s.ok()) return s;
    v1::Job reply;
    absl::Status status = service_->HandleUpdatePolicy(request, &reply);
    if (status.ok()) Check(CheckJob(reply));
    return status;
  }

  std::optional<absl::Status> DeleteJob(const std::string& bytes, uint8_t flags, uint8_t value,
                                        FuzzInput& in) {
    v1::DeleteJobRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    SetJob(flags, value, request.mutable_job());
    const server::auth::Caller caller = ReadCaller(in, request.job());
    if (absl::Status s = AuthorizeJob(caller, "DeleteJob", request.job()); !s.ok()) return s;
    absl::Status status = service_->HandleDeleteJob(request);
    if (status.ok()) {
      tokens_.erase(request.job());
      if (JobExists(request.job())) Fail(step_, "a deleted job is still there");
    }
    return status;
  }

  std::optional<absl::Status> Register(const std::string& bytes, uint8_t flags, uint8_t value,
                                       FuzzInput& in) {
    v1::RegisterRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    SetJob(flags, value, request.mutable_job());
    if (flags & kSetWorker) {
      request.set_worker_name(kWorkerNames[(value >> 2) % std::size(kWorkerNames)]);
    }
    if (flags & kSetProgress) *request.mutable_policy_if_created() = PolicyProto(value >> 3);
    if (flags & kSetToken) request.set_auth_token(kJobTokens[(value >> 4) % 3]);
    if (flags & kSetRequestId) request.set_request_id(absl::StrCat("register-", value >> 6));
    // Register's edge: a Register that would create its job is authorized
    // like CreateJob (the request's token is the new job's own).
    const bool creates = options_.auto_create_jobs && server::ValidateJobName(request.job()).ok() &&
                         !JobExists(request.job());
    if (creates) {
      const server::auth::Caller caller = ReadCaller(in, request.job());
      if (absl::Status s =
              authorizer_->AuthorizeAutoCreate(caller, request.job(), request.auth_token());
          !s.ok()) {
        return s;
      }
    }
    const v1::Job job_before = View(request.job());
    v1::RegisterResponse reply;
    absl::Status status = service_->HandleRegister(request, &reply);
    if (!status.ok()) return status;
    if (creates) tokens_[request.job()] = request.auth_token();
    const v1::Job job = View(request.job());
    const v1::WorkerStatus* self = FindWorker(&job, reply.worker_id());
    if (self == nullptr || self->name() != request.worker_name()) {
      Fail(step_, absl::StrCat("Register answered worker ", reply.worker_id(),
                               " that the job does not show as ", request.worker_name()));
    }
    const auto key = std::make_pair(request.job(), request.request_id());
    if (FindWorker(&job_before, reply.worker_id()) != nullptr) {
      // A retry (by request_id): the first reply, and nothing changed but
      // the worker's lease.
      // The policy is the one in force now (noticed, left: docs/fuzzing.md).
      auto first = register_replies_.find(key);
      v1::RegisterResponse original;
      if (first != register_replies_.end()) {
        original = first->second;
        *original.mutable_policy() = reply.policy();
      }
      if (request.request_id().empty() || first == register_replies_.end() ||
          !google::protobuf::util::MessageDifferencer::Equals(original, reply) ||
          !SameButLease(job_before, job, reply.worker_id())) {
        Fail(step_, absl::StrCat("Register answered worker ", reply.worker_id(),
                                 ", which was live already, with ", reply.ShortDebugString(),
                                 first != register_replies_.end()
                                     ? absl::StrCat("; the first reply was ",
                                                    first->second.ShortDebugString())
                                     : std::string("; no earlier reply"),
                                 "; job before ", job_before.ShortDebugString(), "; after ",
                                 job.ShortDebugString()));
      }
      return status;
    }
    if (!request.request_id().empty()) register_replies_[key] = reply;
    if (reply.live_workers() != static_cast<uint32_t>(job.workers_size()) ||
        reply.membership_epoch() != job.membership_epoch() ||
        reply.membership_fingerprint() != job.membership_fingerprint() ||
        reply.round() < job.round()) {
      Fail(step_, absl::StrCat("Register reply ", reply.ShortDebugString(), " vs job ",
                               job.ShortDebugString()));
    }
    if (reply.state() != v1::WORKER_STATE_PENDING && reply.state() != v1::WORKER_STATE_RUNNING) {
      Fail(step_, absl::StrCat("Register answered state ", reply.state()));
    }
    if (known_.size() == kMaxKnownWorkers) known_.erase(known_.begin());
    known_.push_back({reply.worker_id(), request.job(), reply.round(), 0});
    return status;
  }

  std::optional<absl::Status> Report(const std::string& bytes, uint8_t flags, uint8_t value) {
    v1::ReportIterationRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    SetJob(flags, value, request.mutable_job());
    const KnownWorker* known = (flags & kSetWorker) ? Known(value) : nullptr;
    if (known != nullptr) {
      request.set_job(known->job);
      request.set_worker_id(known->id);
      if (flags & kSetProgress) {
        request.set_round(known->round);
        request.set_iteration(known->iteration + 1);
        request.set_compute_seconds(0.05 + 0.05 * (value & 3));
      }
    }
    v1::ReportIterationResponse reply;
    absl::Status status = service_->HandleReport(request, &reply);
    if (!status.ok()) return status;
    last_report_ = request;
    last_report_reply_ = reply;
    if (reply.round() != request.round() || reply.directive() == v1::DIRECTIVE_UNSPECIFIED) {
      Fail(step_, absl::StrCat("report ", request.ShortDebugString(), " answered ",
                               reply.ShortDebugString()));
    }
    if (KnownWorker* w = KnownById(request.worker_id()); w != nullptr) {
      w->round = reply.round();
      w->iteration = request.iteration();
    }
    return status;
  }

  std::optional<absl::Status> Wait(Request request, const std::string& bytes, uint8_t flags,
                                   uint8_t value) {
    std::string job;
    uint64_t worker = 0;
    uint64_t round = 0;
    if (request == Request::kBarrier) {
      v1::BarrierRequest parsed;
      if (!Parse(bytes, &parsed)) return std::nullopt;
      job = parsed.job();
      worker = parsed.worker_id();
      round = parsed.round();
    } else {
      v1::WaitForClockRequest parsed;
      if (!Parse(bytes, &parsed)) return std::nullopt;
      job = parsed.job();
      worker = parsed.worker_id();
    }
    SetJob(flags, value, &job);
    const KnownWorker* known = (flags & kSetWorker) ? Known(value) : nullptr;
    if (known != nullptr) {
      job = known->job;
      worker = known->id;
      // A PENDING worker waits for the end of the round before its own.
      if (flags & kSetProgress) round = known->round - (known->round > 0 && (value & 1));
    }
    const core::WaitKind kind =
        request == Request::kBarrier ? core::WaitKind::kBarrier : core::WaitKind::kClock;
    calls_.push_back(
        std::make_unique<FuzzCall>(job, worker, kind, clock_.Now(), round, &shutting_down_));
    FuzzCall* call = calls_.back().get();
    service_->HandleWait(kind, job, worker, round, call, /*ctx=*/nullptr);
    if (call->completions() == 0) {
      if (trace_) std::fprintf(stderr, "%3d %-15s parked\n", step_, RequestName(request));
      return absl::OkStatus();
    }
    checked_.insert(call);
    if (call->outcome().status.ok()) CheckRelease(*call);
    return call->outcome().status;
  }

  std::optional<absl::Status> Heartbeat(const std::string& bytes, uint8_t flags, uint8_t value) {
    v1::HeartbeatRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    SetJob(flags, value, request.mutable_job());
    if (const KnownWorker* known = (flags & kSetWorker) ? Known(value) : nullptr) {
      request.set_job(known->job);
      request.set_worker_id(known->id);
    }
    v1::HeartbeatResponse reply;
    absl::Status status = service_->HandleHeartbeat(request, &reply);
    if (!status.ok()) return status;
    const v1::Job job = View(request.job());
    if (!(reply.lease_remaining_seconds() > 0) || reply.round() != job.round() ||
        reply.membership_epoch() != job.membership_epoch() ||
        reply.membership_fingerprint() != job.membership_fingerprint()) {
      Fail(step_, absl::StrCat("heartbeat answered ", reply.ShortDebugString(), " in round ",
                               job.round(), " epoch ", job.membership_epoch()));
    }
    return status;
  }

  std::optional<absl::Status> Leave(const std::string& bytes, uint8_t flags, uint8_t value) {
    v1::LeaveRequest request;
    if (!Parse(bytes, &request)) return std::nullopt;
    SetJob(flags, value, request.mutable_job());
    if (const KnownWorker* known = (flags & kSetWorker) ? Known(value) : nullptr) {
      request.set_job(known->job);
      request.set_worker_id(known->id);
    }
    absl::Status status = service_->HandleLeave(request);
    if (status.ok()) {
      v1::Job job = View(request.job());
      if (FindWorker(&job, request.worker_id()) != nullptr) Fail(step_, "Leave left the worker");
    }
    return status;
  }

  // An OK report is counted exactly once: a new iteration adds one to the
  // worker's total, the last one sent again (a retry) adds nothing.
  void CheckCounted(const v1::ListJobsResponse& before, const v1::ListJobsResponse& after) {
    const v1::ReportIterationRequest& r = last_report_;
    const v1::WorkerStatus* was = FindWorker(FindJob(before, r.job()), r.worker_id());
    const v1::WorkerStatus* is = FindWorker(FindJob(after, r.job()), r.worker_id());
    const v1::Job* job = FindJob(after, r.job());
    if (was == nullptr || is == nullptr) Fail(step_, "an OK report of a worker the job lacks");
    const bool retry = was->iterations_in_round() == r.iteration();
    const bool next = was->iterations_in_round() + 1 == r.iteration();
    if ((!retry && !next) || is->iterations_in_round() != r.iteration() ||
        is->iterations_total() != was->iterations_total() + (retry ? 0 : 1) ||
        last_report_reply_.membership_epoch() != job->membership_epoch() ||
        last_report_reply_.membership_fingerprint() != job->membership_fingerprint()) {
      Fail(step_, absl::StrCat("report ", r.ShortDebugString(), " answered ",
                               last_report_reply_.ShortDebugString(), "; worker before: ",
                               was->ShortDebugString(), "; after: ", is->ShortDebugString()));
    }
  }

  // A parked call belongs to a live worker of an existing job that waits:
  // a barrier call in the job's current round, which still misses someone.
  void CheckParkedCalls(const v1::ListJobsResponse& jobs) {
    absl::flat_hash_set<uint64_t> parked;
    for (const std::unique_ptr<FuzzCall>& call : calls_) {
      if (call->completions() != 0) continue;
      const v1::Job* job = FindJob(jobs, call->job());
      const v1::WorkerStatus* w = FindWorker(job, call->worker());
      std::string broken;
      if (w == nullptr) {
        broken = "its worker is gone";
      } else if (!parked.insert(call->worker()).second) {
        broken = "its worker has another parked call";
      } else if (call->kind() == core::WaitKind::kClock) {
        if (w->state() != v1::WORKER_STATE_WAITING_CLOCK) broken = "its worker is not waiting";
      } else if (call->round() != job->round()) {
        broken = absl::StrCat("the job is in round ", job->round());
      } else if (job->barrier().missing_worker_ids().empty() && !held_.contains(call->job())) {
        broken = "nobody is missing at the barrier";
      } else if (w->state() != v1::WORKER_STATE_AT_BARRIER &&
                 w->state() != v1::WORKER_STATE_PENDING) {
        broken = "its worker is not at the barrier";
      }
      if (!broken.empty()) {
        Fail(step_,
             absl::StrCat("a parked ",
                          call->kind() == core::WaitKind::kBarrier ? "Barrier" : "WaitForClock",
                          " of worker ", call->worker(), " in job \"", call->job(), "\" round ",
                          call->round(), " is stranded: ", broken));
      }
    }
  }

  // A wait released with OK: the round after the one it waited for.
  void CheckRelease(const FuzzCall& call) {
    const server::WaitOutcome& out = call.outcome();
    if (call.kind() == core::WaitKind::kBarrier) {
      if (out.release.round != call.round() + 1 || out.release.target < 1 || out.live_workers < 1) {
        Fail(step_, absl::StrCat("barrier of round ", call.round(), " released into round ",
                                 out.release.round, " target ", out.release.target, " with ",
                                 out.live_workers, " live"));
      }
      if (KnownWorker* w = KnownById(call.worker()); w != nullptr) {
        w->round = out.release.round;
        w->iteration = 0;
      }
    }
  }

  void CheckOutcome(const FuzzCall& call, Answer answer) {
    const Request request =
        call.kind() == core::WaitKind::kBarrier ? Request::kBarrier : Request::kWaitForClock;
    Check(CheckStatus(request, answer, call.outcome().status));
    if (call.outcome().status.ok()) CheckRelease(call);
  }

  // Parked calls that finished since the last look.
  void CheckFinishedCalls() {
    for (const std::unique_ptr<FuzzCall>& call : calls_) {
      if (call->completions() == 0 || checked_.contains(call.get())) continue;
      checked_.insert(call.get());
      CheckOutcome(*call, Answer::kParked);
    }
  }

  server::ServerOptions options_;
  server::Metrics* metrics_ = nullptr;
  const server::auth::AdminAuthorizer* authorizer_ = nullptr;
  server::testing::MemoryJobStore store_;
  FakeClock clock_;
  bool shutting_down_ = false;
  // Declared after what the service borrows, so it is destroyed first.
  std::unique_ptr<CoordinatorService> service_;
  std::vector<std::unique_ptr<FuzzCall>> calls_;
  absl::flat_hash_set<const FuzzCall*> checked_;
  std::vector<KnownWorker> known_;
  // The last OK report and its reply (CheckCounted).
  v1::ReportIterationRequest last_report_;
  v1::ReportIterationResponse last_report_reply_;
  // Jobs restored by the last restart whose hold may not have ended yet:
  // the end of their restart grace, until a Tick after it.
  absl::flat_hash_map<std::string, absl::Time> held_;
  // The first reply to each (job, request_id) Register.
  std::map<std::pair<std::string, std::string>, v1::RegisterResponse> register_replies_;
  // The token each existing job was created with.
  std::map<std::string, std::string> tokens_;
  int step_ = 0;
  // RunOne: the input's bytes are all the message's, none the caller's.
  bool one_request_ = false;
  // EBSP_FUZZ_TRACE set: one line per request (to see what a seed reaches).
  const bool trace_ = std::getenv("EBSP_FUZZ_TRACE") != nullptr;
};

}  // namespace
}  // namespace ebsp::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ebsp;  // NOLINT: the entry point is outside the namespace.
  fuzz::FuzzInput in(data, size);
  const uint8_t config = in.Byte();
  fuzz::Harness harness(config, fuzz::GetShared());
  if (((config >> 2) & 3) == 3) {
    // One request: the rest of the input is the message, as it came.
    const fuzz::Request request = fuzz::kRequests[in.Byte() % 15];
    harness.RunOne(
        request, std::string(reinterpret_cast<const char*>(data) + 2, size > 2 ? size - 2 : 0), in);
  } else {
    harness.Run(in);
  }
  return 0;
}
