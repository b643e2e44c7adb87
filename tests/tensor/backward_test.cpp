// Backward passes and optimizers (src/tensor/reference_backward.hpp, backward.hpp).
//  1. The reference gradients of a two-layer network's loss, L = CE(softmax(W2 relu(W1 x + b1) + b2)),
//     against central finite differences in double, on shapes made of 1, 3, 17 and 255.
//  2. The fast float passes against the reference run in double, on fresh random values.
//  3. SGD with momentum and Adam against their formulas written out in double, over three steps.
//  4. Both against PyTorch's autograd (bench/peers/torch_grads.py, float64) on the same weights,
//     where a python3 with torch is installed; skipped elsewhere.
// Each comparison can fail: a test breaks a gradient on purpose and sees the check notice.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "tensor/backward.hpp"
#include "tensor/reference.hpp"
#include "tensor/reference_backward.hpp"
#include "tensor/tensor.hpp"

namespace {

using dp::tensor::Tensor2D;
namespace ref = dp::tensor::ref;

struct Net {  // x -> linear(w1, b1) -> relu -> linear(w2, b2) -> softmax cross-entropy
  Tensor2D<double> x, w1, b1, w2, b2;
  std::vector<std::uint8_t> labels;
};

Net random_net(std::size_t batch, std::size_t in, std::size_t hidden, std::size_t classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Net n{ref::cast<double>(Tensor2D<float>::random(batch, in, rng())), ref::cast<double>(Tensor2D<float>::random(hidden, in, rng())),
        ref::cast<double>(Tensor2D<float>::random(1, hidden, rng())), ref::cast<double>(Tensor2D<float>::random(classes, hidden, rng())),
        ref::cast<double>(Tensor2D<float>::random(1, classes, rng())), {}};
  for (std::size_t i = 0; i < batch; ++i) n.labels.push_back(static_cast<std::uint8_t>(rng() % classes));
  return n;
}

double loss_of(const Net& n) {
  const auto h = ref::relu(ref::linear(n.x, n.w1, n.b1));
  return ref::softmax_cross_entropy<double>(ref::linear(h, n.w2, n.b2), n.labels, nullptr);
}

struct Grads {
  Tensor2D<double> dx, dw1, db1, dw2, db2;
};
Grads reference_grads(const Net& n) {
  const auto a1 = ref::linear(n.x, n.w1, n.b1);
  const auto h = ref::relu(a1);
  Tensor2D<double> dlogits;
  ref::softmax_cross_entropy<double>(ref::linear(h, n.w2, n.b2), n.labels, &dlogits);
  const auto g2 = ref::linear_backward(h, n.w2, dlogits);
  const auto g1 = ref::linear_backward(n.x, n.w1, ref::relu_backward(a1, g2.dx));
  return {g1.dx, g1.dw, g1.db, g2.dw, g2.db};
}

// Central differences on up to `samples` entries of one tensor of the net.
void expect_matches_finite_differences(Net n, Tensor2D<double> Net::*member, const Tensor2D<double>& analytic,
                                       const char* name, std::mt19937_64& rng) {
  Tensor2D<double>& t = n.*member;
  for (int s = 0; s < 12; ++s) {
    const std::size_t i = rng() % t.size();
    const double keep = t.data()[i], h = 1e-6;
    t.data()[i] = keep + h;
    const double up = loss_of(n);
    t.data()[i] = keep - h;
    const double down = loss_of(n);
    t.data()[i] = keep;
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(analytic.data()[i], numeric, 1e-6 + 1e-5 * std::fabs(numeric)) << name << "[" << i << "]";
  }
}

TEST(Backward, ReferenceGradientsMatchFiniteDifferences) {
  std::mt19937_64 rng(std::random_device{}());
  for (const auto& [batch, in, hidden, classes] :
       {std::tuple{1, 3, 17, 3}, {3, 17, 3, 17}, {17, 255, 17, 3}, {255, 3, 1, 17}, {3, 1, 255, 3}}) {
    // A kink of relu at exactly 0 is measure-zero on random inputs, and h is far smaller than
    // the typical distance to it.
    const Net n = random_net(batch, in, hidden, classes, rng());
    const Grads g = reference_grads(n);
    SCOPED_TRACE(testing::Message() << batch << "x" << in << "x" << hidden << "x" << classes);
    expect_matches_finite_differences(n, &Net::x, g.dx, "dx", rng);
    expect_matches_finite_differences(n, &Net::w1, g.dw1, "dW1", rng);
    expect_matches_finite_differences(n, &Net::b1, g.db1, "db1", rng);
    expect_matches_finite_differences(n, &Net::w2, g.dw2, "dW2", rng);
    expect_matches_finite_differences(n, &Net::b2, g.db2, "db2", rng);
  }
}

// The largest difference, relative to the largest magnitude of the reference.
template <typename T>
double relative_difference(const Tensor2D<T>& got, const Tensor2D<double>& want) {
  double diff = 0, scale = 1e-30;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got.data()[i]) - want.data()[i]));
    scale = std::max(scale, std::fabs(want.data()[i]));
  }
  return diff / scale;
}

