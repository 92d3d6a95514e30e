#include "lib/core/policy/policy.h"

#include "lib/core/policy/dssp_policy.h"
#include "lib/core/policy/elastic_bsp_policy.h"
#include "lib/core/policy/fixed_target_policy.h"
#include "lib/core/policy/roundless_policies.h"

namespace ebsp::core {

std::unique_ptr<Policy> Policy::Create(const PolicyConfig& config) {
  switch (config.kind) {
    case PolicyKind::kBsp:
      return std::make_unique<FixedTargetPolicy>(config, 1);
    case PolicyKind::kLocalSteps:
      return std::make_unique<FixedTargetPolicy>(config, config.local_steps);
    case PolicyKind::kElasticBsp:
      return std::make_unique<ElasticBspPolicy>(config);
    case PolicyKind::kAsp:
      return std::make_unique<AspPolicy>(config);
    case PolicyKind::kSsp:
      return std::make_unique<SspPolicy>(config);
    case PolicyKind::kDssp:
      return std::make_unique<DsspPolicy>(config);
  }
  return std::make_unique<FixedTargetPolicy>(config, 1);
}

}  // namespace ebsp::core
