#include "tools/loadgen/policy_text.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ebsp::loadgen {
namespace {

using elasticbsp::v1::Objective;
using elasticbsp::v1::Policy;
using elasticbsp::v1::PolicyKind;
using elasticbsp::v1::PredictorKind;

absl::StatusOr<uint32_t> ParseCount(absl::string_view text, absl::string_view key,
                                    absl::string_view value) {
  uint32_t out = 0;
  if (!absl::SimpleAtoi(value, &out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy \"", text, "\": ", key, "=", value, " is not a non-negative integer"));
  }
  return out;
}

}  // namespace

absl::StatusOr<Policy> ParsePolicyText(absl::string_view text) {
  Policy policy;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty() || trimmed == "default") return policy;

  std::vector<absl::string_view> head = absl::StrSplit(trimmed, absl::MaxSplits(':', 1));
  const absl::string_view kind = head[0];
  std::vector<absl::string_view> params;
  if (head.size() == 2) params = absl::StrSplit(head[1], ',');

  if (kind == "bsp") {
    policy.set_kind(elasticbsp::v1::POLICY_KIND_BSP);
  } else if (kind == "asp") {
    policy.set_kind(elasticbsp::v1::POLICY_KIND_ASP);
  } else if (kind == "ssp") {
    policy.set_kind(elasticbsp::v1::POLICY_KIND_SSP);
  } else if (kind == "local") {
    policy.set_kind(elasticbsp::v1::POLICY_KIND_LOCAL_STEPS);
  } else if (kind == "ebsp") {
    policy.set_kind(elasticbsp::v1::POLICY_KIND_ELASTIC_BSP);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy \"", text, "\": unknown kind \"", kind,
        "\" (want bsp, asp, ssp, local or ebsp)"));
  }

  for (absl::string_view param : params) {
    std::vector<absl::string_view> kv = absl::StrSplit(param, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "policy \"", text, "\": parameter \"", param, "\" is not key=value"));
    }
    const absl::string_view key = kv[0];
    const absl::string_view value = kv[1];
    const PolicyKind k = policy.kind();
    if (k == elasticbsp::v1::POLICY_KIND_SSP && key == "s") {
      absl::StatusOr<uint32_t> s = ParseCount(text, key, value);
      if (!s.ok()) return s.status();
      policy.set_staleness(*s);
    } else if (k == elasticbsp::v1::POLICY_KIND_LOCAL_STEPS && key == "H") {
      absl::StatusOr<uint32_t> h = ParseCount(text, key, value);
      if (!h.ok()) return h.status();
      policy.set_local_steps(*h);
    } else if (k == elasticbsp::v1::POLICY_KIND_ELASTIC_BSP && key == "R") {
      absl::StatusOr<uint32_t> r = ParseCount(text, key, value);
      if (!r.ok()) return r.status();
      policy.set_lookahead(*r);
    } else if (k == elasticbsp::v1::POLICY_KIND_ELASTIC_BSP && key == "objective") {
      if (value == "spread") {
        policy.set_objective(elasticbsp::v1::OBJECTIVE_SPREAD);
      } else if (value == "total_wait") {
        policy.set_objective(elasticbsp::v1::OBJECTIVE_TOTAL_WAIT);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "policy \"", text, "\": objective \"", value,
            "\" is not spread or total_wait"));
      }
    } else if (k == elasticbsp::v1::POLICY_KIND_ELASTIC_BSP && key == "predictor") {
      if (value == "latest") {
        policy.set_predictor(elasticbsp::v1::PREDICTOR_KIND_LATEST_INTERVAL);
      } else if (value == "ewma") {
        policy.set_predictor(elasticbsp::v1::PREDICTOR_KIND_EWMA);
      } else if (value == "median") {
        policy.set_predictor(elasticbsp::v1::PREDICTOR_KIND_WINDOWED_MEDIAN);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "policy \"", text, "\": predictor \"", value,
            "\" is not latest, ewma or median"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "policy \"", text, "\": parameter \"", key, "\" does not apply to ", kind));
    }
  }
  return policy;
}

std::string PolicyToText(const Policy& policy) {
  switch (policy.kind()) {
    case elasticbsp::v1::POLICY_KIND_BSP:
      return "bsp";
    case elasticbsp::v1::POLICY_KIND_ASP:
      return "asp";
    case elasticbsp::v1::POLICY_KIND_SSP:
      return absl::StrCat("ssp:s=", policy.staleness());
    case elasticbsp::v1::POLICY_KIND_LOCAL_STEPS:
      return absl::StrCat("local:H=", policy.local_steps());
    case elasticbsp::v1::POLICY_KIND_ELASTIC_BSP: {
      std::string out = absl::StrCat("ebsp:R=", policy.lookahead());
      switch (policy.objective()) {
        case elasticbsp::v1::OBJECTIVE_SPREAD:
          absl::StrAppend(&out, ",objective=spread");
          break;
        case elasticbsp::v1::OBJECTIVE_TOTAL_WAIT:
          absl::StrAppend(&out, ",objective=total_wait");
          break;
        default:
          break;
      }
      switch (policy.predictor()) {
        case elasticbsp::v1::PREDICTOR_KIND_LATEST_INTERVAL:
          absl::StrAppend(&out, ",predictor=latest");
          break;
        case elasticbsp::v1::PREDICTOR_KIND_EWMA:
          absl::StrAppend(&out, ",predictor=ewma");
          break;
        case elasticbsp::v1::PREDICTOR_KIND_WINDOWED_MEDIAN:
          absl::StrAppend(&out, ",predictor=median");
          break;
        default:
          break;
      }
      return out;
    }
    default:
      return "default";
  }
}

}  // namespace ebsp::loadgen
