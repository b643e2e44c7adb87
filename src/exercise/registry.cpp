#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>

#include <dlfcn.h>

#include <fmt/format.h>

#include "core/error.hpp"
#include "exercise/exercise.hpp"

namespace dp::ex {

namespace {
std::vector<ExerciseDef>& mutable_exercises() {
  static std::vector<ExerciseDef> all;  // the one global: the registry, as for labs
  return all;
}
}  // namespace

ExerciseRegistration::ExerciseRegistration(ExerciseDef def) {
  auto& all = mutable_exercises();
  all.push_back(std::move(def));
  std::sort(all.begin(), all.end(), [](const ExerciseDef& a, const ExerciseDef& b) {
    return std::tie(a.info.module, a.info.level, a.info.id) < std::tie(b.info.module, b.info.level, b.info.id);
  });
}

const std::vector<ExerciseDef>& exercises() { return mutable_exercises(); }

const ExerciseDef* find_exercise(const std::string& id) {
  for (const auto& e : exercises())
    if (e.info.id == id) return &e;
  return nullptr;
}

Code::Code(const std::string& path, std::string label, Language language)
    : label_(std::move(label)), file_name_(std::filesystem::path(path).filename().string()) {
  if (language == Language::glsl) {
    std::ifstream in(path);
    if (!in) throw Error(fmt::format("cannot read {} ({})", label_, path));
    std::ostringstream text;
    text << in.rdbuf();
    glsl_ = text.str();
    return;
  }
  // RTLD_LOCAL: the baseline and the reader's file define the same names; each stays in its own scope.
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) throw Error(fmt::format("cannot load {} ({}): {}", label_, path, dlerror()));
}

Code::~Code() {
  if (handle_ != nullptr) dlclose(handle_);
}

void* Code::symbol(const char* name) const {
  if (handle_ == nullptr) throw Error(fmt::format("{} is a shader, not C++: it has no function {}()", file_name_, name));
  dlerror();
  void* p = dlsym(handle_, name);
  if (p == nullptr)
    throw Error(fmt::format("{} file does not define {}(): keep the function's name and its "
                            "extern \"C\" declaration from the exercise's header as they are",
                            label_ == "yours" ? "your" : "the " + label_, name));
  return p;
}

}  // namespace dp::ex
