#include "lib/core/predict/predictor.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/core/predict/ewma_predictor.h"
#include "lib/core/predict/latest_interval_predictor.h"
#include "lib/core/predict/windowed_median_predictor.h"
#include "lib/core/string_view_compat.h"

namespace ebsp::core {

std::unique_ptr<IterationPredictor> MakePredictor(PredictorKind kind) {
  switch (kind) {
    case PredictorKind::kLatestInterval:
      return std::make_unique<LatestIntervalPredictor>();
    case PredictorKind::kEwma:
      return std::make_unique<EwmaPredictor>();
    case PredictorKind::kWindowedMedian:
      return std::make_unique<WindowedMedianPredictor>();
  }
  return std::make_unique<EwmaPredictor>();
}

std::string_view PredictorKindName(PredictorKind kind) {
  switch (kind) {
    case PredictorKind::kLatestInterval:
      return "latest";
    case PredictorKind::kEwma:
      return "ewma";
    case PredictorKind::kWindowedMedian:
      return "median";
  }
  return "unknown";
}

absl::StatusOr<PredictorKind> ParsePredictorKind(std::string_view name) {
  for (PredictorKind kind :
       {PredictorKind::kLatestInterval, PredictorKind::kEwma, PredictorKind::kWindowedMedian}) {
    if (name == PredictorKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown predictor \"", ToAbsl(name), "\"; expected latest, ewma or median"));
}

}  // namespace ebsp::core
