// compression.cpp — why smaller data can be faster data, and when it is not.
//
// What: the sum of a column of integers, stored four ways; each time is the decompress-and-sum
// of the whole column (the "useful" bytes are the column's raw bytes: throughput = raw / time):
//   raw             the values as they are: a plain sum, limited by memory bandwidth
//   delta+varint    ours (varint.hpp): differences, zigzag, 1-10 bytes each; decoded and summed
//                   in one pass, the column never stored
//   lz4, zstd       general-purpose compressors (Debian's liblz4, libzstd at level 3), run on
//                   blocks of a quarter of L2: each block is decompressed into a buffer that
//                   stays in cache, and summed there, as a column store does
// on two columns:
//   timestamps      synthetic, sorted int64 microseconds of a 1 kHz sensor with jitter and gaps
//   real data       bytes (uint8): the Fashion-MNIST training pixels where they are on disk,
//                   else the text of the C and C++ headers under /usr/include, in path order
// at two sizes: half of L2 (in cache), and several times the last-level cache (from DRAM).
// Run:  dontpanic run compression        dontpanic run compression --quick
// Every codec's decompressed column must equal the original byte for byte, and its sum the
// reference sum.
#include <algorithm>
#include <bit>
#include <functional>
#include <memory>
#include <numeric>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#if defined(DP_HAVE_LZ4)
#include <lz4.h>
#endif
#if defined(DP_HAVE_ZSTD)
#include <zstd.h>
#endif

#include "core/error.hpp"
#include "core/lab.hpp"
#include "data/fashion_mnist.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"
#include "core/sweep.hpp"
#include "labs/m3/varint.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The variants: decompress and sum
// ---------------------------------------------------------------------------------------------

// Modulo 2^64, like every variant. Bytes are summed 64 Ki at a time into 32 bits (it cannot
// overflow: 65,536 x 255 < 2^32), so the vectorizer widens each byte to 32-bit lanes, not 64-bit
// ones: twice the values per instruction.
template <class T>
std::uint64_t sum(std::span<const T> column) {
  std::uint64_t s = 0;
  if constexpr (sizeof(T) == 1) {
    for (std::size_t at = 0; at < column.size(); at += 65536) {
      std::uint32_t part = 0;
      for (const T v : column.subspan(at, std::min<std::size_t>(65536, column.size() - at))) part += v;
      s += part;
    }
  } else {
    for (const T v : column) s += static_cast<std::uint64_t>(v);
  }
  return s;
}

// A general-purpose compressor's column: blocks compressed one by one, so that a reader
// decompresses one block at a time into a buffer in cache and never writes the whole column.
struct Blocks {
  std::vector<std::vector<char>> data;
  std::vector<std::size_t> raw_bytes;  // each block's size before compression
  std::size_t stored_bytes() const {
    std::size_t n = 0;
    for (const auto& b : data) n += b.size();
    return n;
  }
};

struct Codec {
  std::string name;
  // Compress one block; decompress one into `out` (returns the bytes written).
  std::vector<char> (*compress)(std::span<const char> raw);
  std::size_t (*decompress)(const std::vector<char>& packed, std::span<char> out);
};

