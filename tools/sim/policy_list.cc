#include "tools/sim/policy_list.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/core/policy/policy_config.h"

namespace ebsp::sim {
namespace {

// True when `item` begins with a policy name, as ParsePolicy spells them
// (aliases such as "elastic_bsp" and "local_steps" included): the text before
// ':' parses on its own exactly when it names a policy kind.
bool StartsPolicy(absl::string_view item) {
  const absl::string_view head = item.substr(0, item.find(':'));
  return core::ParsePolicy(std::string_view(head.data(), head.size())).ok();
}

}  // namespace

absl::StatusOr<std::vector<SimPolicy>> ParsePolicyList(absl::string_view text, bool add_oracles) {
  if (absl::StripAsciiWhitespace(text) == "all") text = kAllPolicies;
  std::vector<std::string> texts;
  for (absl::string_view raw : absl::StrSplit(text, ',')) {
    const absl::string_view item = absl::StripAsciiWhitespace(raw);
    if (item.empty()) continue;
    if (StartsPolicy(item) || texts.empty()) {
      texts.emplace_back(item);
    } else {
      absl::StrAppend(&texts.back(), ",", item);
    }
  }
  if (texts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no policy in '", text, "'"));
  }
  std::vector<SimPolicy> policies;
  for (const std::string& item : texts) {
    absl::StatusOr<core::PolicyConfig> config = core::ParsePolicy(item);
    if (!config.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy '", item, "': ", config.status().message()));
    }
    for (const SimPolicy& seen : policies) {
      if (seen.label == item) {
        return absl::InvalidArgumentError(absl::StrCat("policy '", item, "' is listed twice"));
      }
    }
    policies.push_back(SimPolicy{item, *config, false});
    if (add_oracles && config->kind == core::PolicyKind::kElasticBsp) {
      // Policies differing only in their predictor share one oracle.
      std::string label =
          absl::StrCat("ebsp-oracle:R=", config->lookahead,
                       ",objective=", std::string(core::ObjectiveName(config->objective)));
      bool listed = false;
      for (const SimPolicy& seen : policies) listed |= seen.label == label;
      if (!listed) policies.push_back(SimPolicy{std::move(label), *config, true});
    }
  }
  return policies;
}

}  // namespace ebsp::sim
