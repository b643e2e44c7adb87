// table.hpp — plain aligned text tables for the terminal.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace dp {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Numeric columns right-aligned, text left-aligned, two spaces between columns.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Formats a number with about three significant digits: 0.0123, 1.23, 123, 12300.
std::string format_number(double value);

// A duration in the unit that fits, three significant digits: 141878 -> "142 us", 12.3 -> "12.3 ns".
std::string format_duration_ns(double ns);

}  // namespace dp
