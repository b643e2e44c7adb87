// distributed-sgd's workers (src/labs/m2/distributed_sgd_worker.cpp) under mpirun, on the tiny
// synthetic set the worker makes (four blobs of 64 "pixels"), so that no Fashion-MNIST is needed:
// two ranks train and every check passes; three ranks sum over our ring (an odd ring, chunks of
// unequal sizes, a last batch too small to give every rank a row); and one rank's gradient nudged once makes the weights check fail, as it must.
// Skipped where this build has no MPI (the lab is then not built) or mpirun is not installed.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "labs/m2/distributed_sgd_launch.hpp"

namespace {

// The workers' options: these defaults, with `extra` ("--name", "value" pairs) replacing or adding.
nlohmann::json run_or_skip(int ranks, const std::vector<std::string>& extra, bool& skipped) {
  skipped = false;
  if (dp::find_lab("distributed-sgd") == nullptr) {
    skipped = true;
    return {};
  }
  std::vector<std::string> args = {"--data", "synthetic", "--train-images", "2048", "--test-images", "500", "--epochs", "2",
                                   "--batch", "64", "--lr", "0.01", "--sweep", "1000,model", "--sweep-reps", "2"};
  for (std::size_t i = 0; i + 1 < extra.size(); i += 2) {
    const auto at = std::find(args.begin(), args.end(), extra[i]);
    if (at != args.end()) *(at + 1) = extra[i + 1];
    else args.insert(args.end(), {extra[i], extra[i + 1]});
  }
  try {
    return dp::mpi::run_mpi_workers(ranks, args, 120);
  } catch (const dp::Unavailable&) {
    skipped = true;
    return {};
  }
}

const nlohmann::json* find_check(const nlohmann::json& j, const std::string& start) {
  for (const auto& c : j.at("checks"))
    if (c.at("name").get<std::string>().rfind(start, 0) == 0) return &c;
  return nullptr;
}

TEST(DistributedSgd, TwoRanksTrainAndEveryCheckPasses) {
  bool skipped = false;
  const auto j = run_or_skip(2, {}, skipped);
  if (skipped) GTEST_SKIP() << "no MPI in this build, or mpirun not installed";
  ASSERT_EQ(j.at("ranks"), 2);
  ASSERT_EQ(j.at("checks").size(), 3u);
  for (const auto& c : j.at("checks")) EXPECT_TRUE(c.at("passed").get<bool>()) << c.dump();
  ASSERT_EQ(j.at("epochs").size(), 2u);
  EXPECT_GT(j.at("epochs")[1].at("accuracy").get<double>(), 90.0) << j.at("epochs").dump();
  EXPECT_EQ(j.at("epochs")[1].at("comm").size(), 2u) << "one time per rank";
  EXPECT_EQ(j.at("steps"), 2 * 32) << "2048 images in batches of 64, two epochs";
  ASSERT_EQ(j.at("sweep").size(), 2u);
  EXPECT_EQ(j.at("sweep")[1].at("model"), true);
  EXPECT_EQ(j.at("sweep")[0].at("ring").size(), 2u);
}

TEST(DistributedSgd, AnOddRingSumsRightAndTrains) {
  bool skipped = false;
  // Batches of 64: shares of 21, 21 and 22 rows; 2050 images: a last batch of 2, one rank's share empty.
  const auto j = run_or_skip(3, {"--allreduce", "ring", "--train-images", "2050"}, skipped);
  if (skipped) GTEST_SKIP() << "no MPI in this build, or mpirun not installed";
  for (const auto& c : j.at("checks")) EXPECT_TRUE(c.at("passed").get<bool>()) << c.dump();
  EXPECT_GT(j.at("epochs")[1].at("accuracy").get<double>(), 90.0) << j.at("epochs").dump();
  EXPECT_EQ(j.at("steps"), 2 * 33);
}

TEST(DistributedSgd, ANudgedGradientFailsTheWeightsCheck) {
  bool skipped = false;
  const auto j = run_or_skip(2, {"--perturb-rank", "1"}, skipped);
  if (skipped) GTEST_SKIP() << "no MPI in this build, or mpirun not installed";
  const auto* same = find_check(j, "every rank holds the same weights");
  ASSERT_NE(same, nullptr) << j.at("checks").dump();
  EXPECT_FALSE(same->at("passed").get<bool>()) << same->dump();
  EXPECT_NE(same->at("detail").get<std::string>().find("first after step 1"), std::string::npos) << same->dump();
  EXPECT_TRUE(find_check(j, "MPI_Allreduce")->at("passed").get<bool>());
}

}  // namespace
