// distributed_sgd_worker.cpp — one process of the distributed-sgd lab; mpirun starts N of them.
//
// What: data-parallel training of train-mlp's network (784-256-128-10, Adam at lr 1e-3, batches of
// 256, the same seed, so the same start). Every rank holds the whole model. Of each batch of 256,
// rank r trains on rows 256 r / N .. 256 (r + 1) / N; then the ranks add up their gradients, each
// scaled by its share of the batch, so that the sum is the batch's mean gradient, what one process
// would have computed; every rank then takes the same Adam step and the models stay identical.
// The sum over ranks (an "allreduce") is the lesson, at the top of the file:
//   mpi    MPI_Allreduce: OpenMPI picks an algorithm by message size and rank count
//   ring   ours, over MPI point-to-point (MPI_Sendrecv): reduce-scatter, then allgather, the way
//          NCCL and Horovod do it; each rank sends 2(N-1)/N of the buffer in all, for any N
// Checks (on every rank, first): both sums against a reference summed in double, on buffers of
// odd sizes too; then, after every training step, that every rank holds the same weights (a hash
// of them, its min and max over the ranks). --perturb-rank R adds 1e-3 to one gradient on rank R
// after the sum, once: that check must then fail (tests/labs/distributed_sgd_test.cpp does it).
// Measures: per epoch and rank, the seconds computing (forward, backward, Adam), communicating
// (the allreduce, including waiting for the slowest rank) and checking; and the two allreduces
// against each other over a sweep of message sizes (the slowest rank's time of each repetition).
// Run:  dontpanic run distributed-sgd starts it; by hand (one machine, two ranks):
//   mpirun -np 2 --oversubscribe build/release/dontpanic-mpi-worker --out result.json
// Rank 0 writes the result as JSON to --out; the lab reads it. --data synthetic trains a tiny
// network on made-up points instead of Fashion-MNIST (the tests use it).
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "data/fashion_mnist.hpp"
#include "labs/m4/mlp_trainer.hpp"
#include "tensor/parallel.hpp"

namespace {

using dp::data::LabelledImages;
using dp::train::Mlp;

// ---------------------------------------------------------------------------------------------
// The variants: two ways to sum a buffer over every rank, in place
// ---------------------------------------------------------------------------------------------

void mpi_allreduce(std::span<float> data, MPI_Comm comm, std::vector<float>& /*scratch*/) {
  MPI_Allreduce(MPI_IN_PLACE, data.data(), static_cast<int>(data.size()), MPI_FLOAT, MPI_SUM, comm);
}

// The ring: rank r sends only to r + 1 and receives only from r - 1 (mod N). The buffer is cut
// into N chunks, chunk c = [n c / N, n (c + 1) / N).
//   reduce-scatter  N - 1 steps; at step s, send chunk r - s, receive chunk r - s - 1 and add it
//                   to ours. After them, rank r holds the full sum of chunk r + 1.
//   allgather       N - 1 steps; at step s, send chunk r + 1 - s (a finished sum), receive chunk
//                   r - s over ours. After them, every rank holds every sum.
// Each step moves one chunk, n / N floats, in and out of every rank at once: 2 (N - 1) steps and
// 2 (N - 1) / N n floats per rank in all. Each chunk is added up once, by one rank, then copied, so
// every rank ends with the same bits (an allreduce where each rank added in its own order would
// not promise that, and the models would drift apart).
void ring_allreduce(std::span<float> data, MPI_Comm comm, std::vector<float>& scratch) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  if (ranks == 1) return;
  const std::size_t n = data.size(), N = static_cast<std::size_t>(ranks);
  const auto chunk = [&](int c) {
    const auto k = static_cast<std::size_t>(((c % ranks) + ranks) % ranks);
    return data.subspan(n * k / N, n * (k + 1) / N - n * k / N);
  };
  const int right = (rank + 1) % ranks, left = (rank + ranks - 1) % ranks;
  scratch.resize(n / N + 1);
  for (int s = 0; s + 1 < ranks; ++s) {  // reduce-scatter
    const auto send = chunk(rank - s), into = chunk(rank - s - 1);
    MPI_Sendrecv(send.data(), static_cast<int>(send.size()), MPI_FLOAT, right, 0, scratch.data(),
                 static_cast<int>(into.size()), MPI_FLOAT, left, 0, comm, MPI_STATUS_IGNORE);
    for (std::size_t i = 0; i < into.size(); ++i) into[i] += scratch[i];
  }
  for (int s = 0; s + 1 < ranks; ++s) {  // allgather
    const auto send = chunk(rank + 1 - s), into = chunk(rank - s);
    MPI_Sendrecv(send.data(), static_cast<int>(send.size()), MPI_FLOAT, right, 1, into.data(),
                 static_cast<int>(into.size()), MPI_FLOAT, left, 1, comm, MPI_STATUS_IGNORE);
  }
}

