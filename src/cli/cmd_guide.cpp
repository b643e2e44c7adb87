// dontpanic guide build|serve — the guide as a website, with only the levels and tracks you ask for.
//
//   dontpanic guide build [--level N] [--track T]... [--out DIR] [--results DIR] [--repetitions N]
//   dontpanic guide serve [same options] [--port P]
// Figures come from your own lab results (results/ or the history); a lab with none yet is run
// in quick mode first. The work is done by src/guide (dp_guide); this file is the command line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/interrupt.hpp"
#include "core/lab.hpp"
#include "core/runner.hpp"
#include "exercise/check.hpp"  // exercise_dir
#include "guide/site.hpp"

namespace dp::cli {

namespace {

struct GuideCliOptions {
  int level = 5;
  std::vector<std::string> tracks;
  std::string out = "site";
  std::string results = "results";
  int port = 8000;
  bool no_run = false;  // only stored results: a lab without one is not run (its figures are missing)
  std::optional<std::string> repetitions;  // unset: the labs' quick-mode default
  std::vector<std::string> params; // --param name=value, for the labs that declare it
};

// Every --param must name a parameter some lab declares, with a value each such lab accepts.
void check_guide_params(const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) {
    const std::string name = parse_assignment(a).first;
    bool declared = false;
    for (const auto& lab : registry()) {
      if (!find_param(lab.params, name)) continue;
      declared = true;
      try {
        Params::resolve(lab.params, true, {a});
      } catch (const Error& e) {
        throw Error(fmt::format("--param {} (for lab {}): {}", a, lab.info.id, e.what()));
      }
    }
    if (!declared) {
      std::set<std::string> names;
      for (const auto& lab : registry())
        for (const auto& p : lab.params) names.insert(p.name);
      throw Error(fmt::format("--param {}: no lab declares a parameter '{}'; the labs' parameters are: {}",
                              a, name, fmt::join(names, ", ")));
    }
  }
}

guide::GuideOptions make_options(const GuideCliOptions& o) {
  check_level(o.level, "--level");  // the same words as `dontpanic list`
  check_tracks(o.tracks);
  guide::GuideOptions options;
  options.selection = guide::parse_selection(o.level, o.tracks);
  options.out_dir = o.out;
  options.figures.results_dir = o.results;
  options.figures.run_missing = !o.no_run;
  options.figures.placeholder_when_missing = o.no_run;
  if (o.repetitions) options.figures.repetitions = parse_repetitions(*o.repetitions);
  check_guide_params(o.params);
  options.figures.assignments = o.params;
  for (const auto& e : ex::exercises())
    options.exercises.push_back({.id = e.info.id, .module = e.info.module, .level = e.info.level,
                                 .tracks = e.info.tracks, .readme = (ex::exercise_dir(e.info) / "README.md").string()});
  return options;
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::cerr << "warning: " << w << '\n';
}

int build(const GuideCliOptions& o) {
  const auto options = make_options(o);
  std::cout << fmt::format("Building the guide: {}", options.selection.describe()) << std::endl;
  const auto staged = guide::build_site(options, std::cout);
  print_warnings(staged.warnings);
  std::cout << fmt::format("{} pages and {} figures, checked by mkdocs build --strict.\n"
                           "Open {}/index.html in a browser, or run `dontpanic guide serve` (search "
                           "works only there: a browser will not let a page opened from a file "
                           "load the search index)\n",
                           staged.pages.size(), staged.figures.size(), o.out);
  return kOk;
}

volatile sig_atomic_t g_child = 0;  // the server's pid, for the signal handler

void forward_signal(int signal) {
  if (g_child > 0) kill(static_cast<pid_t>(g_child), signal);
}

// Runs `argv` in the foreground with our terminal. Ctrl-C or a kill reaches the server (we pass
// SIGINT and SIGTERM on), and we return once it has stopped.
int run_foreground(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The server gets a process group of its own, so a Ctrl-C reaches it once: through us; and it
  // dies with us, even when we are killed with SIGKILL and cannot pass anything on.
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    setpgid(0, 0);
    die_with_parent(parent);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) throw Error(fmt::format("could not start {}: {}", argv[0], std::strerror(errno)));
  g_child = pid;
  struct sigaction forward {}, old_int {}, old_term {};
  forward.sa_handler = forward_signal;
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (WIFSIGNALED(status)) return WTERMSIG(status) == SIGINT ? kOk : 128 + WTERMSIG(status);
  return WEXITSTATUS(status) == 0 ? kOk : kUsage;
}

// mkdocs would print its own "Serving on ..." and then fail with a Python traceback: find out first.
void check_port_free(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;  // cannot tell; mkdocs will say
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as mkdocs' server does
  const bool taken = bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0;
  const int why = errno;
  close(fd);
  if (taken)
    throw Error(fmt::format("--port {}: cannot serve on 127.0.0.1:{} ({}); another server probably "
                            "uses it: stop it, or choose another port such as --port {}",
                            port, port, std::strerror(why), port == 8000 ? 8001 : 8000));
}

int serve(const GuideCliOptions& o) {
  if (o.port < 1 || o.port > 65535)
    throw Error(fmt::format("--port {} is not valid; use a port from 1 to 65535, such as 8000", o.port));
  check_port_free(o.port);
  const auto options = make_options(o);
  std::cout << fmt::format("Staging the guide: {}", options.selection.describe()) << std::endl;
  const auto argv = guide::serve_command(options, o.port, std::cout);
  std::cout << fmt::format("Serving the guide at http://127.0.0.1:{}/ (Ctrl-C stops it)\n", o.port);
  std::cout.flush();
  return run_foreground(argv);
}

void add_selection_options(CLI::App* cmd, GuideCliOptions& o) {
  cmd->add_option("--level", o.level, "Include levels 1..N (1 = first read, 5 = everything)")
      ->capture_default_str();
  cmd->add_option("--track", o.tracks,
                  "Add a track's sections: dl, cg, cv, sp or all (repeatable; none = common sections)");
  cmd->add_option("--results", o.results, "Where lab results are (figures come from them)")
      ->capture_default_str();
  cmd->add_flag("--no-run", o.no_run,
                "Run no lab: use only results you already have, and an empty frame (with a warning) "
                "for a figure that has none");
  cmd->add_option("--repetitions", o.repetitions,
                  "Repetitions for labs that must run first because they have no result yet (1-1000)");
  cmd->add_option("--param", o.params,
                  "name=value for every lab that declares the parameter (repeatable); stored results "
                  "made with other values are not reused")
      ->allow_extra_args(false);
}

}  // namespace

void add_guide_command(CLI::App& app, CliState& state) {
  auto o = std::make_shared<GuideCliOptions>();
  auto* guide = app.add_subcommand("guide", "Build or serve the guide website (mkdocs), at your level");
  guide->require_subcommand(1);

  auto* build_cmd = guide->add_subcommand("build", "Build the guide into a folder of HTML pages");
  add_selection_options(build_cmd, *o);
  build_cmd->add_option("--out", o->out, "Folder for the site")->capture_default_str();
  build_cmd->callback([o, &state] { state.action = [o] { return build(*o); }; });

  auto* serve_cmd = guide->add_subcommand("serve", "Serve the guide on this machine and print its URL");
  add_selection_options(serve_cmd, *o);
  serve_cmd->add_option("--port", o->port, "TCP port on 127.0.0.1")->capture_default_str();
  serve_cmd->callback([o, &state] { state.action = [o] { return serve(*o); }; });
}

}  // namespace dp::cli
