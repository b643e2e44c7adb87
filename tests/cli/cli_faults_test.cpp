// End-to-end tests of what a hostile or unlucky user meets: output paths that are not files,
// sizes the machine or the device cannot hold, signals, full disks, parallel runs, a damaged
// shader cache, and messages that must say what was wrong and what would be right. Each case
// failed before it was fixed (issue 13); each checks the words a user now reads.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"

namespace dp {
namespace {

namespace fs = std::filesystem;
using test::cli;
using test::expect_error;
using test::shell;

bool contains(const std::string& text, const std::string& words) { return text.find(words) != std::string::npos; }

// The quickest real run: access-patterns on 64 KiB, one repetition.
std::vector<std::string> quick_run(std::vector<std::string> extra) {
  std::vector<std::string> args{"run", "access-patterns", "--quick", "--param", "max-kib=64", "--repetitions", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Nothing measured: the table's first line never appeared.
void expect_nothing_measured(const ProcessResult& r) {
  EXPECT_FALSE(contains(r.output, "median ns per")) << "it measured before refusing:\n" << r.output;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir))
    if (contains(e.path().filename().string(), ".tmp") || contains(e.path().filename().string(), ".dontpanic-"))
      found.push_back(e.path().filename().string());
  return found;
}

// A stand-in for gnuplot on PATH: a shell script given its body. It reads the script on stdin
// (as gnuplot would) and finds the output file in its `set output "..."` line as $out.
fs::path fake_gnuplot(const test::ScratchDir& dir, const std::string& body) {
  const fs::path bin = dir.path() / "fakebin";
  fs::create_directories(bin);
  write_text(bin / "gnuplot", "#!/bin/sh\nscript=$(cat)\nout=$(printf '%s\\n' \"$script\" | sed -n 's/^set output \"\\(.*\\)\"$/\\1/p')\n" + body + "\n");
  fs::permissions(bin / "gnuplot", fs::perms::owner_all);
  return bin;
}

// A TCP socket bound to 127.0.0.1 on a port the kernel chose (port -1 if that failed).
struct LoopbackSocket {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int port = -1;
  LoopbackSocket() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0)
      port = ntohs(address.sin_port);
  }
};

// --- 1. --json replaces nothing that is not a result file --------------------------------------

TEST(CliFaults, JsonRefusesAFifoADeviceAFolderAndTheHistory) {
  test::ScratchDir dir;
  const fs::path fifo = dir.path() / "pipe";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto r = expect_error(quick_run({"--json", fifo.string()}), "is a FIFO (named pipe), and the result would replace it");
  expect_nothing_measured(r);
  EXPECT_TRUE(fs::is_fifo(fifo));

  if (geteuid() == 0) {  // mknod needs root; as root, this is the `sudo ... --json /dev/null` case
    const fs::path null_copy = dir.path() / "null";
    ASSERT_EQ(mknod(null_copy.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    r = expect_error(quick_run({"--json", null_copy.string()}), "is a character device");
    EXPECT_TRUE(fs::is_character_file(null_copy));
  }
  fs::create_directories(dir.path() / "folder");
  r = expect_error(quick_run({"--json", (dir.path() / "folder").string()}), "is a folder");
  EXPECT_FALSE(contains(r.output, "Success")) << r.output;
  expect_nothing_measured(r);

  const char* history = std::getenv("DONTPANIC_HISTORY");
  ASSERT_NE(history, nullptr);
  r = expect_error(quick_run({"--json", history}), "that is the history database");
  expect_nothing_measured(r);
}

TEST(CliFaults, JsonThroughASymlinkWritesItsTarget) {
  test::ScratchDir dir;
  const fs::path target = dir.path() / "real.json";
  write_text(target, "old");
  fs::create_symlink(target, dir.path() / "link.json");
  const auto r = cli(quick_run({"--json", dir / "link.json", "--plot", "none"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "is a symbolic link; the JSON was written to the file it names")) << r.output;
  EXPECT_TRUE(fs::is_symlink(dir.path() / "link.json"));
  EXPECT_EQ(nlohmann::json::parse(read_text(target))["lab"], "access-patterns");
  EXPECT_TRUE(leftovers(dir.path()).empty());
}

// --- 2. output paths and device limits, checked before measuring -------------------------------

TEST(CliFaults, LongestLegalFileNameWorksAndOneMoreIsRefusedFirst) {
  test::ScratchDir dir;
  const std::string longest = std::string(250, 'r') + ".json";  // 255 bytes: legal on ext4, tmpfs, xfs
  auto r = cli(quick_run({"--json", dir / longest, "--plot", "none"}));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir.path() / longest));
  r = expect_error(quick_run({"--json", dir / ("x" + longest), "--plot", "none"}),
                   "its file name is 256 bytes long and this file system allows at most 255");
  expect_nothing_measured(r);
}

TEST(CliFaults, GpuSizesBeyondTheDevicesLargestBufferAreCappedWithANote) {
  // A 1 x 1 filter keeps the three mandatory quick steps short; the cap itself is the lab's
  // (gpu_lab_test checks the arithmetic, and gpu-matmul's max-n, the same way).
  test::ScratchDir dir;
  const auto r = cli({"run", "gpu-conv", "--quick", "--param", "max-side=16384", "--param", "k=1", "--repetitions",
                      "1", "--plot", "none", "--out", dir.path().string()});
  if (r.exit_code == 3 || contains(r.output, "unknown lab")) GTEST_SKIP() << "no Vulkan device or GPU labs here";
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "max-side capped at")) << r.output;
}

