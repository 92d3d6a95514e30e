// ebsp-status: what a running coordinator's jobs are doing, over the public
// GetJob / ListJobs calls.
//
//   ebsp-status --target=HOST:PORT [--job=NAME] [--json]
//
// Exit status: 0 shown, 1 the coordinator answered with an error (e.g. no
// such job), 2 it could not be reached in time or the flags are wrong.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cpp/ebsp/status.h"
#include "elasticbsp/v1/coordinator.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "lib/cli/usage.h"
#include "tools/status/job_format.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "coordinator host:port");
ABSL_FLAG(std::string, job, "", "show only this job (GetJob); default: all jobs");
ABSL_FLAG(bool, json, false, "print the Job / ListJobsResponse as JSON");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "give up when the coordinator does not answer within this");
ABSL_FLAG(int, max_workers, 100, "workers listed per job in the text view (0: all)");

namespace {

namespace v1 = ::elasticbsp::v1;

// Large jobs (10,000 workers) exceed gRPC's default 4 MB receive limit.
constexpr int kMaxResponseBytes = 256 << 20;

int Fail(const std::string& target, const std::string& what, const grpc::Status& status,
         absl::Duration timeout) {
  // "NOT_FOUND: GetJob of job x: ..." with the coordinator's code and message.
  const std::string error = ebsp::client::FromGrpcStatus(what, status).ToString();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      std::fprintf(stderr, "ebsp-status: cannot reach the coordinator at %s (%s)\n", target.c_str(),
                   error.c_str());
      return 2;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::fprintf(stderr, "ebsp-status: the coordinator at %s did not answer %s within %s\n",
                   target.c_str(), what.c_str(), absl::FormatDuration(timeout).c_str());
      return 2;
    default:
      std::fprintf(stderr, "ebsp-status: the coordinator at %s answered %s\n", target.c_str(),
                   error.c_str());
      return 1;
  }
}

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string job = absl::GetFlag(FLAGS_job);
  const bool json = absl::GetFlag(FLAGS_json);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration()) {
    std::fprintf(stderr, "ebsp-status: --timeout=%s must be positive\n",
                 absl::FormatDuration(timeout).c_str());
    return 2;
  }
  ebsp::status::TextOptions text_options;
  text_options.max_workers = absl::GetFlag(FLAGS_max_workers);

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxResponseBytes);
  auto stub = v1::Coordinator::NewStub(
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));

  std::string out;
  if (!job.empty()) {
    v1::GetJobRequest request;
    request.set_job(job);
    v1::Job response;
    grpc::Status status = stub->GetJob(&ctx, request, &response);
    if (!status.ok()) return Fail(target, absl::StrCat("GetJob of job ", job), status, timeout);
    out = json ? ebsp::status::FormatJson(response) + "\n"
               : ebsp::status::FormatJobText(response, text_options);
  } else {
    v1::ListJobsResponse response;
    grpc::Status status = stub->ListJobs(&ctx, v1::ListJobsRequest(), &response);
    if (!status.ok()) return Fail(target, "ListJobs", status, timeout);
    out = json ? ebsp::status::FormatJson(response) + "\n"
               : ebsp::status::FormatJobsText(response, text_options);
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ebsp::cli::InitUsage("ebsp-status",
                       "What a running coordinator's jobs are doing: workers, rounds, who is "
                       "missing at the barrier (GetJob / ListJobs). Exit status: 0 shown, 1 the "
                       "coordinator answered with an error, 2 unreachable or bad flags.");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
