#include "tools/demo/summary.h"

#include <algorithm>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "clients/cpp/ebsp/policy_text.h"

namespace ebsp::demo {
namespace {

constexpr size_t kMaxJobName = 128;

// True when `part` begins with a policy name as the policy text form spells
// them (aliases such as "elastic_bsp" included): the text before ':' parses
// on its own exactly when it names a policy kind.
bool StartsPolicy(absl::string_view part) {
  const absl::string_view name = part.substr(0, part.find(':'));
  return ebsp::client::ParsePolicyText(std::string_view(name.data(), name.size())).ok();
}

// The kind a phase ran under (UNSPECIFIED for text that does not parse).
elasticbsp::v1::PolicyKind KindOf(const std::string& policy_text) {
  absl::StatusOr<elasticbsp::v1::Policy> policy = ebsp::client::ParsePolicyText(policy_text);
  return policy.ok() ? policy->kind() : elasticbsp::v1::POLICY_KIND_UNSPECIFIED;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitPolicyList(absl::string_view list) {
  std::vector<std::string> policies;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    if (StartsPolicy(part) || policies.empty()) {
      policies.emplace_back(part);
    } else {
      absl::StrAppend(&policies.back(), ",", part);
    }
  }
  if (policies.empty()) return absl::InvalidArgumentError("--policies is empty");
  for (const std::string& policy : policies) {
    if (absl::Status status = ebsp::client::ParsePolicyText(policy).status(); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--policies has \"", policy, "\": ", status.message()));
    }
  }
  return policies;
}

std::string JobName(absl::string_view prefix, absl::string_view run_id, size_t index,
                    absl::string_view policy) {
  std::string name = absl::StrCat(prefix, "-", run_id, "-", index, "-", policy);
  for (char& c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) c = '_';
  }
  if (name.size() > kMaxJobName) name.resize(kMaxJobName);
  return name;
}

std::string FormatSummary(const std::vector<PhaseResult>& results) {
  std::string out = absl::StrFormat("%-28s %10s %8s %8s %11s\n", "policy", "it/s", "idle", "rounds",
                                    "iterations");
  for (const PhaseResult& r : results) {
    absl::StrAppendFormat(&out, "%-28s %10.1f %8.3f %8d %11d\n", r.policy_text,
                          r.iterations_per_second, r.idle_fraction, r.rounds, r.iterations);
  }
  auto bsp = std::find_if(results.begin(), results.end(), [](const PhaseResult& r) {
    return KindOf(r.policy_text) == elasticbsp::v1::POLICY_KIND_BSP;
  });
  if (bsp == results.end() || bsp->iterations_per_second <= 0) return out;
  for (const PhaseResult& r : results) {
    if (KindOf(r.policy_text) != elasticbsp::v1::POLICY_KIND_ELASTIC_BSP) continue;
    absl::StrAppendFormat(&out, "speedup of ElasticBSP (%s) over BSP: %.2fx iterations/s\n",
                          r.policy_text, r.iterations_per_second / bsp->iterations_per_second);
  }
  return out;
}

}  // namespace ebsp::demo
