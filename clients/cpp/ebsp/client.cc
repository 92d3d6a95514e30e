#include "clients/cpp/ebsp/client.h"

#include <algorithm>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/ebsp/policy_text.h"

namespace ebsp::client {
namespace {

namespace v1 = ::elasticbsp::v1;

// A coordinator that keeps answering NOT_FOUND right after a successful
// Register (it restarted again, or evicts at once) is not worth chasing.
constexpr int kMaxJoinAttempts = 3;
constexpr absl::Duration kMinHeartbeatInterval = absl::Milliseconds(10);
// ASP: iterations a worker runs on while the coordinator is away (their
// compute times wait in memory to be reported): a day at 1 iteration/s.
constexpr size_t kMaxUnreported = 100000;
// A heartbeat unanswered for max(this, its interval), at most the call
// deadline, marks the coordinator frozen: high enough that a loaded machine
// or a slow link (the chaos suite's 400 ms each way) still answers in time.
constexpr absl::Duration kMinProbeDeadline = absl::Seconds(2);
// Leave from the destructor: best effort, must not hold up shutdown.
constexpr absl::Duration kDestructorLeaveDeadline = absl::Seconds(1);

absl::Duration Seconds(double seconds) { return absl::Seconds(seconds); }

// 32 hex digits: unique enough that two registrations never share one.
std::string NewRequestId(absl::BitGen& gen) {
  return absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16),
                      absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  if (options.target.empty() && options.channel == nullptr) {
    return absl::InvalidArgumentError("ClientOptions: neither target nor channel is set");
  }
  if (options.job.empty()) {
    return absl::InvalidArgumentError("ClientOptions: job is empty");
  }
  if (options.worker_name.empty()) {
    return absl::InvalidArgumentError("ClientOptions: worker_name is empty");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<Client> client(new Client(std::move(options), *std::move(credentials)));
  if (client->options_.heartbeats) {
    // Started before Join: a PENDING worker may wait a whole round at the
    // barrier inside Join and must keep its lease meanwhile.
    client->heartbeat_thread_ = std::thread([c = client.get()] { c->HeartbeatLoop(); });
  }
  if (absl::Status status = client->Join(); !status.ok()) return status;
  return client;
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : options_(std::move(options)),
      connection_(options_.target, options_.channel, options_.tls, std::move(credentials)),
      runner_(connection_, options_.retry, options_.on_retry, options_.job, options_.worker_name,
              options_.log) {}

Client::~Client() {
  StopHeartbeats();
  bool registered;
  uint64_t worker_id;
  {
    absl::MutexLock lock(&mu_);
    registered = registered_;
    worker_id = worker_id_;
  }
  if (left_ || !registered) return;
  v1::LeaveRequest request;
  request.set_job(options_.job);
  request.set_worker_id(worker_id);
  v1::LeaveResponse response;
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + std::min(options_.call_deadline, kDestructorLeaveDeadline)));
  // Nothing to do about a failure here: the lease will expire instead.
  (void)connection_.stub()->Leave(&context, request, &response);
}

uint64_t Client::worker_id() const {
  absl::MutexLock lock(&mu_);
  return worker_id_;
}

absl::Duration Client::WaitDeadline() const { return barrier_deadline_ + options_.call_deadline; }

absl::Status Client::Join() {
  absl::Status status;
  for (int attempt = 0; attempt < kMaxJoinAttempts; ++attempt) {
    bool retry_join = false;
    status = JoinOnce(&retry_join);
    if (!retry_join) return status;
  }
  return status;
}

absl::Status Client::JoinOnce(bool* retry_join) {
  {
    absl::MutexLock lock(&mu_);
    registered_ = false;
  }
  v1::RegisterRequest request;
  request.set_job(options_.job);
  request.set_worker_name(options_.worker_name);
  request.set_auth_token(options_.auth_token);
  *request.mutable_policy_if_created() = options_.policy_if_created;
  // One id per registration, the same on each of its retries: a retry whose
  // original was applied gets the original answer (the proto's "Retries").
  request.set_request_id(NewRequestId(request_ids_));
  v1::RegisterResponse response;
  absl::Status status = runner_.Run("Register", options_.call_deadline,
                                    [&](v1::Coordinator::Stub& stub, grpc::ClientContext* c) {
                                      return stub.Register(c, request, &response);
                                    });
  if (!status.ok()) return status;
  ++registrations_;
  policy_ = response.policy();
  has_rounds_ = HasRounds(policy_);
  if (response.barrier_deadline_seconds() > 0) {
    barrier_deadline_ = Seconds(response.barrier_deadline_seconds());
  }
  membership_epoch_ = response.membership_epoch();
  membership_fingerprint_ = response.membership_fingerprint();
  if (registrations_ == 1) {
    MarkSynchronized(membership_fingerprint_, membership_epoch_);
  } else {
    rejoined_since_sync_ = true;
  }
  round_ = response.round();
  target_ = static_cast<int>(response.target());
  iteration_ = 0;
  unreported_.clear();
  ssp_lead_bound_ = 0;  // A joiner's clock starts at the slowest one.
  sync_pending_ = false;
  left_ = false;
  {
    absl::MutexLock lock(&mu_);
    worker_id_ = response.worker_id();
    registered_ = true;
    heartbeat_interval_ = options_.heartbeat_interval > absl::ZeroDuration()
                              ? options_.heartbeat_interval
                              : Seconds(response.heartbeat_timeout_seconds()) / 3;
    heartbeat_interval_ = std::max(heartbeat_interval_, kMinHeartbeatInterval);
  }
  if (response.state() != v1::WORKER_STATE_PENDING) return absl::OkStatus();

  // Joined mid-round: wait for that round to end, then start with the others.
  v1::BarrierRequest barrier;
  barrier.set_job(options_.job);
  barrier.set_worker_id(response.worker_id());
  barrier.set_round(response.round() - 1);
  v1::BarrierResponse released;
  status = runner_.Run("Barrier", WaitDeadline(),
                       [&](v1::Coordinator::Stub& stub, grpc::ClientContext* c) {
                         return stub.Barrier(c, barrier, &released);
                       });
  if (absl::IsNotFound(status)) *retry_join = true;
  if (!status.ok()) return status;
  round_ = released.round();
  target_ = static_cast<int>(released.target());
  membership_epoch_ = released.membership_epoch();
  membership_fingerprint_ = released.membership_fingerprint();
  if (registrations_ == 1) MarkSynchronized(membership_fingerprint_, membership_epoch_);
  return absl::OkStatus();
}

absl::Status Client::Rejoin(const absl::Status& cause) {
  absl::Status status = Join();
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("registering again after \"", cause.message(),
                                                  "\" failed: ", status.message()));
}