// --- 3. memory the machine does not have -------------------------------------------------------

TEST(CliFaults, RunsNeedingMoreMemoryThanThereIsAreRefusedWithASizeThatFits) {
  // The largest working set the lab declares (16 GiB - 4 KiB) is accepted by the range...
  expect_error({"run", "access-patterns", "--param", "max-kib=16777216"}, "an integer from 0 to 16777212");
  // ... and needs two arrays of it: refused up front on a machine without 32 GiB free.
  if (available_memory_bytes() > (std::uint64_t{34} << 30)) GTEST_SKIP() << "this machine has 32 GiB free";
  const auto r = expect_error({"run", "access-patterns", "--param", "max-kib=16777212"},
                              "access-patterns needs about 32.0 GiB of memory with these parameters");
  EXPECT_TRUE(contains(r.output, "try --param max-kib=")) << r.output;
  expect_nothing_measured(r);
}

TEST(CliFaults, AnAllocationFailureEndsOneLabAndTheOthersStillRun) {
#if defined(DP_SANITIZED)
  GTEST_SKIP() << "sanitizers reserve terabytes of address space: an address-space limit breaks them";
#else
  test::ScratchDir dir;
  // permuted-arrays at 2^26 elements needs over 1 GiB; under a 700 MiB address-space limit its
  // allocation fails, and access-patterns after it must still run.
  const auto r = shell("ulimit -v 716800 && \"$DP\" run permuted-arrays access-patterns --quick --repetitions 1 "
                       "--param permuted-arrays:n=67108864 --param access-patterns:max-kib=64 --plot none --out '" +
                       dir.path().string() + "'");
  EXPECT_TRUE(contains(r.output, "error in permuted-arrays: ran out of memory")) << r.output;
  EXPECT_FALSE(contains(r.output, "internal error")) << r.output;
  EXPECT_TRUE(contains(r.output, "[pass] sum agrees")) << r.output;  // access-patterns ran
  EXPECT_TRUE(fs::exists(dir.path() / "access-patterns.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
#endif
}

// --- 4. signals: no temporary file, no orphan, the history kept --------------------------------

TEST(CliFaults, SigtermWhileGnuplotDrawsLeavesNoTempFileNoOrphanAndKeepsTheHistory) {
  test::ScratchDir dir;
  const fs::path out = dir.path() / "out";
  const fs::path pid_file = dir.path() / "gnuplot.pid";
  const fs::path bin = fake_gnuplot(dir, "echo $$ > '" + pid_file.string() + "'\nprintf '<svg' > \"$out\"\nsleep 30");
  const fs::path history = dir.path() / "history.sqlite";
  const auto r = shell("PATH='" + bin.string() + "':$PATH DONTPANIC_HISTORY='" + history.string() + "' \"$DP\" run " +
                       "access-patterns --quick --param max-kib=64 --repetitions 1 --out '" + out.string() +
                       "' & p=$!\n"
                       "i=0; while [ ! -s '" + pid_file.string() + "' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n"
                       "kill -TERM $p; wait $p; echo \"exit=$?\"",
                       120);
  EXPECT_TRUE(contains(r.output, "exit=143")) << r.output;  // died of SIGTERM, as a shell expects
  EXPECT_TRUE(contains(r.output, "dontpanic: interrupted")) << r.output;
  EXPECT_TRUE(leftovers(out).empty()) << ::testing::PrintToString(leftovers(out));
  const pid_t gnuplot = std::stoi(read_text(pid_file));
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = kill(gnuplot, 0) != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "gnuplot (pid " << gnuplot << ") outlived dontpanic";
  const auto h = shell("DONTPANIC_HISTORY='" + history.string() + "' \"$DP\" history access-patterns --json");
  EXPECT_TRUE(contains(h.output, "\"lab\": \"access-patterns\"")) << "the run is not in the history:\n" << h.output;
}

TEST(CliFaults, GuideServeDiesWithDontpanicEvenOnSigkill) {
  test::ScratchDir dir;
  // A free port: one the kernel picks for a socket that is then closed again.
  const LoopbackSocket probe;
  ASSERT_GE(probe.port, 0);
  const int port = probe.port;
  close(probe.fd);
  const auto r = shell("cd '" + dir.path().string() + "' || exit 1\n\"$DP\" guide serve --level 1 --no-run --results empty --port " +
                       std::to_string(port) + " > serve.log 2>&1 & p=$!\n"
                       "i=0; while ! grep -q 'Serving on' serve.log && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\n"
                       "kill -KILL $p; sleep 2\n"
                       "if ps -eo args | grep -v grep | grep -q 'mkdocs serve.*" + std::to_string(port) + "'; then "
                       "echo LEFT-SERVING; pkill -f 'mkdocs serve.*" + std::to_string(port) + "'; fi; cat serve.log",
                       300);
  if (contains(r.output, "mkdocs is not installed")) GTEST_SKIP() << r.output;
  EXPECT_TRUE(contains(r.output, "Serving on")) << r.output;
  EXPECT_FALSE(contains(r.output, "LEFT-SERVING")) << r.output;
}

// --- 5. a full disk: an SVG gnuplot could not finish is not reported as written ---------------

TEST(CliFaults, ATruncatedOrEmptySvgIsAWarningNotAFile) {
  for (const std::string& body : {std::string("printf '<svg xmlns=\"x\"><g>' > \"$out\""), std::string(": > \"$out\"")}) {
    test::ScratchDir dir;
    const fs::path bin = fake_gnuplot(dir, body);
    const auto r = shell("PATH='" + bin.string() + "':$PATH \"$DP\" run access-patterns --quick --param max-kib=64 "
                         "--repetitions 1 --out '" + dir.path().string() + "/out'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "was not written: the SVG gnuplot made")) << r.output;
    EXPECT_TRUE(contains(r.output, "is the disk full?")) << r.output;
    EXPECT_FALSE(fs::exists(dir.path() / "out" / "access-patterns-time.svg"));
    EXPECT_FALSE(contains(r.output, "access-patterns-time.svg")) << r.output;
    EXPECT_TRUE(leftovers(dir.path() / "out").empty());
  }
}

// --- 6. parallel runs into one folder -------------------------------------------------------------

TEST(CliFaults, ParallelRunsIntoOneFolderDoNotTripOverEachOthersTempFiles) {
  if (!find_program("gnuplot")) GTEST_SKIP() << "no gnuplot";
  test::ScratchDir dir;
  const auto r = shell("for i in 1 2 3 4; do \"$DP\" run access-patterns --quick --param max-kib=64 --repetitions 1 "
                       "--out '" + dir.path().string() + "' > /dev/null 2> '" + dir.path().string() +
                       "'/err$i.log || echo FAILED; done & wait\n"
                       "for i in 1 2 3 4; do \"$DP\" run access-patterns --quick --param max-kib=64 --repetitions 1 "
                       "--out '" + dir.path().string() + "' > /dev/null 2>> '" + dir.path().string() +
                       "'/par.log & done; wait; cat '" + dir.path().string() + "'/par.log");
  EXPECT_FALSE(contains(r.output, "FAILED")) << r.output;
  EXPECT_FALSE(contains(r.output, "could not write")) << r.output;
  EXPECT_FALSE(contains(r.output, "warning")) << r.output;
  std::vector<std::string> temps;
  for (const auto& e : fs::directory_iterator(dir.path()))
    if (contains(e.path().filename().string(), ".tmp")) temps.push_back(e.path().filename().string());
  EXPECT_TRUE(temps.empty()) << ::testing::PrintToString(temps);
  EXPECT_NE(read_text(dir.path() / "access-patterns-time.svg").find("</svg>"), std::string::npos);
}

// --- 7. a damaged SPIR-V cache entry is compiled again -------------------------------------------

TEST(CliFaults, ADamagedSpirvCacheEntryIsCompiledAgainAndReplaced) {
  test::ScratchDir dir;
  const std::string env = "DONTPANIC_SPIRV_CACHE='" + dir.path().string() + "' ";
  const std::string run = env + "\"$DP\" run gpu-add --quick --param max-n=1000 --repetitions 1 --plot none --out '" +
                          dir.path().string() + "/out'";
  auto r = shell(run);
  if (r.exit_code == 3 || contains(r.output, "unknown lab")) GTEST_SKIP() << "no Vulkan device or GPU labs here";
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int damaged = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().extension() != ".spv") continue;
    std::string bytes = read_text(e.path());
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);  // one flipped byte
    write_text(e.path(), bytes);
    ++damaged;
  }
  ASSERT_GT(damaged, 0) << "no .spv entry in the cache";
  r = shell(run, 120);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "is damaged (its checksum does not match); compiling it again")) << r.output;
  r = shell(run, 120);  // replaced: the next run trusts it again
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "damaged")) << r.output;
}

