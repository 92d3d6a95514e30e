// The straggler view: the k workers of a job with the longest recent
// iteration interval, with their ratio to the job's median interval. Shared
// by the coordinator's ebsp_straggler_* gauges and ebsp-status, so both show
// the same workers for the same data.
//
//   std::vector<Straggler> top = SlowestWorkers(intervals, 3);
//   // top[0] is the slowest; top[0].ratio_to_median == 2.0: twice the median.
#ifndef EBSP_LIB_CORE_JOB_STRAGGLERS_H_
#define EBSP_LIB_CORE_JOB_STRAGGLERS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "lib/core/job/job_state.h"

namespace ebsp::core {

struct WorkerInterval {
  WorkerId worker = 0;
  std::string name;
  absl::Duration interval;  // The worker's most recent iteration (compute) time.
};

struct Straggler {
  WorkerId worker = 0;
  std::string name;
  absl::Duration interval;
  double ratio_to_median = 0;  // interval / the median over every worker with one.
};

// The min(k, n) workers with the longest interval, slowest first (ties by
// name, then id). Workers without an interval yet (zero or negative) are
// neither ranked nor part of the median. O(n) plus O(k log k).
std::vector<Straggler> SlowestWorkers(std::vector<WorkerInterval> workers, int k);

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_STRAGGLERS_H_