using Allreduce = void (*)(std::span<float>, MPI_Comm, std::vector<float>&);

// ---------------------------------------------------------------------------------------------
// The reference and the checks
// ---------------------------------------------------------------------------------------------

struct Ranks {
  int rank = 0, size = 1;
};

// Rank r's test buffer: n floats in [-1, 1) from a seed of (n, r); any rank can rebuild any other's.
std::vector<float> test_buffer(std::size_t n, int rank) {
  std::mt19937_64 rng(n * 1000003u + static_cast<std::uint64_t>(rank));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// A 64-bit hash of some floats' bits (FNV-1a over 8-byte words): equal weights, equal hashes.
std::uint64_t hash_floats(std::span<const float> v, std::uint64_t h = 0xcbf29ce484222325ull) {
  std::size_t i = 0;
  for (; i + 2 <= v.size(); i += 2) {
    std::uint64_t word;
    std::memcpy(&word, v.data() + i, 8);
    h = (h ^ word) * 0x100000001b3ull;
  }
  if (i < v.size()) {
    std::uint32_t last;
    std::memcpy(&last, v.data() + i, 4);
    h = (h ^ last) * 0x100000001b3ull;
  }
  return h;
}

// True on every rank when every rank passed the same hash: the min of h and the min of ~h (which
// is ~max h) in one allreduce.
bool same_on_every_rank(std::uint64_t h, MPI_Comm comm) {
  std::uint64_t both[2] = {h, ~h};
  MPI_Allreduce(MPI_IN_PLACE, both, 2, MPI_UINT64_T, MPI_MIN, comm);
  return both[0] == ~both[1];
}

bool all_ranks(bool ok, MPI_Comm comm) {
  int v = ok ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MIN, comm);
  return v == 1;
}

// Each allreduce against the sum in double, on sizes that do not split evenly (and one smaller
// than the rank count: some chunks empty); and the same bits on every rank.
nlohmann::json check_allreduce(const char* name, Allreduce allreduce, std::size_t model_floats, Ranks me) {
  std::size_t wrong = 0, compared = 0;
  std::string first;
  bool same = true;
  std::vector<float> scratch;
  for (std::size_t n : {model_floats, std::size_t{1001}, std::size_t{3}}) {
    std::vector<float> data = test_buffer(n, me.rank);
    allreduce(data, MPI_COMM_WORLD, scratch);
    std::vector<double> want(n, 0.0);
    for (int r = 0; r < me.size; ++r) {
      const auto other = test_buffer(n, r);
      for (std::size_t i = 0; i < n; ++i) want[i] += other[i];
    }
    // Summing N floats in [-1, 1) in some order: each addition rounds by at most half an ulp of a
    // partial sum below N, so |error| <= N * N * 2^-24 covers it.
    const double tolerance = static_cast<double>(me.size) * me.size * 0x1p-24;
    for (std::size_t i = 0; i < n; ++i, ++compared)
      if (std::abs(data[i] - want[i]) > tolerance && wrong++ == 0)
        first = fmt::format("n = {}, index {}: {} where the sum in double is {}", n, i, data[i], want[i]);
    same = same_on_every_rank(hash_floats(data), MPI_COMM_WORLD) && same;
  }
  const bool right = all_ranks(wrong == 0, MPI_COMM_WORLD);
  return {{"name", fmt::format("{} sums like the reference, the same bits on every rank", name)},
          {"passed", right && same},
          {"detail", !right ? fmt::format("rank {}: {} of {} sums off{}", me.rank, wrong, compared, first.empty() ? "" : ", first " + first)
                     : !same ? std::string("the ranks hold different sums")
                             : fmt::format("{} sums on each of {} ranks (n = {}, 1001, 3) within N^2 2^-24 of the sum in double", compared, me.size, model_floats)}};
}

