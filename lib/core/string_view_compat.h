// Debian 12's Abseil is built for C++14, so absl::string_view is its own
// class and absl::StrCat / StrSplit do not take std::string_view. The
// contracts use std::string_view; this converts at the call sites.
// Internal to ebsp_core.
#ifndef EBSP_LIB_CORE_STRING_VIEW_COMPAT_H_
#define EBSP_LIB_CORE_STRING_VIEW_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace ebsp::core {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace ebsp::core

#endif  // EBSP_LIB_CORE_STRING_VIEW_COMPAT_H_
