// dontpanic history <lab> — past runs of a lab: when, on what machine, key figures.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/history.hpp"
#include "core/lab.hpp"
#include "core/table.hpp"

namespace dp::cli {

namespace {

struct HistoryOptions {
  std::string lab;
  bool json = false;
  int limit = 20;
};

int history(const HistoryOptions& o) {
  if (o.limit < 1 || o.limit > 100000)
    throw Error(fmt::format("--limit {} is out of range; use 1 to 100000", o.limit));
  History db(History::default_path(), History::Access::read_only);  // looking creates nothing
  const auto rows = db.runs(o.lab, o.limit);
  if (rows.empty() && find_lab(o.lab) == nullptr) throw Error(unknown_lab_message(o.lab));

  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json figures = nlohmann::json::object();
      for (const auto& h : r.headlines) figures[h.name] = h.value;
      out.push_back({{"id", r.id}, {"lab", r.lab}, {"started_at", r.started_at}, {"cpu", r.cpu},
                     {"hostname", r.hostname}, {"build", r.build}, {"quick", r.quick},
                     {"passed", r.passed}, {"key_figures", figures}});
    }
    std::cout << out.dump(2) << '\n';
    return kOk;
  }
  if (rows.empty()) {
    std::cout << fmt::format("no runs of {} yet; try: dontpanic run {} --quick\n", o.lab, o.lab);
    return kOk;
  }
  Table table({"run", "when (UTC)", "machine", "build", "mode", "checks", "key figures"});
  for (const auto& r : rows) {
    std::string figures;
    for (const auto& h : r.headlines) figures += (figures.empty() ? "" : "; ") + h.name + " " + h.value;
    table.add_row({std::to_string(r.id), r.started_at, r.cpu + (r.hostname.empty() ? "" : " @" + r.hostname),
                   r.build, r.quick ? "quick" : "full", r.passed ? "pass" : "FAIL", figures});
  }
  table.print(std::cout);
  std::cout << fmt::format("\n{} runs shown, newest first; history file: {}\n", rows.size(), db.path());
  return kOk;
}

}  // namespace

void add_history_command(CLI::App& app, CliState& state) {
  auto o = std::make_shared<HistoryOptions>();
  auto* cmd = app.add_subcommand("history", "Past runs of a lab: when, machine, key figures");
  cmd->add_option("lab", o->lab, "Lab id")->required();
  cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  cmd->add_option("--limit", o->limit, "How many runs, newest first (default 20)");
  cmd->callback([o, &state] { state.action = [o] { return history(*o); }; });
}

}  // namespace dp::cli
