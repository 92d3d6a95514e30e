// Checks of the service_handlers fuzz target (service_handlers_fuzz.cc):
// which status codes each handler may answer with, and what every job view
// and reply must satisfy. Each returns "" when the check holds, otherwise
// what broke (the target aborts with it, so libFuzzer keeps the input).
#ifndef EBSP_TESTS_FUZZ_SERVICE_CHECKS_H_
#define EBSP_TESTS_FUZZ_SERVICE_CHECKS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "elasticbsp/v1/coordinator.pb.h"

namespace ebsp::fuzz {

namespace v1 = ::elasticbsp::v1;

// The requests the target sends; one per handler of CoordinatorService.
enum class Request {
  kCreateJob,
  kGetJob,
  kListJobs,
  kUpdatePolicy,
  kDeleteJob,
  kRegister,
  kReport,
  kBarrier,
  kWaitForClock,
  kHeartbeat,
  kLeave,
};
const char* RequestName(Request request);

// When in a call's life a status was observed.
enum class Answer {
  kImmediate,  // Returned by the handler (or, for waits, finished at once).
  kParked,     // A parked Barrier / WaitForClock finished later.
  kShutdown,   // A parked wait drained by BeginShutdown at the end of an input.
};

// The status codes coordinator_service.h documents for `request` (its own
// list plus INVALID_ARGUMENT of every method, the edge's UNAUTHENTICATED /
// PERMISSION_DENIED for the job administration calls and a Register that
// creates its job), each with a non-empty message. "" when `status` is one.
std::string CheckStatus(Request request, Answer answer, const absl::Status& status);

// Every job of a ListJobs reply: sorted unique valid names, at most
// `max_jobs` of them, each job consistent (CheckJob).
std::string CheckJobs(const v1::ListJobsResponse& jobs, int max_jobs);

// One job view: at most spec.max_workers workers with unique non-zero ids
// and unique names, known states, finite non-negative times, an idle
// fraction in [0, 1], barrier arrivals and missing workers disjoint and
// among the workers, and the membership fingerprint of its names.
std::string CheckJob(const v1::Job& job);

// Sum mod 2^64 of core::NameFingerprint over the job's worker names (the
// proto's definition of membership_fingerprint).
uint64_t FingerprintOf(const v1::Job& job);

}  // namespace ebsp::fuzz

#endif  // EBSP_TESTS_FUZZ_SERVICE_CHECKS_H_