#if defined(DP_HAVE_LZ4)
std::vector<char> lz4_compress(std::span<const char> raw) {
  std::vector<char> out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(raw.size()))));
  const int n = LZ4_compress_default(raw.data(), out.data(), static_cast<int>(raw.size()), static_cast<int>(out.size()));
  if (n <= 0) throw dp::Error("lz4 could not compress a block");
  out.resize(static_cast<std::size_t>(n));
  return out;
}
std::size_t lz4_decompress(const std::vector<char>& packed, std::span<char> out) {
  const int n = LZ4_decompress_safe(packed.data(), out.data(), static_cast<int>(packed.size()), static_cast<int>(out.size()));
  if (n < 0) throw dp::Error("lz4: a block is corrupt");
  return static_cast<std::size_t>(n);
}
#endif
#if defined(DP_HAVE_ZSTD)
std::vector<char> zstd_compress(std::span<const char> raw) {
  std::vector<char> out(ZSTD_compressBound(raw.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
  if (ZSTD_isError(n)) throw dp::Error(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}
std::size_t zstd_decompress(const std::vector<char>& packed, std::span<char> out) {
  // One context per thread, reused: creating one per block would time malloc, not zstd.
  thread_local const std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  const std::size_t n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), packed.data(), packed.size());
  if (ZSTD_isError(n)) throw dp::Error(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  return n;
}
#endif

std::vector<Codec> codecs() {
  std::vector<Codec> c;
#if defined(DP_HAVE_LZ4)
  c.push_back({"lz4", lz4_compress, lz4_decompress});
#endif
#if defined(DP_HAVE_ZSTD)
  c.push_back({"zstd -3", zstd_compress, zstd_decompress});
#endif
  return c;
}

Blocks compress_blocks(const Codec& codec, std::span<const char> raw, std::size_t block) {
  Blocks b;
  for (std::size_t at = 0; at < raw.size(); at += block) {
    const auto part = raw.subspan(at, std::min(block, raw.size() - at));
    b.data.push_back(codec.compress(part));
    b.raw_bytes.push_back(part.size());
  }
  return b;
}

// Decompress each block into `buffer` (a block's size, in cache), sum its values there.
template <class T>
std::uint64_t blocks_sum(const Codec& codec, const Blocks& b, std::vector<T>& buffer) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < b.data.size(); ++i) {
    const std::size_t bytes = codec.decompress(b.data[i], std::span(reinterpret_cast<char*>(buffer.data()), b.raw_bytes[i]));
    s += sum(std::span<const T>(buffer.data(), bytes / sizeof(T)));
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The columns
// ---------------------------------------------------------------------------------------------

// A sensor sampled at 1 kHz: 1000 us apart, +-32 us of jitter, and one gap of up to a second in
// a thousand samples. Starts at a real date (2023-11-14) in microseconds, so values are large.
std::vector<std::int64_t> timestamps(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::int64_t> t(n);
  std::int64_t now = 1'700'000'000'000'000 + static_cast<std::int64_t>(rng() % 1'000'000);
  for (auto& v : t) {
    now += 1000 + static_cast<std::int64_t>(rng() % 65) - 32;
    if (rng() % 1000 == 0) now += static_cast<std::int64_t>(rng() % 1'000'000);
    v = now;
  }
  return t;
}


struct ByteSource {
  std::string name;                // "Fashion-MNIST pixels", "text of /usr/include"
  std::vector<std::uint8_t> bytes;  // up to the bytes asked for
};

// The Fashion-MNIST training images (IDX format: a 16-byte header, then 60,000 x 28 x 28 pixels),
// else the headers under /usr/include, every regular file in path order, concatenated.
ByteSource real_bytes(std::size_t wanted) {
  ByteSource src;
  src.bytes.reserve(wanted);
  const auto mnist = dp::data::fashion_mnist_dir() / "train-images-idx3-ubyte";
  std::error_code ec;
  const auto append = [&](const std::filesystem::path& p, std::size_t skip) {  // up to `wanted` in all
    const std::uintmax_t size = std::filesystem::file_size(p, ec);
    if (ec || size <= skip) return;
    const std::size_t at = src.bytes.size();
    const std::size_t take = std::min<std::size_t>(static_cast<std::size_t>(size) - skip, wanted - at);
    std::ifstream in(p, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(skip));
    src.bytes.resize(at + take);
    in.read(reinterpret_cast<char*>(src.bytes.data() + at), static_cast<std::streamsize>(take));
    src.bytes.resize(at + static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));  // a file that shrank
  };
  if (std::filesystem::is_regular_file(mnist, ec)) {
    src.name = fmt::format("Fashion-MNIST training pixels ({})", mnist.string());
    append(mnist, 16);
    return src;
  }
  src.name = "text of the headers under /usr/include, in path order";
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator("/usr/include", ec); !ec && it != decltype(it)(); it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (src.bytes.size() >= wanted) break;
    append(f, 0);
  }
  return src;
}

// ---------------------------------------------------------------------------------------------
// Check, then time, one column at one size
// ---------------------------------------------------------------------------------------------

struct Figures {  // what one codec did to one column
  double ratio = 0, gbps = 0;
};