// ---------------------------------------------------------------------------------------------
// The data: Fashion-MNIST, or small made-up blobs for the tests
// ---------------------------------------------------------------------------------------------

// Four classes of 64-"pixel" images scattered around four random patterns of bright and dark; every rank makes the
// same ones from the seed. The first `train` are for training, the rest for testing.
LabelledImages synthetic_blobs(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 40.0f);
  std::vector<float> centres(4 * 64);
  for (float& c : centres) c = rng() % 2 ? 200.0f : 55.0f;  // each pixel bright or dark
  LabelledImages set{.count = count, .rows = 8, .cols = 8, .pixels = std::vector<std::uint8_t>(count * 64), .labels = {}};
  for (std::size_t i = 0; i < count; ++i) {
    const auto label = static_cast<std::uint8_t>(rng() % 4);
    set.labels.push_back(label);
    for (std::size_t p = 0; p < 64; ++p)
      set.pixels[i * 64 + p] = static_cast<std::uint8_t>(std::clamp(centres[label * 64 + p] + noise(rng), 0.0f, 255.0f));
  }
  return set;
}

struct Options {
  std::string data = "fashion-mnist", allreduce = "mpi", out;
  std::size_t train_images = 60000, test_images = 10000, batch = 256;
  int epochs = 1, threads = 1, perturb_rank = -1, sweep_reps = 10;
  float lr = 1e-3f;
  std::uint64_t seed = 2024;
  std::vector<std::size_t> sweep;  // message sizes in floats; 0 = the model's gradient
};

// ---------------------------------------------------------------------------------------------
// Training: the distributed step
// ---------------------------------------------------------------------------------------------

struct EpochTimes {
  double wall = 0, compute = 0, comm = 0, check = 0;
};

