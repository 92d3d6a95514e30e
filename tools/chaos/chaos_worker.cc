// ebsp-chaos-worker: a worker on the C++ client that runs iterations against
// a real coordinator and records its history as JSON lines, for the chaos
// suite (tests/chaos). The Python twin is tools/chaos/chaos_worker.py; both
// write the same events (that file's docstring lists them) and obey the
// same control files in --control_dir: `go` (with --wait_go, iterate only
// once it exists), `hold.<worker>` (pause inside the current iteration while
// it exists), `stop` (leave and exit 0 at the next iteration).
//
// An "iteration" sleeps --iter_ms, jittered by ±--jitter: no training
// stack. Every line is written with one write(2) on an O_APPEND descriptor, so
// a kill -9 loses at most the event being written. Exit status: 0 after a
// requested stop, 1 after a client error, 2 for bad flags, 3 when
// --max_runtime ran out.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/client.h"
#include "clients/cpp/ebsp/policy_text.h"
#include "lib/cli/usage.h"

ABSL_FLAG(std::string, target, "", "coordinator host:port");
ABSL_FLAG(std::string, job, "", "job name");
ABSL_FLAG(std::string, name, "", "worker name");
ABSL_FLAG(std::string, policy, "ebsp:R=4", "policy if the job is created");
ABSL_FLAG(double, iter_ms, 50, "mean iteration time");
ABSL_FLAG(double, jitter, 0.3, "iteration time is iter_ms * (1 + jitter * U(-1, 1))");
ABSL_FLAG(std::string, history, "", "JSON-lines history file (appended)");
ABSL_FLAG(std::string, control_dir, "", "directory of the go / hold.<name> / stop files");
ABSL_FLAG(bool, wait_go, false, "start iterating only once <control_dir>/go exists");
ABSL_FLAG(absl::Duration, max_runtime, absl::Minutes(5), "bound on the whole run");

namespace {

using ebsp::client::Client;

// CLOCK_MONOTONIC in seconds: Python's time.monotonic() reads the same clock,
// so events of all workers on the machine compare.
double Monotonic() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

// One event per line; `fields` are preformatted `"key":value` pairs.
class History {
 public:
  History(int fd, std::string fixed) : fd_(fd), fixed_(std::move(fixed)) {}
  void Write(absl::string_view event, std::initializer_list<std::string> fields = {}) {
    std::string line =
        absl::StrFormat(R"({"t":%.6f,"ev":%s,%s)", Monotonic(), JsonString(event), fixed_);
    for (const std::string& field : fields) absl::StrAppend(&line, ",", field);
    absl::StrAppend(&line, "}\n");
    // One write on an O_APPEND descriptor: the line is whole or absent.
    if (::write(fd_, line.data(), line.size()) < 0) std::perror("history write");
  }