template <class T>
std::vector<std::pair<std::string, Figures>> run_column(dp::LabContext& ctx, const std::string& column_name,
                                                        const std::string& where, std::span<const T> column,
                                                        std::size_t block) {
  const std::uint64_t want = sum(column);  // the reference, and the raw variant's code
  const double raw_bytes = static_cast<double>(column.size_bytes());
  const auto label = fmt::format("{}, {} ({})", column_name, where, dp::format_bytes(column.size_bytes()));
  std::vector<std::pair<std::string, Figures>> out;
  const auto time = [&](const std::string& codec, double stored, const std::function<std::uint64_t()>& body) {
    const dp::Stats s = ctx.measure(fmt::format("{}/{}/{}", codec, column_name, where), [&] { benchmark::DoNotOptimize(body()); });
    const Figures f{raw_bytes / stored, raw_bytes / s.median_ns};
    ctx.result.add_point(fmt::format("{}: {}", column_name, codec), "column bytes", raw_bytes, s, f.gbps, "GB/s");
    if (where != "in cache")
      ctx.result.add_point(fmt::format("{} on {}", codec, column_name), "compression ratio", f.ratio, s, f.gbps, "GB/s");
    out.emplace_back(codec, f);
  };

  // Our codec: decode the whole column back and compare, and the one-pass sum.
  const std::vector<std::uint8_t> packed = dp::varint::encode(column);
  std::vector<T> back(column.size());
  dp::varint::decode(std::span<const std::uint8_t>(packed), std::span<T>(back));
  const std::uint64_t got = dp::varint::decode_sum<T>(packed, column.size());
  bool ok = std::equal(back.begin(), back.end(), column.begin()) && got == want;
  ctx.result.add_check(fmt::format("delta+varint, {}: identical column and sum", label), ok,
                       fmt::format("sum {} (reference {}); {}", got, want, std::equal(back.begin(), back.end(), column.begin()) ? "every value identical" : "the decoded column differs"));
  if (ok) {
    time("raw", raw_bytes, [&] { return sum(column); });
    time("delta+varint", static_cast<double>(packed.size()), [&] { return dp::varint::decode_sum<T>(packed, column.size()); });
  }
  std::vector<T> buffer(block / sizeof(T));
  const std::span<const char> raw(reinterpret_cast<const char*>(column.data()), column.size_bytes());
  for (const Codec& c : codecs()) {
    const Blocks b = compress_blocks(c, raw, block);
    std::vector<char> whole;  // every block decompressed, end to end, compared byte for byte
    for (std::size_t i = 0; i < b.data.size(); ++i) {
      std::vector<char> part(b.raw_bytes[i]);
      whole.insert(whole.end(), part.begin(), part.begin() + static_cast<std::ptrdiff_t>(c.decompress(b.data[i], part)));
    }
    const std::uint64_t s = blocks_sum(c, b, buffer);
    const bool same = whole.size() == raw.size() && std::equal(whole.begin(), whole.end(), raw.begin());
    ctx.result.add_check(fmt::format("{}, {}: identical column and sum", c.name, label), same && s == want,
                         fmt::format("sum {} (reference {}); {}", s, want, same ? "every byte identical" : "the decompressed bytes differ"));
    if (same && s == want) time(c.name, static_cast<double>(b.stored_bytes()), [&] { return blocks_sum(c, b, buffer); });
  }
  return out;
}

std::string summary(const std::vector<std::pair<std::string, Figures>>& figures) {
  std::string line;
  for (const auto& [codec, f] : figures) line += fmt::format("{}{} {:.2f} GB/s (ratio {:.2f})", line.empty() ? "" : ", ", codec, f.gbps, f.ratio);
  return line;
}