// --- 8. threads beyond the machine ----------------------------------------------------------------

TEST(CliFaults, MoreBandwidthThreadsThanCpusAreCappedWithANote) {
  test::ScratchDir dir;
  const auto started = std::chrono::steady_clock::now();
  const auto r = cli({"run", "memory-bandwidth", "--quick", "--param", "threads=256", "--param", "max-kib=256",
                      "--repetitions", "1", "--plot", "none", "--out", dir.path().string()},
                     240);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "threads=256 is more than this machine's")) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120));
}

// --- 9. messages that must say what was wrong and what would be right ------------------------------

TEST(CliFaults, ParamDoesNotSwallowTheLabId) {
  test::ScratchDir dir;
  const auto r = cli({"run", "--quick", "--param", "max-kib=64", "access-patterns", "--repetitions", "1", "--plot",
                      "none", "--out", dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "lab is required")) << r.output;
}

TEST(CliFaults, OutNamingAFileOrAnUncreatableFolderSaysSo) {
  test::ScratchDir dir;
  write_text(dir.path() / "afile", "x");
  auto r = expect_error(quick_run({"--out", dir / "afile"}), fmt::format("'{}' is a file, not a folder", dir / "afile"));
  EXPECT_FALSE(contains(r.output, "does not exist")) << r.output;
  // A folder inside a file cannot be created: the reason is the system's, not "does not exist".
  r = expect_error(quick_run({"--out", dir / "afile/sub"}), "cannot create the folder");
  EXPECT_TRUE(contains(r.output, "Not a directory")) << r.output;
}

