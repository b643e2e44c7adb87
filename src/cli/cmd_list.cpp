// dontpanic list — every lab with its module, level, tracks, question and guide page.
#include <algorithm>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/lab.hpp"
#include "core/table.hpp"

namespace dp::cli {

namespace {

struct ListOptions {
  std::optional<int> module;  // unset: every module (a -1 typed by hand is an error, not "all")
  int level = -1;
  std::vector<std::string> tracks;
  bool json = false;
};

// --level N means "everything up to N"; --track adds that track's labs to the common ones;
// filters combine.
bool selected(const LabInfo& info, const ListOptions& o, const std::vector<std::string>& tracks) {
  if (o.module && info.module != *o.module) return false;
  if (o.level >= 0 && info.level > o.level) return false;
  if (!tracks.empty() && !info.tracks.empty()) {
    const bool any = std::any_of(info.tracks.begin(), info.tracks.end(), [&](const auto& t) {
      return std::find(tracks.begin(), tracks.end(), t) != tracks.end();
    });
    if (!any) return false;
  }
  return true;
}

int list(const ListOptions& o) {
  if (o.module) check_module(*o.module, "--module");
  if (o.level != -1) check_level(o.level, "--level");
  const auto tracks = check_tracks(o.tracks);

  nlohmann::json out = nlohmann::json::array();
  Table table({"id", "module", "level", "tracks", "question", "guide page"});
  for (const auto& lab : registry()) {
    const auto& info = lab.info;
    if (!selected(info, o, tracks)) continue;
    out.push_back({{"id", info.id}, {"title", info.title}, {"module", info.module},
                   {"level", info.level}, {"tracks", info.tracks}, {"question", info.question},
                   {"guide_page", "guide/docs/" + info.guide_page}, {"source", info.source},
                   {"requires_gpu", !info.requires_gpu.empty()}});
    table.add_row({info.id, fmt::format("M{}", info.module), fmt::format("L{}", info.level),
                   info.tracks.empty() ? "-" : fmt::format("{}", fmt::join(info.tracks, ",")),
                   info.question, "guide/docs/" + info.guide_page});
  }
  if (o.json) {
    std::cout << out.dump(2) << '\n';
  } else if (table.empty()) {
    std::cout << "no lab matches these filters\n";
  } else {
    table.print(std::cout);
    std::cout << fmt::format("\n{} labs. Run one with: dontpanic run <id> [--quick]\n", out.size());
  }
  return kOk;
}

}  // namespace

void add_list_command(CLI::App& app, CliState& state) {
  auto options = std::make_shared<ListOptions>();
  auto* cmd = app.add_subcommand("list", "List the labs, by module, level and track");
  cmd->add_option("--module", options->module, "Only this module (0-5)");
  cmd->add_option("--level", options->level, "Everything up to this level (1-5)");
  cmd->add_option("--track", options->tracks, "Add a specialization track: dl, cg, cv, sp or all (repeatable)");
  cmd->add_flag("--json", options->json, "Print a JSON list instead of a table");
  cmd->callback([options, &state] { state.action = [options] { return list(*options); }; });
}

}  // namespace dp::cli
