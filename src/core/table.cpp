#include "core/table.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ostream>

#include <fmt/format.h>

namespace dp {

namespace {
// Display width in terminal columns (UTF-8 continuation bytes take no column).
std::size_t width_of(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}
// Numbers (and the "—" placeholder) are right-aligned; text reads better left-aligned.
bool looks_numeric(const std::string& s) {
  if (s.empty() || s == "—") return true;
  const std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.');
}
}  // namespace

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(header_.size(), 0);
  const auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], width_of(row[i]));
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::vector<bool> right(widths.size(), !rows_.empty());
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size() && i < right.size(); ++i)
      if (!looks_numeric(row[i])) right[i] = false;
  const auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(widths[i] - width_of(cell), ' ');
      if (i > 0) line += "  ";
      line += right[i] ? pad + cell : cell + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(header_);
  std::vector<std::string> rule;
  for (auto w : widths) rule.push_back(std::string(w, '-'));
  print_row(rule);
  for (const auto& row : rows_) print_row(row);
}

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  const double a = std::abs(value);
  if (a == 0) return "0";
  if (a >= 1e6) return fmt::format("{:.3g}", value);
  if (a >= 100) return fmt::format("{:.0f}", value);
  if (a >= 10) return fmt::format("{:.1f}", value);
  if (a >= 1) return fmt::format("{:.2f}", value);
  return fmt::format("{:.3g}", value);
}

std::string format_duration_ns(double ns) {
  if (ns >= 1e9) return fmt::format("{:.3g} s", ns / 1e9);
  if (ns >= 1e6) return fmt::format("{:.3g} ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:.3g} us", ns / 1e3);
  return fmt::format("{:.3g} ns", ns);
}

}  // namespace dp