TEST(CliFaults, ABrokenVulkanDriverManifestIsNoDeviceNotOutOfMemory) {
  test::ScratchDir dir;
  write_text(dir.path() / "icd.json", "{ garbage");
  const auto r = shell("VK_ICD_FILENAMES='" + (dir / "icd.json") + "' VK_DRIVER_FILES='" + (dir / "icd.json") +
                       "' \"$DP\" run gpu-add --quick --plot none --out '" + dir.path().string() + "'");
  if (contains(r.output, "unknown lab")) GTEST_SKIP() << "no GPU labs in this build";
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(contains(r.output, "no Vulkan device")) << r.output;
  EXPECT_FALSE(contains(r.output, "out of host memory")) << r.output;
}

TEST(CliFaults, DoctorSaysWhenDontpanicGpuNamesNoDevice) {
  const auto r = shell("DONTPANIC_GPU=99 \"$DP\" doctor");
  EXPECT_FALSE(contains(r.output, "device -1")) << r.output;
  if (contains(r.output, "Vulkan device 0")) {
    EXPECT_TRUE(contains(r.output, "no Vulkan device matches --gpu/DONTPANIC_GPU '99'")) << r.output;
  }
}

TEST(CliFaults, RepetitionsOutOfAnyRangeNameTheValidOnes) {
  for (const char* bad : {"99999999999", "", "-3", "2.5"})
    expect_error({"run", "access-patterns", "--quick", "--repetitions", bad}, "use a whole number from 1 to 1000");
}