struct FastGrads {
  Tensor2D<float> dx, dw1, db1, dw2, db2;
  double loss;
};
FastGrads fast_grads(const Net& n) {
  const auto x = ref::cast<float>(n.x), w1 = ref::cast<float>(n.w1), b1 = ref::cast<float>(n.b1);
  const auto w2 = ref::cast<float>(n.w2), b2 = ref::cast<float>(n.b2);
  const auto a1 = ref::linear(x, w1, b1);  // the forward pass is not what is tested here
  const auto h = ref::relu(a1);
  auto logits = ref::linear(h, w2, b2);
  FastGrads g{Tensor2D<float>(x.rows(), x.cols()), Tensor2D<float>(w1.rows(), w1.cols()), Tensor2D<float>(1, w1.rows()),
              Tensor2D<float>(w2.rows(), w2.cols()), Tensor2D<float>(1, w2.rows()), 0};
  g.loss = dp::tensor::softmax_cross_entropy(logits.const_view(), n.labels, logits.view());  // in place
  dp::tensor::LinearBackward back;
  Tensor2D<float> dh(h.rows(), h.cols());
  back.run(h.const_view(), w2.const_view(), logits.const_view(), dh.view(), g.dw2.view(), g.db2.span());
  dp::tensor::relu_backward(a1.const_view(), dh.const_view(), dh.view());
  back.run(x.const_view(), w1.const_view(), dh.const_view(), g.dx.view(), g.dw1.view(), g.db1.span());
  return g;
}

TEST(Backward, FastPassesMatchTheReferenceInDouble) {
  std::mt19937_64 rng(std::random_device{}());
  for (const auto& [batch, in, hidden, classes] :
       {std::tuple{1, 3, 17, 3}, {17, 255, 17, 10}, {255, 17, 255, 3}, {256, 784, 128, 10}, {33, 100, 70, 10}}) {
    const Net n = random_net(batch, in, hidden, classes, rng());
    const Grads want = reference_grads(n);
    const FastGrads got = fast_grads(n);
    SCOPED_TRACE(testing::Message() << batch << "x" << in << "x" << hidden << "x" << classes);
    EXPECT_NEAR(got.loss, loss_of(n), 1e-5 * loss_of(n));
    EXPECT_LT(relative_difference(got.dx, want.dx), 1e-4);
    EXPECT_LT(relative_difference(got.dw1, want.dw1), 1e-4);
    EXPECT_LT(relative_difference(got.db1, want.db1), 1e-4);
    EXPECT_LT(relative_difference(got.dw2, want.dw2), 1e-4);
    EXPECT_LT(relative_difference(got.db2, want.db2), 1e-4);
  }
}

// One tensor as JSON rows (a 1 x n bias as a flat list, as torch expects it).
nlohmann::json to_json(const Tensor2D<double>& t, bool flat) {
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t r = 0; r < t.rows(); ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (std::size_t c = 0; c < t.cols(); ++c) row.push_back(t(r, c));
    if (flat) return row;
    rows.push_back(std::move(row));
  }
  return rows;
}

Tensor2D<double> from_json(const nlohmann::json& j, std::size_t rows, std::size_t cols) {
  Tensor2D<double> t(rows, cols);
  const bool flat = rows == 1 && !j.at(0).is_array();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) t(r, c) = flat ? j.at(c).get<double>() : j.at(r).at(c).get<double>();
  return t;
}

