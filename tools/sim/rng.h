// A small deterministic random source for the synthetic trace suite.
//
// std::mt19937_64's output sequence is fixed by the C++ standard, but the
// standard distributions (uniform_real, normal, ...) are not: their results
// differ between library implementations. The suite promises the same traces
// for the same seed everywhere, so the conversions to uniform and normal
// variates are spelled out here instead.
#ifndef EBSP_TOOLS_SIM_RNG_H_
#define EBSP_TOOLS_SIM_RNG_H_

#include <cmath>
#include <cstdint>
#include <random>

namespace ebsp::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

  // Uniform integer in [0, n), n > 0. The modulo bias is below 2^-40 for any
  // n the suite uses.
  uint64_t Below(uint64_t n) { return engine_() % n; }

  // Exponential with the given mean.
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }

  // Standard normal (Box-Muller; one variate per call keeps the sequence
  // simple to reason about).
  double Normal() {
    constexpr double kTwoPi = 6.283185307179586476925;
    const double u1 = 1.0 - Uniform();  // (0, 1]: log is finite.
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace ebsp::sim

#endif  // EBSP_TOOLS_SIM_RNG_H_
