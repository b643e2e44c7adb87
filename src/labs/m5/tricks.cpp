// tricks.cpp — Seven everyday habits in a hot loop, each timed against its fix in the same run.
//
// What: each trick is a pair of functions computing the same answer, "the habit" (code a
//   learner writes first) and "the fix". The lab checks that both give the same answer on fresh
//   random input, then times both, per item.
//   1. hot loops        strlen() in a loop's condition, while the loop writes the string (the
//                       compiler cannot hoist it: the write might change the length): O(n^2)
//   2. allocations      a fresh std::string per formatted line vs one string, cleared and reused
//   3. system calls     one write(2) per 16-byte record vs records gathered in a 64 KiB buffer
//   4. strings as enums commands compared as std::string vs an enum class in a switch
//   5. dispatch         a virtual call per shape through a pointer vs one plain loop per type
//   6. randomness       std::random_device per draw (a system call) vs a generator seeded once
//   7. aliasing         a running total kept through a pointer that may alias the input vs a
//                       local variable (the compiler must store and reload through the pointer,
//                       so the loop cannot vectorize)
// Run:  dontpanic run tricks        dontpanic run tricks --quick
// Checks: every pair agrees on fresh random input; the seeded generator gives the same sequence
// twice from the same seed (reproducible), and random_device's draws are not all equal.
// Each function that shows a trick is [[gnu::noinline]]: inlined into the caller, the compiler
// would see the concrete arguments and could undo the habit itself (notably the aliasing one).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// 1. Hot loops: work that could leave the loop but cannot
// ---------------------------------------------------------------------------------------------

// Upper-case a C string in place. strlen(s) is re-evaluated every iteration: the store to s[i]
// could have written the terminating zero, so the compiler may not hoist it. n chars: n^2 / 2 reads.
[[gnu::noinline]] std::size_t upper_strlen_in_condition(char* s) {
  for (std::size_t i = 0; i < std::strlen(s); ++i) s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  return std::strlen(s);
}

[[gnu::noinline]] std::size_t upper_length_once(char* s) {
  const std::size_t n = std::strlen(s);
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  return n;
}

// ---------------------------------------------------------------------------------------------
// 2. Allocations: a buffer per item vs one buffer for all
// ---------------------------------------------------------------------------------------------

// Each item is formatted into a line of text ("record number 123456789", 24 chars: longer than
// the 15 chars std::string keeps inside itself, so the line lives on the heap), then used.
struct Formatted {  // the line's characters, before they go into a std::string
  char text[32];
  std::size_t size;
};

inline Formatted format_line(std::uint32_t x) {
  static constexpr char kPrefix[] = "record number ";
  Formatted f{};
  std::memcpy(f.text, kPrefix, sizeof kPrefix - 1);
  f.size = static_cast<std::size_t>(std::to_chars(f.text + sizeof kPrefix - 1, f.text + sizeof f.text, x).ptr - f.text);
  return f;
}

[[gnu::noinline]] std::uint64_t line_per_item(const std::vector<std::uint32_t>& items) {
  std::uint64_t total = 0;
  for (std::uint32_t x : items) {
    const Formatted f = format_line(x);
    const std::string line(f.text, f.size);  // 24 chars > 15: a malloc here, a free at the end of the iteration
    total += line.size() + static_cast<unsigned char>(line.back());
  }
  return total;
}

