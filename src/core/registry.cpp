#include <algorithm>
#include <numeric>
#include <tuple>

#include "core/lab.hpp"

namespace dp {

namespace {
// The one piece of global state: filled by LabRegistrar objects during static initialisation.
std::vector<LabDef>& mutable_registry() {
  static std::vector<LabDef> labs;
  return labs;
}
}  // namespace

LabRegistrar::LabRegistrar(LabDef def, const char* code_version) {
  def.info.code_version = code_version;
  auto& labs = mutable_registry();
  labs.push_back(std::move(def));
  std::sort(labs.begin(), labs.end(), [](const LabDef& a, const LabDef& b) {
    return std::tie(a.info.module, a.info.level, a.info.id) <
           std::tie(b.info.module, b.info.level, b.info.id);
  });
}

const std::vector<LabDef>& registry() { return mutable_registry(); }

const LabDef* find_lab(const std::string& id) {
  for (const auto& lab : registry())
    if (lab.info.id == id) return &lab;
  return nullptr;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::string nearest_lab_id(const std::string& id) {
  std::string best;
  std::size_t best_distance = static_cast<std::size_t>(-1);
  for (const auto& lab : registry()) {
    // A substring match ("latency" -> "cache-latency") beats any edit distance.
    const std::size_t d = lab.info.id.find(id) != std::string::npos && !id.empty()
                              ? 0
                              : edit_distance(id, lab.info.id);
    if (d < best_distance) {
      best_distance = d;
      best = lab.info.id;
    }
  }
  return best;
}

}  // namespace dp
