// The policies both fuzz targets run: every policy kind, each objective and
// predictor of ElasticBSP, with small bounds so that barriers and waits
// happen within an input. Inputs pick one by index, so the order is part of
// the committed corpora: append only.
#ifndef EBSP_TESTS_FUZZ_FUZZ_POLICIES_H_
#define EBSP_TESTS_FUZZ_FUZZ_POLICIES_H_

namespace ebsp::fuzz {

inline constexpr const char* kPolicies[] = {
    "bsp",
    "asp",
    "ssp:s=0",
    "ssp:s=2",
    "local:H=3",
    "ebsp:R=4",
    "ebsp:R=3,objective=total_wait",
    "ebsp:R=5,predictor=ewma",
    "ebsp:R=2,predictor=median",
    "ebsp:R=3,objective=idle_rate",
    "dssp:s=1,r=3",
};
inline constexpr int kPolicyCount = sizeof(kPolicies) / sizeof(kPolicies[0]);

}  // namespace ebsp::fuzz

#endif  // EBSP_TESTS_FUZZ_FUZZ_POLICIES_H_
