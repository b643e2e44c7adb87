// distributed_sgd_launch.hpp — starting distributed-sgd's workers with mpirun and reading their result.
//
// Index
//   find_mpi_worker()   dontpanic-mpi-worker, beside dontpanic (or one folder up, beside the tests)
//   run_mpi_workers()   mpirun -np N --oversubscribe dontpanic-mpi-worker ARGS --out F; rank 0's JSON
//
// The lab (distributed_sgd.cpp) and its test (tests/labs/distributed_sgd_test.cpp) both use these.
// Both throw dp::Unavailable when OpenMPI's mpirun is not installed (saying what to install), and
// dp::Error, with the workers' last words, when a run fails.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/portability.hpp"
#include "core/process.hpp"

namespace dp::mpi {

inline std::filesystem::path find_mpi_worker() {
  if (const char* p = std::getenv("DONTPANIC_MPI_WORKER"); p && *p) return p;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (const std::filesystem::path& dir : {self.parent_path(), self.parent_path().parent_path()})
    if (std::filesystem::exists(dir / "dontpanic-mpi-worker")) return dir / "dontpanic-mpi-worker";
  throw Error(fmt::format("dontpanic-mpi-worker is not beside {}; build it (cmake --build --preset release, "
                          "with OpenMPI installed: CMake leaves it out without) or set DONTPANIC_MPI_WORKER to its path",
                          self.string()));
}

// Runs `ranks` workers on this machine and returns what rank 0 wrote.
inline nlohmann::json run_mpi_workers(int ranks, const std::vector<std::string>& worker_args, double timeout_seconds) {
  const auto mpirun = find_program("mpirun");
  if (!mpirun)
    throw Unavailable("OpenMPI is not installed: mpirun is not on PATH. On Debian or Ubuntu: sudo apt install "
                      "openmpi-bin libopenmpi-dev (tools/setup installs both), then rebuild");
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / fmt::format("dontpanic-mpi-{}-{}.json", getpid(), ranks);
  std::filesystem::remove(out);
  // --oversubscribe: more ranks than cores is allowed (here, on purpose); --bind-to none: each
  // rank's kernel threads may use any core, not only the one core OpenMPI would pin the rank to.
  std::vector<std::string> argv = {*mpirun, "-np", std::to_string(ranks), "--oversubscribe", "--bind-to", "none",
                                   find_mpi_worker().string()};
  argv.insert(argv.end(), worker_args.begin(), worker_args.end());
  argv.insert(argv.end(), {"--out", out.string()});
  ProcessFence fence;
  // OpenMPI refuses to start as root unless both of these are set (containers often run as root).
  if (geteuid() == 0) fence.env = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"};
  // A rank waiting for a message gives its core away now and then instead of spinning on it
  // without pause: with as many ranks as cores, a spinning rank takes time from the one it waits
  // for (OpenMPI does this by itself only for more ranks than cores).
  fence.env.push_back("OMPI_MCA_mpi_yield_when_idle=1");
  // Shared memory between ranks without cross-memory attach (process_vm_readv), which containers
  // often forbid: OpenMPI would otherwise fail its first large message there.
  fence.env.push_back("OMPI_MCA_btl_vader_single_copy_mechanism=none");
  // Sanitizer builds: OpenMPI keeps memory until exit on purpose; LeakSanitizer would call it a leak.
  if (kSanitized) fence.env.push_back("ASAN_OPTIONS=detect_leaks=0");
  const ProcessResult proc = run_process(argv, {}, timeout_seconds, fence);
  std::ifstream in(out);
  if (proc.exit_code != 0 || !in) {
    const std::string tail = proc.output.size() > 1500 ? proc.output.substr(proc.output.size() - 1500) : proc.output;
    throw Error(fmt::format("mpirun -np {} dontpanic-mpi-worker {}{}; it said:\n{}", ranks,
                            proc.timed_out ? fmt::format("ran past {:.0f} s and was stopped", timeout_seconds)
                                           : fmt::format("exited with {}", proc.exit_code),
                            in ? "" : " and wrote no result", tail));
  }
  nlohmann::json j = nlohmann::json::parse(in);
  in.close();
  std::filesystem::remove(out);
  return j;
}

}  // namespace dp::mpi
