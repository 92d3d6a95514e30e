#include "lib/core/job/departures.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ebsp::core {

void Departures::Record(WorkerId id, std::string name, DepartureKind kind, std::string why) {
  by_id_[id] = Entry{std::move(name), kind, std::move(why)};
  order_.push_back(id);
  // Forgotten ids stay in order_ until they reach the front, so the deque
  // is bounded by twice the capacity in the worst case.
  while (by_id_.size() > kRememberedDepartures || order_.size() > 2 * kRememberedDepartures) {
    by_id_.erase(order_.front());
    order_.pop_front();
  }
}

std::string Departures::Explain(WorkerId id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return "";
  return absl::StrCat("worker ", id, " (\"", it->second.name, "\") ", it->second.why);
}

bool Departures::Left(WorkerId id) const {
  auto it = by_id_.find(id);
  return it != by_id_.end() && it->second.kind == DepartureKind::kLeft;
}

}  // namespace ebsp::core