TEST(Backward, GradientsMatchPyTorchAutograd) {
  const auto python = dp::find_python_with_torch();
  if (!python) GTEST_SKIP() << "no python3 here can import torch";
  std::mt19937_64 rng(std::random_device{}());
  std::vector<Net> nets;
  nlohmann::json input = nlohmann::json::array();
  for (const auto& [batch, in, hidden, classes] : {std::tuple{1, 3, 17, 3}, {17, 255, 17, 10}, {64, 784, 128, 10}}) {
    const Net& n = nets.emplace_back(random_net(batch, in, hidden, classes, rng()));
    input.push_back({{"x", to_json(n.x, false)},   {"w1", to_json(n.w1, false)}, {"b1", to_json(n.b1, true)},
                     {"w2", to_json(n.w2, false)}, {"b2", to_json(n.b2, true)},  {"labels", n.labels}});
  }
  const auto proc = dp::run_process({python->interpreter, (dp::source_dir() / "bench" / "peers" / "torch_grads.py").string()},
                                    input.dump(), 120);
  ASSERT_EQ(proc.exit_code, 0) << proc.output;
  const auto torch = nlohmann::json::parse(proc.output);
  ASSERT_EQ(torch.size(), nets.size());
  for (std::size_t i = 0; i < nets.size(); ++i) {
    const Net& n = nets[i];
    const auto& t = torch[i];
    SCOPED_TRACE(testing::Message() << n.x.rows() << "x" << n.x.cols() << "x" << n.w1.rows() << "x" << n.w2.rows());
    const Grads want{from_json(t.at("dx"), n.x.rows(), n.x.cols()), from_json(t.at("dw1"), n.w1.rows(), n.w1.cols()),
                     from_json(t.at("db1"), 1, n.w1.rows()), from_json(t.at("dw2"), n.w2.rows(), n.w2.cols()),
                     from_json(t.at("db2"), 1, n.w2.rows())};
    // Our double reference and autograd do the same arithmetic in another order: equal to ~1e-15.
    const Grads ours = reference_grads(n);
    EXPECT_NEAR(loss_of(n), t.at("loss").get<double>(), 1e-12 * loss_of(n));
    EXPECT_LT(relative_difference(ours.dx, want.dx), 1e-10);
    EXPECT_LT(relative_difference(ours.dw1, want.dw1), 1e-10);
    EXPECT_LT(relative_difference(ours.db1, want.db1), 1e-10);
    EXPECT_LT(relative_difference(ours.dw2, want.dw2), 1e-10);
    EXPECT_LT(relative_difference(ours.db2, want.db2), 1e-10);
    // The fast float passes the trainer uses, against autograd in double.
    const FastGrads fast = fast_grads(n);
    EXPECT_LT(relative_difference(fast.dx, want.dx), 1e-4);
    EXPECT_LT(relative_difference(fast.dw1, want.dw1), 1e-4);
    EXPECT_LT(relative_difference(fast.db1, want.db1), 1e-4);
    EXPECT_LT(relative_difference(fast.dw2, want.dw2), 1e-4);
    EXPECT_LT(relative_difference(fast.db2, want.db2), 1e-4);
  }
}

TEST(Backward, TheComparisonCatchesAWrongGradient) {
  const Net n = random_net(17, 30, 20, 10, 7);
  const Grads want = reference_grads(n);
  FastGrads got = fast_grads(n);
  got.dw1(3, 4) += 0.01f * static_cast<float>(std::fabs(want.dw1(3, 4)) + 0.1);
  EXPECT_GT(relative_difference(got.dw1, want.dw1), 1e-4);
}

TEST(Backward, ShapeMismatchesAreErrors) {
  dp::tensor::LinearBackward back;
  Tensor2D<float> x(4, 3), w(5, 3), dy(4, 6), dw(5, 3), db(1, 5);
  EXPECT_THROW(back.run(x.const_view(), w.const_view(), dy.const_view(), {}, dw.view(), db.span()), dp::Error);
  std::vector<std::uint8_t> labels = {0, 1, 12, 2};
  Tensor2D<float> logits(4, 10);
  EXPECT_THROW(dp::tensor::softmax_cross_entropy(logits.const_view(), labels, logits.view()), dp::Error);
}

TEST(Optimizers, SgdAndAdamFollowTheirFormulasForThreeSteps) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> w(9), g(9), vel(9, 0), m(9, 0), v(9, 0), w_adam;
  for (auto& x : w) x = u(rng);
  w_adam = w;
  std::vector<double> ws(w.begin(), w.end()), wa(w.begin(), w.end()), vs(9, 0), ma(9, 0), va(9, 0);
  const dp::tensor::Sgd sgd{.lr = 0.1f, .momentum = 0.9f};
  dp::tensor::Adam adam{.lr = 0.01f};
  for (int t = 1; t <= 3; ++t) {
    for (auto& x : g) x = u(rng);
    sgd.step(w, g, vel);
    adam.next_step();
    adam.step(w_adam, g, m, v);
    for (std::size_t i = 0; i < 9; ++i) {
      vs[i] = 0.9 * vs[i] + g[i];
      ws[i] -= 0.1 * vs[i];
      ma[i] = 0.9 * ma[i] + 0.1 * g[i];
      va[i] = 0.999 * va[i] + 0.001 * double(g[i]) * g[i];
      wa[i] -= 0.01 * (ma[i] / (1 - std::pow(0.9, t))) / (std::sqrt(va[i] / (1 - std::pow(0.999, t))) + 1e-8);
    }
  }
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_NEAR(w[i], ws[i], 1e-5);
    EXPECT_NEAR(w_adam[i], wa[i], 1e-5);
  }
  dp::tensor::Adam fresh;
  EXPECT_THROW(fresh.step(w, g, m, v), dp::Error);  // no next_step() yet
}

}  // namespace
