// ui.cpp — the Dear ImGui panel.
#include "app/ui.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <imgui.h>

namespace dp::app {

void draw_panel(AppOptions& s, const PanelFacts& f) {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(ImVec2(kPanelWidth, io.DisplaySize.y));
  ImGui::Begin("dontpanic app", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse);

  // The plot: frame times of the last frames, the 60 Hz budget as its scale's floor.
  const double p50 = f.frames->percentile(0.5), p99 = f.frames->percentile(0.99);
  ImGui::Text("frame time  p50 %.2f ms   p99 %.2f ms", p50, p99);
  const float top = static_cast<float>(std::max(16.7, p99 * 1.5));
  ImGui::PlotLines("##frames", f.frames->data(), f.frames->size(), f.frames->offset(),
                   fmt::format("last {} frames, 0..{:.1f} ms", f.frames->count(), top).c_str(), 0.0f, top,
                   ImVec2(kPanelWidth - 20, 110));
  ImGui::Text("simulation  p50 %.2f ms   p99 %.2f ms", f.simulation->percentile(0.5), f.simulation->percentile(0.99));
  ImGui::Separator();

  ImGui::Checkbox("simulation", &s.simulation);
  int particles = static_cast<int>(s.particles);
  if (ImGui::SliderInt("particles", &particles, 1000, 2'000'000, "%d", ImGuiSliderFlags_Logarithmic))
    s.particles = static_cast<std::size_t>(std::max(1, particles));
  int layout = s.layout == Layout::aos ? 0 : 1;
  ImGui::Text("layout");
  ImGui::SameLine();
  ImGui::RadioButton("AoS", &layout, 0);
  ImGui::SameLine();
  ImGui::RadioButton("SoA", &layout, 1);
  s.layout = layout == 0 ? Layout::aos : Layout::soa;
  ImGui::SliderInt("threads", &s.threads, 1, f.max_threads);
  ImGui::Checkbox("vsync", &s.vsync);
  ImGui::Checkbox("allocate a buffer per frame", &s.alloc_per_frame);
  int log = static_cast<int>(s.log);
  ImGui::Text("log per frame");
  ImGui::SameLine();
  ImGui::RadioButton("off", &log, 0);
  ImGui::SameLine();
  ImGui::RadioButton("ring", &log, 1);
  ImGui::SameLine();
  ImGui::RadioButton("sync", &log, 2);
  s.log = static_cast<LogMode>(log);
  if (s.log == LogMode::ring && f.log_dropped > 0) ImGui::Text("ring full: %llu lines dropped", f.log_dropped);
#if defined(DP_HAVE_GPU)
  ImGui::Checkbox("simulate on the GPU (Vulkan compute)", &s.gpu);
  if (f.gpu_error && *f.gpu_error) ImGui::TextWrapped("GPU: %s", f.gpu_error);
#else
  ImGui::BeginDisabled();
  bool gpu = false;
  ImGui::Checkbox("GPU (this build has no Vulkan)", &gpu);
  ImGui::EndDisabled();
#endif
  ImGui::Separator();
  ImGui::TextWrapped("%s", f.renderer);
  ImGui::End();
}

}  // namespace dp::app
