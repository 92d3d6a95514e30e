// RunCallBatch: start one asynchronous gRPC call per item, at most `window`
// in flight (each completion starts the next item), and wait for all of
// them with a deadline. The load tools register, report to and release
// thousands of simulated workers this way without a thread per call.
#ifndef EBSP_TOOLS_LOADGEN_CALL_BATCH_H_
#define EBSP_TOOLS_LOADGEN_CALL_BATCH_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace ebsp::loadgen {

// Starts the call for item `index`; the call's completion must run `done`
// exactly once, from any thread.
using CallDone = std::function<void(const grpc::Status&)>;
using IssueCall = std::function<void(size_t index, CallDone done)>;

// OK once every call completed OK. Otherwise the first failure, as
// FAILED_PRECONDITION "<what>: <describe(index)>: CODE: message", or
// DEADLINE_EXCEEDED if not all completed within `timeout`. The window's
// bookkeeping is shared with the callbacks, but the calls themselves point
// into the caller's state: give every call a deadline shorter than
// `timeout`, so none is still running when this returns.
absl::Status RunCallBatch(size_t count, size_t window, const IssueCall& issue,
                          const std::function<std::string(size_t)>& describe,
                          absl::string_view what, absl::Duration timeout);

}  // namespace ebsp::loadgen

#endif  // EBSP_TOOLS_LOADGEN_CALL_BATCH_H_