[[gnu::noinline]] std::uint64_t line_reused(const std::vector<std::uint32_t>& items) {
  std::uint64_t total = 0;
  std::string line;  // clear() keeps the capacity: one malloc for the whole run
  for (std::uint32_t x : items) {
    const Formatted f = format_line(x);
    line.assign(f.text, f.size);  // fits the capacity the first line allocated: no malloc
    total += line.size() + static_cast<unsigned char>(line.back());
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// 3. System calls: one per record vs one per 64 KiB
// ---------------------------------------------------------------------------------------------

struct Record {  // 16 bytes, written raw
  std::uint64_t id;
  std::uint64_t value;
};

[[gnu::noinline]] std::size_t write_each(int fd, const std::vector<Record>& records) {
  std::size_t written = 0;
  for (const Record& r : records) {
    const ssize_t n = ::write(fd, &r, sizeof r);  // into the kernel and back: hundreds of ns
    if (n > 0) written += static_cast<std::size_t>(n);
  }
  return written;
}

[[gnu::noinline]] std::size_t write_buffered(int fd, const std::vector<Record>& records) {
  static constexpr std::size_t kBuffer = 64 * 1024;
  std::vector<char> buffer;
  buffer.reserve(kBuffer);
  std::size_t written = 0;
  const auto flush = [&] {
    const ssize_t n = ::write(fd, buffer.data(), buffer.size());
    if (n > 0) written += static_cast<std::size_t>(n);
    buffer.clear();
  };
  for (const Record& r : records) {
    if (buffer.size() + sizeof r > kBuffer) flush();
    const char* bytes = reinterpret_cast<const char*>(&r);
    buffer.insert(buffer.end(), bytes, bytes + sizeof r);
  }
  flush();
  return written;
}

// ---------------------------------------------------------------------------------------------
// 4. Strings as enums: the same commands, compared as text or as a number
// ---------------------------------------------------------------------------------------------

enum class Command : std::uint8_t { move, turn, fire, stop };
const char* const kCommandNames[] = {"move", "turn", "fire", "stop"};

struct Robot {
  std::int64_t x = 0, heading = 0, shots = 0, stops = 0;
  bool operator==(const Robot&) const = default;
};

[[gnu::noinline]] Robot obey_strings(const std::vector<std::string>& commands) {
  Robot r;
  for (const std::string& c : commands) {  // each == compares a length, then bytes
    if (c == "move") r.x += r.heading % 2 ? -1 : 1;
    else if (c == "turn") ++r.heading;
    else if (c == "fire") ++r.shots;
    else if (c == "stop") ++r.stops;
  }
  return r;
}

[[gnu::noinline]] Robot obey_enums(const std::vector<Command>& commands) {
  Robot r;
  for (Command c : commands) {  // one byte, one jump table (or a few compares)
    switch (c) {
      case Command::move: r.x += r.heading % 2 ? -1 : 1; break;
      case Command::turn: ++r.heading; break;
      case Command::fire: ++r.shots; break;
      case Command::stop: ++r.stops; break;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// 5. Dispatch: a virtual call per object vs a loop per type
// ---------------------------------------------------------------------------------------------

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
};
struct Circle final : Shape {
  double r;
  explicit Circle(double r_) : r(r_) {}
  double area() const override { return 3.141592653589793 * r * r; }
};
struct Square final : Shape {
  double side;
  explicit Square(double s) : side(s) {}
  double area() const override { return side * side; }
};
struct Triangle final : Shape {
  double base, height;
  Triangle(double b, double h) : base(b), height(h) {}
  double area() const override { return 0.5 * base * height; }
};

// The object-oriented habit: shapes of mixed types, each on the heap, in random order. Every
// call is an indirect branch the predictor must guess, and nothing can be vectorized.
[[gnu::noinline]] double total_area_virtual(const std::vector<std::unique_ptr<Shape>>& shapes) {
  double total = 0;
  for (const auto& s : shapes) total += s->area();
  return total;
}

// The data-oriented fix: one array per type, each summed by a plain loop the compiler vectorizes.
struct ShapesByType {
  std::vector<double> circle_r, square_side, triangle_base, triangle_height;
};

[[gnu::noinline]] double total_area_by_type(const ShapesByType& s) {
  double circles = 0, squares = 0, triangles = 0;
  for (double r : s.circle_r) circles += r * r;
  for (double side : s.square_side) squares += side * side;
  for (std::size_t i = 0; i < s.triangle_base.size(); ++i) triangles += s.triangle_base[i] * s.triangle_height[i];
  return 3.141592653589793 * circles + squares + 0.5 * triangles;
}

// ---------------------------------------------------------------------------------------------
// 6. Randomness: a system call per number vs a generator seeded once
// ---------------------------------------------------------------------------------------------

[[gnu::noinline]] std::uint64_t draw_random_device(std::size_t n) {
  std::random_device device;  // libstdc++: rdrand or getrandom(2) per call; not reproducible
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += device() % 1000;
  return sum;
}

[[gnu::noinline]] std::uint64_t draw_seeded(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 generator(seed);  // seeded once: the same seed gives the same run, every time
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += generator() % 1000;
  return sum;
}

// ---------------------------------------------------------------------------------------------
// 7. Aliasing: a total kept through a pointer
// ---------------------------------------------------------------------------------------------

// `total` might point into `a` itself, so after every store to *total the next a[i] must be read
// again, and *total written every iteration: no vectorization, one store per element.
[[gnu::noinline]] void sum_into(std::uint32_t* total, const std::uint32_t* a, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) *total += a[i];
}

// A local cannot alias anything: the loop becomes vector adds, and memory is written once.
[[gnu::noinline]] void sum_local(std::uint32_t* total, const std::uint32_t* a, std::size_t n) {
  std::uint32_t sum = *total;
  for (std::size_t i = 0; i < n; ++i) sum += a[i];
  *total = sum;
}

// ---------------------------------------------------------------------------------------------
// The run: build inputs, check each pair, time each pair
// ---------------------------------------------------------------------------------------------

struct Trick {
  std::string name;      // "1. hot loops"
  std::string habit;     // what the slow variant does
  std::string fix;       // what the fast one does
  std::string item;      // what one item is, for "ns per item"
  double items = 0;      // items per call
  std::function<double()> run_habit, run_fix;  // each returns its answer
  double tolerance = 0;    // relative; 0: equal. Sums in different orders round differently
  bool comparable = true;  // false where the answers differ by design (random_device is not seeded)
};

void run(dp::LabContext& ctx) {
  const auto n = static_cast<std::size_t>(ctx.params.integer("items"));
  const auto text_bytes = static_cast<std::size_t>(ctx.params.integer("text-bytes"));
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);

  // Inputs, fresh for every run.
  std::string text(text_bytes, ' ');
  for (char& c : text) c = static_cast<char>('a' + rng() % 26);
  std::string scratch_text = text;  // the trick upper-cases in place: each call works on a copy

  std::vector<std::uint32_t> numbers(n);
  for (auto& x : numbers) x = static_cast<std::uint32_t>(rng());

  std::vector<Record> records(std::max<std::size_t>(n / 16, 1));
  for (std::size_t i = 0; i < records.size(); ++i) records[i] = {i, rng()};
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) throw dp::Error("cannot open /dev/null for writing, which the system-call trick writes to");

  std::vector<Command> commands(n);
  std::vector<std::string> command_text(n);
  for (std::size_t i = 0; i < n; ++i) {
    commands[i] = static_cast<Command>(rng() % 4);
    command_text[i] = kCommandNames[static_cast<int>(commands[i])];
  }

  std::vector<std::unique_ptr<Shape>> shapes;
  ShapesByType by_type;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = 0.5 + static_cast<double>(rng() % 1000) / 1000, b = 0.5 + static_cast<double>(rng() % 1000) / 1000;
    switch (rng() % 3) {
      case 0: shapes.push_back(std::make_unique<Circle>(a)), by_type.circle_r.push_back(a); break;
      case 1: shapes.push_back(std::make_unique<Square>(a)), by_type.square_side.push_back(a); break;
      default: shapes.push_back(std::make_unique<Triangle>(a, b)), by_type.triangle_base.push_back(a), by_type.triangle_height.push_back(b);
    }
  }
  const std::size_t draws = std::max<std::size_t>(n / 16, 1);  // random_device is slow: fewer draws

  const auto robot_answer = [](const Robot& r) {  // one number from the four counts: any one wrong count changes it
    return double(r.x) + 3 * double(r.heading) + 7 * double(r.shots) + 13 * double(r.stops);
  };

  const std::vector<Trick> tricks = {
      {"1. hot loops", "strlen() in the loop condition", "length computed once", "char", double(text_bytes),
       [&] { scratch_text = text; return double(upper_strlen_in_condition(scratch_text.data()) + std::count(scratch_text.begin(), scratch_text.end(), 'Q')); },
       [&] { scratch_text = text; return double(upper_length_once(scratch_text.data()) + std::count(scratch_text.begin(), scratch_text.end(), 'Q')); }},
      {"2. allocations", "a new std::string per line", "one std::string, cleared per line", "line", double(n),
       [&] { return double(line_per_item(numbers)); }, [&] { return double(line_reused(numbers)); }},
      {"3. system calls", "write(2) per 16-byte record", "64 KiB buffer, one write(2) when full", "record", double(records.size()),
       [&] { return double(write_each(devnull, records)); }, [&] { return double(write_buffered(devnull, records)); }},
      {"4. strings as enums", "commands compared as std::string", "enum class in a switch", "command", double(n),
       [&] { return robot_answer(obey_strings(command_text)); }, [&] { return robot_answer(obey_enums(commands)); }},
      {"5. dispatch", "virtual call per shape through a pointer", "one plain loop per type", "shape", double(n),
       [&] { return total_area_virtual(shapes); }, [&] { return total_area_by_type(by_type); }, 1e-12},
      {"6. randomness", "std::random_device per draw", "std::mt19937_64 seeded once", "draw", double(draws),
       [&] { return double(draw_random_device(draws)); }, [&] { return double(draw_seeded(draws, seed)); }, 0, false},
      {"7. aliasing", "total kept through a pointer", "total kept in a local", "element", double(n),
       [&] { std::uint32_t t = 7; sum_into(&t, numbers.data(), numbers.size()); return double(t); },
       [&] { std::uint32_t t = 7; sum_local(&t, numbers.data(), numbers.size()); return double(t); }},
  };

  // Check first. Areas are summed in different orders: relative 1e-12 (n terms of similar size
  // round to ~n * 1e-16 relative at worst). The random draws cannot agree: the two checks after
  // this one say what they do instead.
  std::string disagree;
  for (const Trick& t : tricks) {
    if (!t.comparable) continue;
    const double habit = t.run_habit(), fix = t.run_fix();
    if (std::abs(habit - fix) > t.tolerance * std::abs(fix)) disagree += fmt::format(" {} ({} vs {});", t.name, habit, fix);
  }
  ctx.result.add_check("every habit and its fix give the same answer", disagree.empty(),
                       disagree.empty() ? fmt::format("{} tricks on fresh random input (seed {}; randomness aside)", tricks.size() - 1, seed)
                                        : "different:" + disagree);
  const bool reproducible = draw_seeded(draws, seed) == draw_seeded(draws, seed) && draw_seeded(draws, seed) != draw_seeded(draws, seed + 1);
  ctx.result.add_check("a seeded generator repeats itself, and only with its own seed", reproducible,
                       fmt::format("mt19937_64, {} draws, seeds {} and {}", draws, seed, seed + 1));
  std::random_device device;
  const auto first = device();
  bool device_varies = false;
  for (int i = 0; i < 64 && !device_varies; ++i) device_varies = device() != first;
  ctx.result.add_check("random_device's draws vary", device_varies, "64 draws, not all equal");

  // Then time. x = the trick's number, so the two series line up trick by trick on the plot.
  for (std::size_t i = 0; i < tricks.size(); ++i) {
    const Trick& t = tricks[i];
    const auto habit = ctx.measure(t.name + "/habit", [&] { benchmark::DoNotOptimize(t.run_habit()); }).per(t.items);
    const auto fix = ctx.measure(t.name + "/fix", [&] { benchmark::DoNotOptimize(t.run_fix()); }).per(t.items);
    ctx.result.add_point("the habit", "trick", double(i + 1), habit, 0, "", "item");
    ctx.result.add_point("the fix", "trick", double(i + 1), fix, 0, "", "item");
    ctx.result.headlines.push_back({t.name, fmt::format("{}: {:.2f} ns per {}; {}: {:.2f} ns; {:.1f}x", t.habit, habit.median_ns,
                                                        t.item, t.fix, fix.median_ns, habit.median_ns / fix.median_ns)});
  }
  ::close(devnull);

  ctx.result.plots.push_back(dp::PlotSpec{.name = "tricks", .title = "seven habits and their fixes",
                                          .xlabel = "trick (1 hot loops, 2 allocations, 3 system calls, 4 enums, 5 dispatch, "
                                                    "6 randomness, 7 aliasing)",
                                          .ylabel = "ns per item", .logx = false, .logy = true});
  ctx.result.notes.push_back(fmt::format("The strlen trick is quadratic: its cost per char grows with the text ({} bytes "
                                         "here, --param text-bytes)", text_bytes));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "tricks",
             .title = "Tips and tricks, measured: seven habits in a hot loop and their fixes",
             .module = 5,
             .level = 3,
             .tracks = {},
             .question = "Which everyday habits slow a hot loop down, and by how much does each fix help?",
             .guide_page = "m5/tips.md",
             .source = "src/labs/m5/tricks.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("items", "items per call for most tricks (records and random draws: items / 16)",
                                      1'000'000, 100'000, 16, 100'000'000),
               dp::ParamSpec::integer("text-bytes", "the string the strlen trick upper-cases", 16'384, 4'096, 1, 1'000'000)},
    .run = run,
});
