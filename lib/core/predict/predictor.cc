#include "lib/core/predict/predictor.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/core/predict/ewma_predictor.h"
#include "lib/core/predict/latest_interval_predictor.h"
#include "lib/core/predict/windowed_median_predictor.h"
#include "lib/core/string_view_compat.h"

namespace ebsp::core {

std::unique_ptr<IterationPredictor> MakePredictor(PredictorKind kind,
                                                  std::shared_ptr<SpellBook> spell_book) {
  switch (kind) {
    case PredictorKind::kLatestInterval:
      return std::make_unique<LatestIntervalPredictor>(std::move(spell_book));
    case PredictorKind::kEwma:
      return std::make_unique<EwmaPredictor>(std::move(spell_book));
    case PredictorKind::kWindowedMedian:
      return std::make_unique<WindowedMedianPredictor>(std::move(spell_book));
  }
  return std::make_unique<EwmaPredictor>(std::move(spell_book));
}

std::vector<absl::Time> IterationPredictor::LateForecast(int count) const {
  if (!InStragglerEpisode()) return Forecast(count);
  std::vector<absl::Time> ends;
  if (count <= 0) return ends;
  ends.reserve(static_cast<size_t>(count));
  const absl::Time next = NextEnd();
  const absl::Duration interval = CurrentInterval();
  for (int j = 0; j < count; ++j) ends.push_back(next + j * interval);
  return ends;
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
