// dontpanic — the one command of the guide: doctor, list, run, tour, history, guide, exercise, profile, app.
//
// main() is the only place that exits: commands throw dp::Error, and here it becomes one line
// on stderr and a non-zero exit code.
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/interrupt.hpp"
#include "core/lab.hpp"

int main(int argc, char** argv) {
  using namespace dp::cli;
  CLI::App app{"Don't Panic: measure what your computer really does.\n"
               "Start with `dontpanic doctor`, then `dontpanic list` and `dontpanic run <lab>`."};
  app.name("dontpanic");
  app.set_version_flag("--version", std::string("dontpanic ") + DP_VERSION + " (" + DP_BUILD_TYPE + ")");
  app.require_subcommand(1);
  app.fallthrough(false);

  dp::install_interrupt_cleanup();  // Ctrl-C: no temporary file or child process left behind
  CliState state;
  add_doctor_command(app, state);
  add_list_command(app, state);
  add_run_command(app, state);
  add_tour_command(app, state);
  add_history_command(app, state);
  add_guide_command(app, state);
  add_exercise_command(app, state);
  add_profile_command(app, state);
  add_app_command(app, state);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    const int code = app.exit(e);
    // `dontpanic run <lab> --help` (or profile): the lab's own parameters too.
    for (int i = 1; i + 1 < argc; ++i)
      if (std::string(argv[i]) == "run" || std::string(argv[i]) == "profile")
        for (int j = i + 1; j < argc; ++j)
          if (const dp::LabDef* lab = dp::find_lab(argv[j])) print_lab_parameters(*lab, std::cout);
    return code;
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --version
  } catch (const CLI::ParseError& e) {
    std::string commands;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
      commands += (commands.empty() ? "" : ", ") + sub->get_name();
    if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-')
      std::cerr << fmt::format("dontpanic: unknown command '{}'; the commands are: {} "
                               "(dontpanic --help)\n", argv[1], commands);
    else
      std::cerr << "dontpanic: " << e.what() << " (add --help for usage)\n";
    return kUsage;
  }

  try {
    return state.action ? state.action() : kUsage;
  } catch (const dp::Unavailable& e) {
    std::cerr << "dontpanic: skipped: " << e.what() << '\n';
    return kNotReady;
  } catch (const dp::Error& e) {
    std::cerr << "dontpanic: error: " << e.what() << '\n';
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "dontpanic: internal error: " << e.what() << '\n';
    return kUsage;
  }
}