TEST(CliFaults, ParametersOfSeveralLabsNameTheLabAndLabColonNameTargetsOne) {
  test::ScratchDir dir;
  expect_error({"run", "access-patterns", "graph-intro", "--param", "n=3"},
               "no lab in this run has a parameter 'n' (access-patterns takes max-kib; graph-intro takes");
  expect_error({"run", "access-patterns", "--param", "size=3"}, "access-patterns: unknown parameter 'size'");
  expect_error({"run", "access-patterns", "--param", "cache-latency:max-kib=64"}, "lab 'cache-latency' is not in this run");
  const auto r = cli({"run", "access-patterns", "graph-intro", "--quick", "--repetitions", "1", "--param",
                      "access-patterns:max-kib=64", "--param", "graph-intro:max-width=16", "--plot", "none", "--out",
                      dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto ap = nlohmann::json::parse(read_text(dir.path() / "access-patterns.json"));
  const auto gi = nlohmann::json::parse(read_text(dir.path() / "graph-intro.json"));
  EXPECT_EQ(ap["params"]["max-kib"], 64);
  EXPECT_EQ(gi["params"]["max-width"], 16);
  // 10i: the summary of a run of several labs lists every file written.
  EXPECT_TRUE(contains(r.output, "== summary")) << r.output;
  const auto wrote = r.output.substr(r.output.rfind("wrote: "));
  EXPECT_TRUE(contains(wrote, "access-patterns.json") && contains(wrote, "graph-intro.json")) << wrote;
}

TEST(CliFaults, GuideBuildIntoAFileSaysSoWithoutATraceback) {
  test::ScratchDir dir;
  write_text(dir.path() / "empty", "");
  const auto r = expect_error({"guide", "build", "--level", "1", "--out", dir / "empty"}, "is a file, not a folder");
  EXPECT_FALSE(contains(r.output, "Traceback")) << r.output;
}

TEST(CliFaults, GuideServeOnABusyPortSaysSoBeforeServing) {
  const LoopbackSocket busy;
  ASSERT_GE(busy.port, 0);
  ASSERT_EQ(listen(busy.fd, 1), 0);
  const std::string port = std::to_string(busy.port);
  const auto r = expect_error({"guide", "serve", "--port", port}, "cannot serve on 127.0.0.1:" + port);
  close(busy.fd);
  EXPECT_FALSE(contains(r.output, "Serving")) << r.output;
  EXPECT_FALSE(contains(r.output, "OSError")) << r.output;
}

TEST(CliFaults, AForeignRunsTableIsNamedNotDumped) {
  test::ScratchDir dir;
  const fs::path db = dir.path() / "foreign.sqlite";
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle, "CREATE TABLE runs (when_run TEXT, miles REAL)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(handle);
  const auto r = shell("DONTPANIC_HISTORY='" + db.string() + "' \"$DP\" history access-patterns");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "has a table 'runs' that dontpanic did not make (its columns: when_run, miles)"))
      << r.output;
  EXPECT_FALSE(contains(r.output, "CREATE TABLE")) << r.output;
}