 private:
  int fd_;
  std::string fixed_;
};

std::string Field(absl::string_view key, absl::string_view json_value) {
  return absl::StrCat(JsonString(key), ":", json_value);
}
std::string Num(absl::string_view key, double v) { return Field(key, absl::StrFormat("%.6f", v)); }
std::string Int(absl::string_view key, uint64_t v) { return Field(key, absl::StrCat(v)); }
std::string Bool(absl::string_view key, bool v) { return Field(key, v ? "true" : "false"); }
std::string Str(absl::string_view key, absl::string_view v) { return Field(key, JsonString(v)); }

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string job = absl::GetFlag(FLAGS_job);
  const std::string name = absl::GetFlag(FLAGS_name);
  const std::string history_path = absl::GetFlag(FLAGS_history);
  const std::string control_dir = absl::GetFlag(FLAGS_control_dir);
  if (target.empty() || job.empty() || name.empty() || history_path.empty() ||
      control_dir.empty()) {
    std::fprintf(stderr, "--target, --job, --name, --history and --control_dir are required\n");
    return 2;
  }
  absl::StatusOr<elasticbsp::v1::Policy> policy =
      ebsp::client::ParsePolicyText(absl::GetFlag(FLAGS_policy));
  if (!policy.ok()) {
    std::fprintf(stderr, "--policy: %s\n", std::string(policy.status().message()).c_str());
    return 2;
  }
  const int fd = ::open(history_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(history_path.c_str());
    return 2;
  }
  History history(fd, absl::StrCat(Str("client", "cpp"), ",", Str("job", job), ",",
                                   Str("worker", name), ",", Int("pid", ::getpid())));
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_max_runtime);
  auto out_of_time = [&] { return absl::Now() > deadline; };
  const std::string stop_file = control_dir + "/stop";
  const std::string go_file = control_dir + "/go";
  const std::string hold_file = control_dir + "/hold." + name;
  const double iter_ms = absl::GetFlag(FLAGS_iter_ms);
  const double jitter = absl::GetFlag(FLAGS_jitter);
  std::mt19937_64 gen(std::random_device{}());
  std::uniform_real_distribution<double> unit(-1.0, 1.0);

  // The retry observer runs on this (the training) thread: an outage is the
  // time from the first retry after a success to the next success.
  bool in_outage = false;
  double outage_began = 0;
  ebsp::client::ClientOptions options;
  options.target = target;
  options.job = job;
  options.worker_name = name;
  options.policy_if_created = *policy;
  options.on_retry = [&](const ebsp::client::RetryEvent& event) {
    if (in_outage) return;
    in_outage = true;
    outage_began = Monotonic();
    history.Write("outage_start",
                  {Str("method", event.method), Str("status", event.status.ToString())});
  };
  // The client's own outage lines (one when an outage begins, one when it ends).
  options.log = [&](absl::string_view line) {
    history.Write("client_log", {Str("message", line)});
  };
  auto call_succeeded = [&] {
    if (!in_outage) return;
    in_outage = false;
    history.Write("outage_end", {Num("length", Monotonic() - outage_began)});
  };
  auto fail = [&](absl::string_view what, const absl::Status& status) {
    history.Write("error", {Str("message", absl::StrCat(what, ": ", status.ToString()))});
    std::fprintf(stderr, "chaos_worker %s: %s: %s\n", name.c_str(), std::string(what).c_str(),
                 status.ToString().c_str());
    return 1;
  };

  history.Write("start", {Str("policy", absl::GetFlag(FLAGS_policy)), Num("iter_ms", iter_ms)});
  history.Write("register_start");
  absl::StatusOr<std::unique_ptr<Client>> connected = Client::Connect(options);
  if (!connected.ok()) return fail("Connect", connected.status());
  call_succeeded();
  Client& client = **connected;
  history.Write("registered", {Int("round", client.round()), Int("target", client.target()),
                               Int("registrations", client.registrations())});
  if (absl::GetFlag(FLAGS_wait_go)) {
    while (!Exists(go_file) && !out_of_time()) absl::SleepFor(absl::Milliseconds(10));
  }
  while (true) {
    if (Exists(stop_file) || out_of_time()) {
      const bool requested = !out_of_time();
      history.Write("stop", {Str("reason", requested ? "requested" : "max_runtime")});
      (void)client.Leave();
      return requested ? 0 : 3;
    }
    const uint64_t round = client.round();
    history.Write("compute_start", {Int("round", round), Int("iteration", client.iteration() + 1)});
    if (Exists(hold_file)) {
      history.Write("held", {Int("round", round)});
      while (Exists(hold_file) && !out_of_time()) absl::SleepFor(absl::Milliseconds(10));
    }
    const double compute_ms = iter_ms * (1 + jitter * unit(gen));
    absl::SleepFor(absl::Milliseconds(compute_ms));
    const double sent = Monotonic();
    absl::StatusOr<ebsp::client::StepResult> step =
        client.IterationDone(absl::Milliseconds(compute_ms));
    if (!step.ok()) return fail("IterationDone", step.status());
    call_succeeded();
    history.Write("report", {Num("sent", sent), Int("round", round),
                             Int("iteration", static_cast<uint64_t>(step->iteration)),
                             Int("target", static_cast<uint64_t>(step->target)),
                             Str("directive", step->sync_now ? "sync" : "continue"),
                             Bool("rejoined", step->reregistered), Int("now_round", step->round),
                             Num("clock_wait", absl::ToDoubleSeconds(step->clock_wait))});
    if (!step->sync_now) continue;
    const uint64_t from_round = client.round();
    history.Write("sync_start", {Int("round", from_round)});
    absl::StatusOr<ebsp::client::SyncResult> sync = client.Sync();
    if (!sync.ok()) return fail("Sync", sync.status());
    call_succeeded();
    history.Write(
        "release",
        {Int("from_round", from_round), Int("round", sync->round),
         Int("target", static_cast<uint64_t>(sync->target)), Int("epoch", sync->membership_epoch),
         Int("fingerprint", sync->membership_fingerprint),
         Int("live", static_cast<uint64_t>(sync->live_workers)),
         Bool("changed", sync->membership_changed),
         Num("waited", absl::ToDoubleSeconds(sync->waited)), Bool("rejoined", sync->reregistered),
         Bool("synchronized", sync->synchronized)});
  }
}

}  // namespace

int main(int argc, char** argv) {
  ebsp::cli::InitUsage("ebsp-chaos-worker",
                       "A worker of the chaos suite: runs iterations against a coordinator and "
                       "records its history as JSON lines (tools/chaos/README.md).");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
