// distributed_sgd.cpp — data-parallel training over processes with MPI: what does sharing gradients cost?
//
// What: train-mlp's network (784-256-128-10 on Fashion-MNIST, Adam, batches of 256) trained by N
// processes ("ranks") at once, N = 1, 2, 4 (up to --param max-ranks), each on its share of every
// batch; after each step the ranks sum their gradients (an allreduce) and take the same step.
// The ranks are dontpanic-mpi-worker programs (distributed_sgd_worker.cpp: the allreduces, the
// distributed step, the checks) that this lab starts with OpenMPI's
//   mpirun -np N --oversubscribe --bind-to none dontpanic-mpi-worker ...
// on this machine (the guide page shows the hostfile that spreads them over several).
//   mpi        the gradients summed with MPI_Allreduce (--param allreduce=mpi, the default)
//   ring       summed with our ring allreduce over MPI point-to-point (--param allreduce=ring)
// Measures: time per epoch and its share spent communicating, for each N; test accuracy for each
// N; MPI_Allreduce against our ring over message sizes from 1 KiB to 4 MiB (the model's gradient,
// 0.94 MB, among them), with N = 2 and more.
// Run:  dontpanic run distributed-sgd      dontpanic run distributed-sgd --quick (N = 1 and 2, one
//       epoch on 5,120 images)           --param perturb-rank=1: one rank's gradient is nudged once,
//       and the weights check fails, as it must
// Checks: both allreduces sum like a reference in double, with the same bits on every rank; every
// rank holds the same weights after every step; N ranks reach 1 rank's test accuracy within 0.5
// points (1 point after the quick run's single short epoch).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "data/fashion_mnist.hpp"
#include "labs/m2/distributed_sgd_launch.hpp"

