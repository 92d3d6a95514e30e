// The leadership series (docs/metrics.md): ebsp_ha_leader is 1 while this
// replica serves as leader (always 1 without HA, so "no replica leads" is
// one alert for both setups) and ebsp_ha_leadership_changes_total counts
// this replica's elections and depositions. Thread-safe.
#ifndef EBSP_SERVICE_HA_HA_METRICS_H_
#define EBSP_SERVICE_HA_HA_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace ebsp::ha {

class HaMetrics {
 public:
  explicit HaMetrics(prometheus::Registry& registry)
      : leader_(prometheus::BuildGauge()
                    .Name("ebsp_ha_leader")
                    .Help("1 while this replica serves the Coordinator API as leader")
                    .Register(registry)
                    .Add({})),
        changes_(prometheus::BuildCounter()
                     .Name("ebsp_ha_leadership_changes_total")
                     .Help("Times this replica became leader or stopped being leader")
                     .Register(registry)
                     .Add({})) {}

  void SetLeader(bool leading) {
    if ((leader_.Value() > 0) != leading) changes_.Increment();
    leader_.Set(leading ? 1 : 0);
  }

 private:
  prometheus::Gauge& leader_;
  prometheus::Counter& changes_;
};

}  // namespace ebsp::ha

#endif  // EBSP_SERVICE_HA_HA_METRICS_H_