bool Client::MayTrainOnUnanswered() const {
  if (has_rounds_) return iteration_ < target_;
  if (policy_.kind() == v1::POLICY_KIND_ASP) return unreported_.size() < kMaxUnreported;
  // SSP (and its variants): only as far as the staleness bound provably holds.
  return ssp_lead_bound_ < static_cast<int64_t>(policy_.staleness());
}

bool Client::ChangedSinceSync(uint64_t fingerprint, uint64_t epoch) const {
  if (fingerprint != 0 && sync_fingerprint_ != 0) return fingerprint != sync_fingerprint_;
  // A coordinator without fingerprints: any join, leave or re-registration.
  return rejoined_since_sync_ || epoch != sync_epoch_;
}

void Client::MarkSynchronized(uint64_t fingerprint, uint64_t epoch) {
  sync_fingerprint_ = fingerprint;
  sync_epoch_ = epoch;
  rejoined_since_sync_ = false;
}

absl::StatusOr<StepResult> Client::IterationDone(absl::Duration compute) {
  if (left_) return absl::FailedPreconditionError("IterationDone after Leave");
  if (sync_pending_) {
    return absl::FailedPreconditionError(absl::StrCat("IterationDone after reaching target ",
                                                      target_, " in round ", round_,
                                                      ": call Sync() first"));
  }
  unreported_.push_back(compute);
  ++iteration_;
  ++ssp_lead_bound_;
  StepResult result;
  if (absl::Status status = ReportUnreported(result); !status.ok()) return status;
  result.sync_now = sync_pending_;
  result.round = round_;
  result.target = target_;
  result.iteration = iteration_;
  result.unreported = static_cast<int>(unreported_.size());
  return result;
}

