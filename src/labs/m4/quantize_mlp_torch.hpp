// quantize_mlp_torch.hpp — quantize-mlp's peer: PyTorch on the same trained weights
// (bench/peers/torch_quantize_mlp.py), fp32 and quantize_dynamic, accuracy and latency by batch.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "labs/peer_output.hpp"
#include "core/lab.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "data/fashion_mnist.hpp"
#include "labs/m4/mlp_trainer.hpp"

namespace dp::quantize_mlp {

struct TorchResults {
  double fp32_accuracy = 0, int8_accuracy = 0;
  std::map<std::string, std::map<std::size_t, dp::Stats>> latency;  // series -> batch -> time per batch
};

// The weights travel as raw float32, layer by layer (W row-major, then b), in a temporary file.
inline std::optional<TorchResults> run_torch(dp::LabContext& ctx, const dp::train::Mlp& net,
                                             const std::vector<std::size_t>& batches, std::size_t test_count) {
  const auto python = dp::find_python_with_torch();
  if (!python) {
    ctx.result.notes.push_back("PyTorch skipped: no python3 here can import torch (Debian: apt install python3-torch libopenblas0-pthread).");
    return std::nullopt;
  }
  char path[] = "/tmp/dontpanic-weights-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    ctx.result.notes.push_back("PyTorch skipped: no temporary file for the weights could be made in /tmp.");
    return std::nullopt;
  }
  close(fd);
  std::string widths, batch_list;
  {
    std::ofstream out(path, std::ios::binary);
    for (const auto& l : net.layers()) {
      out.write(reinterpret_cast<const char*>(l.w.data()), static_cast<std::streamsize>(l.w.size() * sizeof(float)));
      out.write(reinterpret_cast<const char*>(l.b.data()), static_cast<std::streamsize>(l.b.size() * sizeof(float)));
      widths += fmt::format("{}{}", widths.empty() ? "" : ",", l.w.cols());
    }
    widths += fmt::format(",{}", net.layers().back().w.rows());
  }
  for (std::size_t b : batches) batch_list += fmt::format("{}{}", batch_list.empty() ? "" : ",", b);
  ctx.log << fmt::format("PyTorch {} ({}): fp32 and quantize_dynamic on our weights\n", python->torch_version, python->interpreter);
  const auto proc = dp::run_process({python->interpreter, (dp::source_dir() / "bench" / "peers" / "torch_quantize_mlp.py").string(),
                                     "--weights", path, "--widths", widths, "--data", dp::data::fashion_mnist_dir().string(),
                                     "--test", std::to_string(test_count), "--batches", batch_list,
                                     "--reps", std::to_string(std::max(3, ctx.measure_config.repetitions)),
                                     "--min-time", fmt::format("{}", ctx.measure_config.min_seconds)},
                                    {}, 1800);
  std::remove(path);
  try {
    const auto j = dp::labs::peer_json(proc.output);  // its last line: warnings may come before
    TorchResults r{.fp32_accuracy = j.at("fp32_accuracy"), .int8_accuracy = j.at("int8_accuracy")};
    for (const auto& p : j.at("latency")) {
      const double ns = p.at("median_ns");
      r.latency[p.at("series").get<std::string>()][p.at("batch").get<std::size_t>()] =
          dp::Stats{.median_ns = ns, .p10_ns = p.at("p10_ns"), .p90_ns = p.at("p90_ns"), .min_ns = p.at("p10_ns"), .reps = p.at("reps")};
    }
    ctx.result.notes.push_back(fmt::format("PyTorch {}: int8 engine {}, threads {}.", j.value("torch", ""),
                                           j.value("engine", ""), j.at("threads").dump()));
    return r;
  } catch (const std::exception&) {
    ctx.result.notes.push_back(fmt::format("PyTorch skipped: torch_quantize_mlp.py exited with {}{}: {}", proc.exit_code,
                                           proc.timed_out ? " (timed out)" : "", proc.output.substr(0, 300)));
    return std::nullopt;
  }
}

}  // namespace dp::quantize_mlp
