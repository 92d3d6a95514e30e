// Renders the coordinator's Job messages for ebsp-status: a compact text
// view for people (policy, round, barrier arrivals, one line per worker) and
// JSON with the proto's field names for scripts.
#ifndef EBSP_TOOLS_STATUS_JOB_FORMAT_H_
#define EBSP_TOOLS_STATUS_JOB_FORMAT_H_

#include <string>

#include "elasticbsp/v1/coordinator.pb.h"

namespace ebsp::status {

struct TextOptions {
  // Workers listed per job (the rest are counted); 0 lists all.
  int max_workers = 100;
  // Names listed in the barrier's missing list before "... and N more".
  int max_missing_names = 10;
};

std::string FormatJobText(const elasticbsp::v1::Job& job, const TextOptions& options);
std::string FormatJobsText(const elasticbsp::v1::ListJobsResponse& jobs,
                           const TextOptions& options);

// One JSON document, every field present (zeros included), proto names.
std::string FormatJson(const google::protobuf::Message& message);

}  // namespace ebsp::status

#endif  // EBSP_TOOLS_STATUS_JOB_FORMAT_H_