TEST(CliFaults, AGnuplotThatCannotStartIsSaidInWords) {
  test::ScratchDir dir;
  const fs::path bin = fake_gnuplot(dir, "exit 127");
  const auto r = shell("PATH='" + bin.string() + "':$PATH \"$DP\" run access-patterns --quick --param max-kib=64 "
                       "--repetitions 1 --out '" + dir.path().string() + "/out'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "gnuplot exited with code 127 on plot 'time' and printed nothing")) << r.output;
}

// --- 10. input that was accepted silently ---------------------------------------------------------

TEST(CliFaults, ContradictionsAndNonsenseAreRefused) {
  expect_error(quick_run({"--param", "max-kib=128"}), "--param max-kib is given twice (64 and 128)");
  expect_error({"run", "graph-compiler", "--show-kernels", "--param", "show-kernels=off"},
               "--show-kernels and --param show-kernels=off both set show-kernels");
  expect_error({"list", "--module", "-1"}, "--module -1 is out of range; modules go from 0 to 5");
  const auto r = expect_error(quick_run({"--gpu", "99"}), "--gpu 99: access-patterns runs on the CPU only");
  expect_nothing_measured(r);
}

TEST(CliFaults, ValidationAskedForButNotInstalledIsSaid) {
  test::ScratchDir dir;
  fs::create_directories(dir.path() / "no-layers");
  const auto r = shell("VK_LAYER_PATH='" + (dir / "no-layers") + "' DONTPANIC_GPU_VALIDATION=1 \"$DP\" run gpu-add "
                       "--quick --param max-n=1000 --repetitions 1 --plot none --out '" + dir.path().string() + "'");
  if (r.exit_code == 3 || contains(r.output, "unknown lab")) GTEST_SKIP() << "no Vulkan device or GPU labs here";
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "VK_LAYER_KHRONOS_validation is not installed, so this run was not validated"))
      << r.output;
}

TEST(CliFaults, HistoryNeverLandsInTheCurrentFolder) {
  test::ScratchDir dir;
  // A relative XDG_DATA_HOME is ignored (XDG spec); without HOME the user's home from the
  // password database is used.
  const auto r = shell("cd '" + dir.path().string() + "' && env -u DONTPANIC_HISTORY -u HOME XDG_DATA_HOME=rel \"$DP\" "
                       "doctor --json");
  const auto j = test::last_json(r.output);
  std::string history;
  for (const auto& item : j["items"])
    if (item["name"] == "history") history = item["detail"];
  EXPECT_FALSE(contains(history, "rel/dontpanic")) << history;
  EXPECT_TRUE(contains(history, "/")) << history;
  EXPECT_FALSE(fs::exists(dir.path() / "rel"));
  EXPECT_FALSE(fs::exists(dir.path() / "dontpanic"));
}

TEST(CliFaults, LookingAtTheHistoryCreatesNothing) {
  test::ScratchDir dir;
  const fs::path db = dir.path() / "sub" / "history.sqlite";
  const std::string env = "DONTPANIC_HISTORY='" + db.string() + "' ";
  auto r = shell(env + "\"$DP\" doctor");
  EXPECT_TRUE(contains(r.output, "no runs yet; the first run creates")) << r.output;
  r = shell(env + "\"$DP\" history access-patterns");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = shell(env + "\"$DP\" history no-such-lab");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_FALSE(fs::exists(db));
  EXPECT_FALSE(fs::exists(db.parent_path()));
}

TEST(CliFaults, RunLabHelpListsTheLabsParameters) {
  const auto r = cli({"run", "access-patterns", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "max-kib")) << r.output;
  EXPECT_TRUE(contains(r.output, "an integer from 0 to 16777212; default 0")) << r.output;
}

TEST(CliFaults, ATourWhereNoLabProducedAResultDoesNotPointToResults) {
#if defined(DP_SANITIZED)
  GTEST_SKIP() << "a whole tour under sanitizers takes minutes; the release build runs this";
#else
  test::ScratchDir dir;
  // With a file-size limit of 0 (and SIGXFSZ ignored) every result JSON fails to write, so every
  // lab of the tour ends in an error.
  const auto r = shell("trap '' XFSZ; ulimit -f 0 && \"$DP\" tour --plot none --out '" + dir.path().string() + "'", 600);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "Results are in")) << r.output;
  EXPECT_TRUE(contains(r.output, "No lab produced a result")) << r.output;
#endif
}

}  // namespace
}  // namespace dp