namespace {

// Median, 10th and 90th percentile of some seconds, as the result's nanoseconds.
dp::Stats stats_of_seconds(std::vector<double> s) {
  std::sort(s.begin(), s.end());
  const auto at = [&](double q) { return s[static_cast<std::size_t>(q * static_cast<double>(s.size() - 1) + 0.5)] * 1e9; };
  return {.median_ns = at(0.5), .p10_ns = at(0.1), .p90_ns = at(0.9), .min_ns = s.front() * 1e9, .reps = static_cast<int>(s.size())};
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

struct RankRun {
  int ranks = 0;
  double epoch_seconds = 0, compute = 0, comm = 0, check = 0, accuracy = 0;  // per epoch, after the first
  nlohmann::json j;
};

// One run of N workers: checks into the result, the per-epoch times summarised.
RankRun run_ranks(dp::LabContext& ctx, int ranks, const std::vector<std::string>& args, double timeout) {
  ctx.log << fmt::format("  {} rank{}: mpirun -np {} dontpanic-mpi-worker\n", ranks, ranks == 1 ? "" : "s", ranks);
  RankRun run{.ranks = ranks, .j = dp::mpi::run_mpi_workers(ranks, args, timeout)};
  for (const auto& c : run.j.at("checks"))
    ctx.result.add_check(fmt::format("{} rank{}: {}", ranks, ranks == 1 ? "" : "s", c.at("name").get<std::string>()),
                         c.at("passed").get<bool>(), c.at("detail").get<std::string>());
  // Time per epoch: the slowest rank's (the epoch is over when it is); the parts: the mean over
  // ranks. The first epoch warms caches and connections, so it is left out when there are more.
  const auto& epochs = run.j.at("epochs");
  std::vector<double> wall, compute, comm, check;
  for (std::size_t e = epochs.size() > 1 ? 1 : 0; e < epochs.size(); ++e) {
    const auto& ep = epochs[e];
    const auto w = ep.at("wall").get<std::vector<double>>();
    wall.push_back(*std::max_element(w.begin(), w.end()));
    compute.push_back(mean(ep.at("compute").get<std::vector<double>>()));
    comm.push_back(mean(ep.at("comm").get<std::vector<double>>()));
    check.push_back(mean(ep.at("check").get<std::vector<double>>()));
  }
  run.epoch_seconds = stats_of_seconds(wall).median_ns * 1e-9;
  run.compute = mean(compute);
  run.comm = mean(comm);
  run.check = mean(check);
  run.accuracy = epochs.back().at("accuracy").get<double>();
  for (std::size_t e = 0; e < epochs.size(); ++e)
    ctx.log << fmt::format("    epoch {}: loss {:.4f}, test accuracy {:.2f}%\n", e + 1, epochs[e].at("mean_loss").get<double>(),
                           epochs[e].at("accuracy").get<double>());
  const dp::Stats t = stats_of_seconds(wall);
  const double images = run.j.at("train_images").get<double>();
  ctx.result.add_point("epoch time", "ranks", ranks, t, images / run.epoch_seconds, "images/s", "epoch");
  const auto part = [&](const char* name, double seconds) {
    ctx.result.add_point(name, "ranks", ranks, {.median_ns = seconds * 1e9, .p10_ns = seconds * 1e9, .p90_ns = seconds * 1e9,
                                                .min_ns = seconds * 1e9, .reps = static_cast<int>(wall.size())},
                         100 * seconds / run.epoch_seconds, "% of the epoch", "epoch");
  };
  part("computing", run.compute);
  part("communicating", run.comm);
  part("checking the weights", run.check);
  ctx.result.add_point("test accuracy", "ranks", ranks, t, run.accuracy, "% test accuracy", "epoch");
  return run;
}

// The sweep of a run with N >= 2: a series per allreduce, and the ratio at the model's size.
void report_sweep(dp::LabContext& ctx, const RankRun& run) {
  const double N = run.ranks;
  for (const auto& size : run.j.at("sweep")) {
    const double bytes = 4 * size.at("floats").get<double>();
    for (const auto& [key, name] : {std::pair{"mpi", "MPI_Allreduce"}, std::pair{"ring", "ring (ours)"}}) {
      const dp::Stats t = stats_of_seconds(size.at(key).get<std::vector<double>>());
      // "Bus bandwidth" (NCCL's name): the bytes each rank must move, 2 (N - 1) / N of the
      // buffer, per second. It does not depend on N for a ring that runs at the link's speed.
      ctx.result.add_point(fmt::format("{}, {} ranks", name, run.ranks), "bytes", bytes, t,
                           2 * (N - 1) / N * bytes / t.median_ns, "GB/s bus");
    }
    if (size.at("model").get<bool>()) {
      const double mpi = stats_of_seconds(size.at("mpi").get<std::vector<double>>()).median_ns;
      const double ring = stats_of_seconds(size.at("ring").get<std::vector<double>>()).median_ns;
      ctx.result.headlines.push_back({fmt::format("ring vs MPI_Allreduce, {} ranks", run.ranks),
                                      fmt::format("{:.0f} us vs {:.0f} us for the model's gradient ({:.2f} MB): {:.2f}x", ring * 1e-3,
                                                  mpi * 1e-3, bytes * 1e-6, ring / mpi)});
    }
  }
}

void run(dp::LabContext& ctx) {
  dp::data::load_fashion_mnist(dp::data::Split::test);  // says how to get the data, before starting anyone
  const int max_ranks = static_cast<int>(ctx.params.integer("max-ranks"));
  const int epochs = static_cast<int>(ctx.params.integer("epochs"));
  const std::string train_images = std::to_string(ctx.params.integer("train-images"));
  const std::string test_images = ctx.quick ? "2000" : "10000";
  const std::string sweep = ctx.quick ? "4096,model" : "256,4096,65536,model,1048576";
  const double timeout = ctx.quick ? 60 : 600;
  const double tolerance = ctx.quick ? 1.0 : 0.5;

  std::vector<RankRun> runs;
  for (int ranks = 1; ranks <= max_ranks; ranks *= 2) {
    // The cores shared out: one rank per core, or each rank's kernels on its share of the cores.
    const int threads = std::max(1, ctx.machine.threads / ranks);
    runs.push_back(run_ranks(ctx, ranks,
                             {"--epochs", std::to_string(epochs), "--train-images", train_images, "--test-images", test_images,
                              "--allreduce", ctx.params.text("allreduce"), "--threads", std::to_string(threads),
                              "--sweep", sweep, "--sweep-reps", ctx.quick ? "6" : "30",
                              "--perturb-rank", std::to_string(ctx.params.integer("perturb-rank"))},
                             timeout));
    if (ranks > 1) report_sweep(ctx, runs.back());
  }

  const RankRun& one = runs.front();
  for (const RankRun& r : runs) {
    ctx.result.headlines.push_back({fmt::format("{} rank{}", r.ranks, r.ranks == 1 ? "" : "s"),
                                    fmt::format("{:.2f} s per epoch, {:.0f}% of it communicating; test accuracy {:.2f}%",
                                                r.epoch_seconds, 100 * r.comm / r.epoch_seconds, r.accuracy)});
    if (r.ranks > 1)
      ctx.result.add_check(fmt::format("{} ranks reach 1 rank's test accuracy", r.ranks), std::abs(r.accuracy - one.accuracy) <= tolerance,
                           fmt::format("{:.2f}% against {:.2f}%: want within {} points", r.accuracy, one.accuracy, tolerance));
  }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "epoch", .title = "one epoch over N ranks, and where its time goes",
                                          .xlabel = "ranks (processes)", .ylabel = "ns per epoch", .logx = false,
                                          .variants = {"epoch time", "computing", "communicating"}});
  std::vector<std::string> sweep_series;
  for (const auto& s : ctx.result.series)
    if (s.x == "bytes") sweep_series.push_back(s.variant);
  ctx.result.plots.push_back(dp::PlotSpec{.name = "allreduce", .title = "summing a buffer over N ranks: MPI_Allreduce and our ring",
                                          .xlabel = "buffer (bytes)", .ylabel = "ns per allreduce", .logx = true, .logy = true,
                                          .variants = sweep_series});
  const auto& j = one.j;
  ctx.result.notes.push_back(fmt::format("{} training images, {} test images, batches of {} split over the ranks; gradients summed "
                                         "with {}; {} on this machine's {} hardware threads, shared out: {} threads per rank at N = 1",
                                         j.at("train_images").get<int>(), j.at("test_images").get<int>(), j.at("batch").get<int>(),
                                         ctx.params.text("allreduce") == "ring" ? "our ring" : "MPI_Allreduce",
                                         j.at("library").get<std::string>(), ctx.machine.threads, j.at("threads").get<int>()));
  if (max_ranks > ctx.machine.threads)
    ctx.result.notes.push_back(fmt::format("{} ranks on {} hardware threads: oversubscribed; ranks wait for each other's time slices, "
                                           "and that waiting counts as communicating", max_ranks, ctx.machine.threads));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "distributed-sgd",
             .title = "Data-parallel training over processes with MPI",
             .module = 2,
             .level = 5,
             .tracks = {"dl"},
             .question = "What does it cost to train one model on several processes that must agree on every step?",
             .guide_page = "m2/distributed-sgd.md",
             .source = "src/labs/m2/distributed_sgd.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("epochs", "passes over the training images, for every rank count", 3, 1, 1, 100),
               dp::ParamSpec::integer("train-images", "training images used (the first of the set)", 60000, 5120, 256, 60000),
               dp::ParamSpec::integer("max-ranks", "ranks run: 1, 2, 4, ... up to this", 4, 2, 2, 64),
               dp::ParamSpec::choice("allreduce", "how training sums the gradients: MPI_Allreduce or our ring", {"mpi", "ring"}, "mpi", "mpi"),
               dp::ParamSpec::integer("perturb-rank", "nudge one gradient on this rank (below the rank count) once: the weights check must fail (-1: off)", -1, -1, -1, 63)},
    .run = run,
});