void run(dp::LabContext& ctx) {
  std::mt19937_64 rng(std::random_device{}());
  const std::uint64_t l2 = ctx.machine.cache_bytes(2) ? ctx.machine.cache_bytes(2) : 256 << 10;
  if (ctx.machine.cache_bytes(2) == 0) ctx.result.notes.push_back("The machine reports no L2 size: 256 KiB assumed.");
  if (ctx.machine.last_level_cache_bytes() == 0) ctx.result.notes.push_back("The machine reports no last-level cache: 8 MiB assumed.");
  const std::uint64_t llc = dp::llc_bytes_or(ctx.machine, 8 << 20);
  const std::size_t block = std::clamp<std::size_t>(std::bit_floor(l2 / 4), 16 << 10, 1 << 20);
  dp::SizeLimit limit = dp::limit_working_set(ctx.quick ? 2 * llc : 8 * llc, ctx.machine, ctx.quick, "the DRAM column");
  // Compressing the column (zstd: a few hundred MB/s) is paid before anything is timed, so a quick
  // run keeps its "DRAM" column small, whatever size of last-level cache the machine reports.
  constexpr std::uint64_t kQuickDramColumn = 32 << 20;
  if (ctx.quick && limit.bytes > kQuickDramColumn) {
    limit = {kQuickDramColumn, fmt::format("quick mode: the DRAM column is {} (a full run uses {}){}", dp::format_bytes(kQuickDramColumn),
                                           dp::format_bytes(8 * llc),
                                           kQuickDramColumn < 2 * llc ? fmt::format(", which this machine's {} last-level cache may hold", dp::format_bytes(llc)) : std::string())};
  }
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const std::size_t big = limit.bytes / 8 * 8, small = l2 / 2 / 8 * 8;
  if (codecs().size() < 2)
    ctx.result.notes.push_back("lz4 or zstd was not found when this was built (Debian liblz4-dev, libzstd-dev): "
                               "the codecs missing were left out.");

  // Our codec on what a sorted column never holds: every magnitude, both signs, and differences
  // that overflow int64 (the extremes), fresh in every run.
  std::vector<std::int64_t> wild = {0, INT64_MIN, INT64_MAX, INT64_MIN, -1, 1};
  for (int i = 0; i < 10000; ++i) wild.push_back(static_cast<std::int64_t>(rng() >> (rng() % 64)) * (rng() % 2 ? 1 : -1));
  const std::vector<std::uint8_t> wild_packed = dp::varint::encode(std::span<const std::int64_t>(wild));
  std::vector<std::int64_t> wild_back(wild.size());
  dp::varint::decode(std::span<const std::uint8_t>(wild_packed), std::span<std::int64_t>(wild_back));
  const auto differ = static_cast<std::size_t>(std::inner_product(wild.begin(), wild.end(), wild_back.begin(), std::ptrdiff_t{0},
                                                                  std::plus<>(), std::not_equal_to<>()));
  ctx.result.add_check("delta+varint, random int64 of every magnitude and sign: round trip", differ == 0,
                       fmt::format("{} of {} values differ after decoding", differ, wild.size()));

  const std::vector<std::int64_t> ts = timestamps(big / 8, rng);
  const ByteSource real = real_bytes(big);
  if (real.bytes.size() < small) throw dp::Error(fmt::format("too little real data: {} gave {} bytes", real.name, real.bytes.size()));
  ctx.result.notes.push_back(fmt::format("Real data: {}; {} of it used.", real.name, dp::format_bytes(real.bytes.size())));
  if (real.bytes.size() < big) ctx.result.notes.push_back("The real data is smaller than the DRAM size asked for: its DRAM column is all of it.");

  const auto cache_ts = run_column<std::int64_t>(ctx, "timestamps", "in cache", std::span(ts).first(small / 8), block);
  const auto cache_real = run_column<std::uint8_t>(ctx, "real data", "in cache", std::span(real.bytes).first(small), block);
  const auto dram_ts = run_column<std::int64_t>(ctx, "timestamps", "DRAM", ts, block);
  const auto dram_real = run_column<std::uint8_t>(ctx, "real data", "DRAM", real.bytes, block);

  ctx.result.headlines.push_back({fmt::format("timestamps in cache ({})", dp::format_bytes(small)), summary(cache_ts)});
  ctx.result.headlines.push_back({fmt::format("timestamps from DRAM ({})", dp::format_bytes(big)), summary(dram_ts)});
  ctx.result.headlines.push_back({fmt::format("real data in cache ({})", dp::format_bytes(small)), summary(cache_real)});
  ctx.result.headlines.push_back({fmt::format("real data from DRAM ({})", dp::format_bytes(real.bytes.size())), summary(dram_real)});
  const std::vector<dp::Marker> markers = {{static_cast<double>(l2), "L2"}, {static_cast<double>(llc), "LLC"}};
  for (const char* column : {"timestamps", "real data"}) {
    std::vector<std::string> names;
    for (const char* c : {"raw", "delta+varint", "lz4", "zstd -3"}) names.push_back(fmt::format("{}: {}", column, c));
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = column == std::string("timestamps") ? "timestamps" : "real", .title = fmt::format("decompress and sum: {}", column),
        .xlabel = "column bytes (raw)", .ylabel = "useful GB/s (raw bytes summed per second)", .y = dp::PlotSpec::Y::throughput,
        .logx = true, .logy = true, .variants = names, .markers = markers});
  }
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "ratio", .title = "from DRAM: speed against compression ratio",
      .xlabel = "compression ratio (raw bytes / stored bytes)", .ylabel = "useful GB/s (raw bytes summed per second)",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true});
  ctx.result.notes.push_back(fmt::format("lz4 and zstd work on blocks of {} (a quarter of L2), each decompressed into one buffer that stays in cache.", dp::format_bytes(block)));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "compression",
             .title = "Compression: decompress-and-sum, raw vs delta+varint vs lz4 vs zstd",
             .module = 3,
             .level = 3,
             .tracks = {},
             .question = "When is summing a compressed column faster than summing it raw?",
             .guide_page = "m3/compression.md",
             .source = "src/labs/m3/compression.cpp",
             .requires_gpu = {}},
    .params = {},
    .run = run,
});