nlohmann::json train(const Options& o, Ranks me, nlohmann::json& checks) {
  LabelledImages train_set, test_set;
  std::vector<std::size_t> widths;
  if (o.data == "synthetic") {
    LabelledImages all = synthetic_blobs(o.train_images + o.test_images, o.seed);
    train_set = all;
    train_set.count = o.train_images;
    test_set.count = o.test_images;
    test_set.rows = test_set.cols = 8;
    test_set.pixels.assign(all.pixels.begin() + static_cast<std::ptrdiff_t>(o.train_images * 64), all.pixels.end());
    test_set.labels.assign(all.labels.begin() + static_cast<std::ptrdiff_t>(o.train_images), all.labels.end());
    widths = {64, 32, 16, 4};
  } else {
    train_set = dp::data::load_fashion_mnist(dp::data::Split::train);
    test_set = dp::data::load_fashion_mnist(dp::data::Split::test);
    widths = {784, 256, 128, 10};
  }
  const std::size_t train_count = std::min(o.train_images, train_set.count), test_count = std::min(o.test_images, test_set.count);
  const Allreduce allreduce = o.allreduce == "ring" ? ring_allreduce : mpi_allreduce;

  Mlp net(widths, o.seed);  // the same seed on every rank: the same start
  dp::tensor::Adam adam{.lr = o.lr};
  std::vector<std::span<float>> grads = net.gradient_spans();
  std::size_t floats = 1;  // the gradients and, last, the batch's loss: one message per step
  for (auto g : grads) floats += g.size();
  std::vector<float> message(floats), scratch;
  std::size_t steps = 0, diverged = 0, first_diverged = 0;
  bool perturbed = false;
  EpochTimes t;

  const auto step = [&](const dp::train::BatchPart& b) {
    double t0 = MPI_Wtime();
    double loss = 0;
    if (b.x.rows > 0) {
      loss = net.gradients(b.x, b.labels, dp::train::Forward::fused);
    } else {  // a last batch smaller than the rank count leaves this rank nothing: it adds zeros
      for (auto g : grads) std::fill(g.begin(), g.end(), 0.0f);
    }
    // Our rows' mean gradient, weighted by our share of the batch: the sum over ranks is the
    // batch's mean gradient (with equal shares, the average over ranks).
    const float share = static_cast<float>(b.x.rows) / static_cast<float>(b.batch_rows);
    std::size_t at = 0;
    for (auto g : grads)
      for (float v : g) message[at++] = v * share;
    message[at] = static_cast<float>(loss) * share;
    double t1 = MPI_Wtime();
    t.compute += t1 - t0;
    allreduce(message, MPI_COMM_WORLD, scratch);
    t0 = MPI_Wtime();
    t.comm += t0 - t1;
    if (me.rank == o.perturb_rank && !perturbed) {  // the check's own test: one rank's gradient differs, once
      message[0] += 1e-3f;
      perturbed = true;
    }
    at = 0;
    for (auto g : grads)
      for (float& v : g) v = message[at++];
    net.apply(adam);
    t1 = MPI_Wtime();
    t.compute += t1 - t0;
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (auto p : net.parameter_spans()) h = hash_floats(p, h);
    if (!same_on_every_rank(h, MPI_COMM_WORLD) && diverged++ == 0) first_diverged = steps;
    ++steps;
    t.check += MPI_Wtime() - t1;
    return static_cast<double>(message[at]);
  };

  nlohmann::json epochs = nlohmann::json::array();
  for (int e = 0; e < o.epochs; ++e) {
    MPI_Barrier(MPI_COMM_WORLD);  // start together: rank 0's test pass is not anyone's waiting time
    t = {};
    const double t0 = MPI_Wtime();
    const dp::train::Epoch ep = dp::train::train_epoch(
        train_set, {.count = train_count, .epoch = e, .batch = o.batch, .seed = o.seed, .shard = {std::size_t(me.rank), std::size_t(me.size)}},
        step);
    t.wall = MPI_Wtime() - t0;
    // Every rank's times to rank 0, which tests the model (the same on every rank, if the check passed).
    const double mine[4] = {t.wall, t.compute, t.comm, t.check};
    std::vector<double> all(4 * static_cast<std::size_t>(me.size));
    MPI_Gather(mine, 4, MPI_DOUBLE, all.data(), 4, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (me.rank == 0) {
      nlohmann::json j = {{"mean_loss", ep.mean_loss}, {"accuracy", dp::train::test_accuracy(net, test_set, test_count)}};
      for (int k = 0; const char* name : {"wall", "compute", "comm", "check"}) {
        std::vector<double> per_rank;
        for (int r = 0; r < me.size; ++r) per_rank.push_back(all[4 * static_cast<std::size_t>(r) + static_cast<std::size_t>(k)]);
        j[name] = per_rank;
        ++k;
      }
      epochs.push_back(j);
    }
  }
  checks.push_back({{"name", "every rank holds the same weights after every step"},
                    {"passed", diverged == 0},
                    {"detail", diverged == 0 ? fmt::format("{} steps, the weights' hash equal on all {} ranks after each", steps, me.size)
                                             : fmt::format("the weights differed between ranks after {} of {} steps, first after step {}",
                                                           diverged, steps, first_diverged + 1)}});
  return {{"epochs", epochs}, {"widths", widths}, {"train_images", train_count}, {"test_images", test_count},
          {"message_floats", floats}, {"steps", steps}};
}

// ---------------------------------------------------------------------------------------------
// The sweep: MPI_Allreduce against the ring, message size by message size
// ---------------------------------------------------------------------------------------------

// Seconds of each repetition, the slowest rank's (an allreduce is done when the last rank is).
std::vector<double> time_allreduce(Allreduce allreduce, std::size_t n, int reps, Ranks me) {
  std::vector<float> data = test_buffer(n, me.rank), fresh = data, scratch;
  std::vector<double> seconds;
  allreduce(data, MPI_COMM_WORLD, scratch);  // warm-up: connections, buffers
  for (int i = 0; i < reps; ++i) {
    data = fresh;
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    allreduce(data, MPI_COMM_WORLD, scratch);
    double dt = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    seconds.push_back(dt);
  }
  return seconds;
}

nlohmann::json sweep(const Options& o, std::size_t model_floats, Ranks me) {
  nlohmann::json out = nlohmann::json::array();
  if (me.size < 2) return out;
  for (std::size_t n : o.sweep) {
    if (n == 0) n = model_floats;
    // Interleaved, so that a burst of load on this shared machine hits both alike.
    nlohmann::json mpi = nlohmann::json::array(), ring = nlohmann::json::array();
    for (int round = 0; round < 2; ++round) {
      for (double s : time_allreduce(mpi_allreduce, n, (o.sweep_reps + 1) / 2, me)) mpi.push_back(s);
      for (double s : time_allreduce(ring_allreduce, n, (o.sweep_reps + 1) / 2, me)) ring.push_back(s);
    }
    out.push_back({{"floats", n}, {"model", n == model_floats}, {"mpi", mpi}, {"ring", ring}});
  }
  return out;
}

std::vector<std::size_t> parse_sizes(const std::string& list) {
  std::vector<std::size_t> sizes;
  std::size_t at = 0;
  while (at < list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    if (item == "model") sizes.push_back(0);
    else if (!item.empty()) sizes.push_back(std::stoull(item));
    at = comma + 1;
  }
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  Ranks me;
  MPI_Comm_rank(MPI_COMM_WORLD, &me.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &me.size);
  Options o;
  std::string sweep_list = "model";
  CLI::App app{"dontpanic-mpi-worker: one rank of the distributed-sgd lab (start it with mpirun)"};
  app.add_option("--out", o.out, "rank 0 writes the result here (JSON)")->required();
  app.add_option("--data", o.data, "fashion-mnist or synthetic")->check(CLI::IsMember({"fashion-mnist", "synthetic"}));
  app.add_option("--allreduce", o.allreduce, "how training sums the gradients: mpi or ring")->check(CLI::IsMember({"mpi", "ring"}));
  app.add_option("--train-images", o.train_images, "training images (the first of the set)");
  app.add_option("--test-images", o.test_images, "test images (the first of the set)");
  app.add_option("--batch", o.batch, "images per step over all ranks")->check(CLI::PositiveNumber);
  app.add_option("--epochs", o.epochs, "passes over the training images")->check(CLI::Range(0, 1000));
  app.add_option("--lr", o.lr, "Adam's learning rate")->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "the model's and the order's seed");
  app.add_option("--threads", o.threads, "threads per rank for the kernels")->check(CLI::Range(1, 1024));
  app.add_option("--perturb-rank", o.perturb_rank, "add 1e-3 to one gradient on this rank, once (the weights check must fail)");
  app.add_option("--sweep", sweep_list, "message sizes in floats for the allreduce sweep, comma-separated; 'model' = the gradient");
  app.add_option("--sweep-reps", o.sweep_reps, "repetitions per size and allreduce")->check(CLI::Range(1, 100000));
  int code = 0;
  try {
    app.parse(argc, argv);
    o.sweep = parse_sizes(sweep_list);
    dp::tensor::ThreadLimit limit(o.threads);
    nlohmann::json checks = nlohmann::json::array();
    // Check first: both allreduces on known data. Then train, then time.
    const Mlp shape(o.data == "synthetic" ? std::vector<std::size_t>{64, 32, 16, 4} : std::vector<std::size_t>{784, 256, 128, 10}, o.seed);
    std::size_t model_floats = 0;
    for (auto p : shape.parameter_spans()) model_floats += p.size();
    checks.push_back(check_allreduce("MPI_Allreduce", mpi_allreduce, model_floats, me));
    checks.push_back(check_allreduce("the ring allreduce", ring_allreduce, model_floats, me));
    nlohmann::json result = train(o, me, checks);
    result["sweep"] = sweep(o, model_floats, me);
    // Where each rank ran (with a hostfile, several machines).
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int length = 0;
    MPI_Get_processor_name(name, &length);
    std::vector<char> names(static_cast<std::size_t>(me.size) * MPI_MAX_PROCESSOR_NAME);
    MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (me.rank == 0) {
      nlohmann::json hosts = nlohmann::json::array();
      for (int r = 0; r < me.size; ++r) hosts.push_back(std::string(names.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME));
      int major = 0, minor = 0;
      MPI_Get_version(&major, &minor);
      char library[MPI_MAX_LIBRARY_VERSION_STRING] = {};
      MPI_Get_library_version(library, &length);
      result.update({{"ranks", me.size}, {"threads", o.threads}, {"allreduce", o.allreduce}, {"batch", o.batch},
                     {"hosts", hosts}, {"library", std::string(library).substr(0, std::string(library).find(','))},
                     {"checks", checks}});
      std::ofstream(o.out) << result.dump(1) << '\n';
    }
  } catch (const CLI::ParseError& e) {
    if (me.rank == 0) code = app.exit(e);
    else code = e.get_exit_code();
  } catch (const std::exception& e) {
    std::cerr << "dontpanic-mpi-worker: rank " << me.rank << ": " << e.what() << '\n';
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return code;
}