absl::Status Client::ReportUnreported(StepResult& result) {
  while (!unreported_.empty()) {
    v1::ReportIterationRequest request;
    request.set_job(options_.job);
    request.set_worker_id(worker_id());
    request.set_round(round_);
    request.set_iteration(static_cast<uint32_t>(iteration_ - unreported_.size() + 1));
    request.set_compute_seconds(absl::ToDoubleSeconds(unreported_.front()));
    v1::ReportIterationResponse response;
    auto report = [&](v1::Coordinator::Stub& stub, grpc::ClientContext* c) {
      return stub.ReportIteration(c, request, &response);
    };
    // Within its bound the worker trains on without an answer (one attempt
    // per iteration, none during the backoff); at its bound it waits.
    std::optional<absl::Status> answer;
    if (MayTrainOnUnanswered()) {
      answer = runner_.TryOnce("ReportIteration", options_.call_deadline, report);
      if (!answer.has_value()) return absl::OkStatus();
    } else {
      answer = runner_.Run("ReportIteration", options_.call_deadline, report);
    }
    if (absl::IsNotFound(*answer)) {
      // Forgotten: what was not reported is counted here, not re-reported;
      // the worker starts afresh in the round it joins.
      if (absl::Status joined = Rejoin(*answer); !joined.ok()) return joined;
      result.reregistered = true;
      result.membership_changed = ChangedSinceSync(membership_fingerprint_, membership_epoch_);
      return absl::OkStatus();
    }
    if (!answer->ok()) {
      // Refused (a bad compute time, ...): the refused iteration and any
      // behind it are not counted, as if never run.
      iteration_ -= static_cast<int>(unreported_.size());
      ssp_lead_bound_ -= static_cast<int64_t>(unreported_.size());
      unreported_.clear();
      return *answer;
    }
    unreported_.pop_front();
    target_ = static_cast<int>(response.target());
    membership_epoch_ = response.membership_epoch();
    membership_fingerprint_ = response.membership_fingerprint();
    result.membership_changed = ChangedSinceSync(membership_fingerprint_, membership_epoch_);
    if (response.directive() == v1::DIRECTIVE_SYNC_NOW) {
      sync_pending_ = true;
      // Targets never move down, so nothing can be left behind the target;
      // if something were, it would not be counted.
      iteration_ -= static_cast<int>(unreported_.size());
      unreported_.clear();
    } else if (response.directive() == v1::DIRECTIVE_WAIT) {
      absl::StatusOr<v1::WaitForClockResponse> waited = WaitForClock();
      if (absl::IsNotFound(waited.status())) {
        if (absl::Status joined = Rejoin(waited.status()); !joined.ok()) return joined;
        result.reregistered = true;
        result.membership_changed = ChangedSinceSync(membership_fingerprint_, membership_epoch_);
        return absl::OkStatus();
      }
      if (!waited.ok()) return waited.status();
      result.clock_wait += Seconds(waited->waited_seconds());
      ssp_lead_bound_ = static_cast<int64_t>(waited->own_clock() - waited->slowest_clock()) +
                        static_cast<int64_t>(unreported_.size());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::WaitForClockResponse> Client::WaitForClock() {
  v1::WaitForClockRequest request;
  request.set_job(options_.job);
  request.set_worker_id(worker_id());
  v1::WaitForClockResponse response;
  absl::Status status = runner_.Run("WaitForClock", WaitDeadline(),
                                    [&](v1::Coordinator::Stub& stub, grpc::ClientContext* c) {
                                      return stub.WaitForClock(c, request, &response);
                                    });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<SyncResult> Client::Sync() {
  if (left_) return absl::FailedPreconditionError("Sync after Leave");
  if (!has_rounds_) {
    return absl::FailedPreconditionError(
        absl::StrCat("Sync under policy ", elasticbsp::v1::PolicyKind_Name(policy_.kind()),
                     ", which has no rounds"));
  }
  if (!sync_pending_) {
    return absl::FailedPreconditionError(absl::StrCat("Sync before the target: ", iteration_,
                                                      " of ", target_, " iterations done in round ",
                                                      round_));
  }
  v1::BarrierRequest request;
  request.set_job(options_.job);
  request.set_worker_id(worker_id());
  request.set_round(round_);
  v1::BarrierResponse response;
  absl::Status status = runner_.Run("Barrier", WaitDeadline(),
                                    [&](v1::Coordinator::Stub& stub, grpc::ClientContext* c) {
                                      return stub.Barrier(c, request, &response);
                                    });
  SyncResult result;
  if (absl::IsNotFound(status)) {
    // Forgotten while waiting (a coordinator restart): registered again, the
    // worker starts the round it joined without a barrier. Nobody else
    // synchronizes now, so the caller must not either.
    if (absl::Status joined = Rejoin(status); !joined.ok()) return joined;
    result.synchronized = false;
    result.reregistered = true;
    result.membership_changed = false;  // Decided at the next barrier.
  } else if (!status.ok()) {
    return status;
  } else {
    round_ = response.round();
    target_ = static_cast<int>(response.target());
    iteration_ = 0;
    sync_pending_ = false;
    result.waited = Seconds(response.waited_seconds());
    result.live_workers = static_cast<int>(response.live_workers());
    membership_epoch_ = response.membership_epoch();
    membership_fingerprint_ = response.membership_fingerprint();
    result.membership_changed = ChangedSinceSync(membership_fingerprint_, membership_epoch_);
    MarkSynchronized(membership_fingerprint_, membership_epoch_);
  }
  result.round = round_;
  result.target = target_;
  result.membership_epoch = membership_epoch_;
  result.membership_fingerprint = membership_fingerprint_;
  return result;
}

absl::Status Client::Leave() {
  if (left_) return absl::OkStatus();
  v1::LeaveRequest request;
  request.set_job(options_.job);
  request.set_worker_id(worker_id());
  v1::LeaveResponse response;
  absl::Status status = runner_.Run("Leave", options_.call_deadline,
                                    [&](v1::Coordinator::Stub& stub, grpc::ClientContext* c) {
                                      return stub.Leave(c, request, &response);
                                    });
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  left_ = true;
  absl::MutexLock lock(&mu_);
  registered_ = false;
  return absl::OkStatus();
}

void Client::HeartbeatLoop() {
  // Probes in a row that went unanswered (each abandoned its channel).
  int unanswered_probes = 0;
  mu_.Lock();
  while (!stopping_) {
    // Right after abandoning a channel, the fresh one is probed at once: a
    // Service may have routed it to the same frozen replica.
    if (unanswered_probes == 0) {
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), heartbeat_interval_);
    }
    if (stopping_) break;
    if (!registered_) {
      unanswered_probes = 0;
      continue;
    }
    v1::HeartbeatRequest request;
    request.set_job(options_.job);
    request.set_worker_id(worker_id_);
    grpc::ClientContext context;
    const absl::Time deadline = absl::Now() + ProbeDeadline(unanswered_probes);
    context.set_deadline(absl::ToChronoTime(deadline));
    heartbeat_call_ = &context;
    mu_.Unlock();
    const Connection::Route route = connection_.route();
    v1::HeartbeatResponse response;
    // A failed beat is not retried: the next one follows after an interval
    // and the lease outlasts two missed ones. A NOT_FOUND is left to the
    // training thread, which registers again on its next call.
    const grpc::Status status = route.stub->Heartbeat(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && absl::Now() >= deadline) {
      // The call the training thread has in flight on that channel (a
      // Barrier waits there for minutes; gRPC's keepalive would need 15 s)
      // is cancelled and retried on a fresh channel.
      connection_.Abandon(route.channel);
      ++unanswered_probes;
    } else {
      unanswered_probes = 0;
    }
    mu_.Lock();
    heartbeat_call_ = nullptr;
  }
  mu_.Unlock();
}

absl::Duration Client::ProbeDeadline(int unanswered_probes) const {
  // The heartbeat is also the liveness probe (connection.h): a live
  // coordinator answers it at once, so one unanswered past this deadline
  // means the coordinator froze or the link is cut. From the third probe in
  // a row it doubles each time (up to the call deadline): a link or a
  // coordinator slower than the deadline must not lose every call to it.
  absl::Duration probe = std::max(heartbeat_interval_, kMinProbeDeadline);
  for (int i = 1; i < unanswered_probes && probe < options_.call_deadline; ++i) probe *= 2;
  return std::min(probe, options_.call_deadline);
}

void Client::StopHeartbeats() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (heartbeat_call_ != nullptr) heartbeat_call_->TryCancel();
  }
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
}

}  // namespace ebsp::client
