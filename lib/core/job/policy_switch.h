// PolicySwitch: the job's policy now, the change waiting for the next round
// boundary, and the predictors the policy asks for. JobState decides when a
// boundary is (UpdatePolicy, a release, a registration with no round in
// progress) and calls Apply; this class only keeps the three together so a
// switch is one step.
//
// Internal to ebsp_core. Not thread-safe; the owning JobState serializes calls.
#ifndef EBSP_LIB_CORE_JOB_POLICY_SWITCH_H_
#define EBSP_LIB_CORE_JOB_POLICY_SWITCH_H_

#include <memory>
#include <optional>
#include <utility>

#include "lib/core/policy/policy.h"
#include "lib/core/policy/policy_config.h"
#include "lib/core/predict/predictor.h"
#include "lib/core/predict/spell_book.h"
#include "lib/core/types.h"

namespace ebsp::core {

class PolicySwitch {
 public:
  // `config` must be valid. `predictor_factory`, if set, replaces the
  // predictor every policy names (the simulator's oracle).
  PolicySwitch(const PolicyConfig& config, PredictorFactory predictor_factory)
      : config_(config),
        policy_(Policy::Create(config)),
        predictor_factory_(std::move(predictor_factory)) {}

  const PolicyConfig& config() const { return config_; }
  Policy& policy() { return *policy_; }
  const Policy& policy() const { return *policy_; }
  bool HasRounds() const { return config_.HasRounds(); }

  // A change that waits for the next round boundary.
  const std::optional<PolicyConfig>& pending() const { return pending_; }
  void Defer(const PolicyConfig& config) { pending_ = config; }

  // Makes `config` the policy now and drops any pending change. True if the
  // workers' predictors must be replaced (a different forecasting rule
  // starts from no history).
  bool Apply(PolicyConfig config) {
    const bool new_predictors = !predictor_factory_ && config.predictor != config_.predictor;
    policy_ = Policy::Create(config);
    config_ = std::move(config);
    pending_.reset();
    return new_predictors;
  }

  std::unique_ptr<IterationPredictor> NewPredictor(WorkerId id) const {
    if (predictor_factory_) return predictor_factory_(id);
    return MakePredictor(config_.predictor, spell_book_);
  }

 private:
  PolicyConfig config_;
  std::unique_ptr<Policy> policy_;
  std::optional<PolicyConfig> pending_;
  PredictorFactory predictor_factory_;
  // The job's recurring slowdowns, kept across policy changes: they are the
  // workers', not the policy's.
  std::shared_ptr<SpellBook> spell_book_ = std::make_shared<SpellBook>();
};

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_JOB_POLICY_SWITCH_H_
