#include "guide/page.hpp"

#include <algorithm>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/lab.hpp"

namespace dp::guide {

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

bool is_lab_id(const std::string& id) {
  if (id.empty() || id.front() == '-' || id.back() == '-') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// "[a, b]" -> {"a", "b"}; "[]" -> {}.
std::vector<std::string> parse_flow_list(const std::string& value, const std::string& where) {
  if (value.size() < 2 || value.front() != '[' || value.back() != ']')
    throw Error(fmt::format("{}: expected a list such as [a, b] or [], got '{}'", where, value));
  std::vector<std::string> items;
  std::string inner = value.substr(1, value.size() - 2);
  std::istringstream in(inner);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = unquote(trim(item));
    if (item.empty()) {
      if (trim(inner).empty()) break;
      throw Error(fmt::format("{}: empty item in list '{}'", where, value));
    }
    items.push_back(item);
  }
  return items;
}

// The line where a fenced code block opens or closes ("```" or "~~~", any indentation).
bool is_fence(const std::string& line, std::string& fence) {
  const std::string t = trim(line);
  for (const char* mark : {"```", "~~~"}) {
    if (t.rfind(mark, 0) == 0) {
      if (fence.empty()) {
        fence = mark;
        return true;
      }
      if (fence == mark && t.find_first_not_of(mark[0]) == std::string::npos) {
        fence.clear();
        return true;
      }
    }
  }
  return false;
}

// Index of the bracket that closes the one at `open`, or npos.
std::size_t matching(const std::string& s, std::size_t open, char open_c, char close_c,
                     std::size_t limit) {
  int depth = 0;
  for (std::size_t i = open; i < limit; ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == open_c) ++depth;
    if (s[i] == close_c && --depth == 0) return i;
    if (s[i] == '\n' && i + 1 < limit && s[i + 1] == '\n') return std::string::npos;  // paragraph
  }
  return std::string::npos;
}

void scan_links(const std::string& body, std::size_t from, std::size_t to,
                std::vector<MarkdownLink>& out) {
  for (std::size_t i = from; i < to; ++i) {
    const char c = body[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '`') {  // skip an inline code span: a run of n backticks up to the next run of n
      std::size_t run = 0;
      while (i + run < to && body[i + run] == '`') ++run;
      const std::string ticks(run, '`');
      const std::size_t close = body.find(ticks, i + run);
      if (close == std::string::npos || close >= to) {
        i += run - 1;
        continue;
      }
      i = close + run - 1;
      continue;
    }
    if (c != '[') continue;
    const std::size_t close = matching(body, i, '[', ']', to);
    if (close == std::string::npos || close + 1 >= to || body[close + 1] != '(') continue;
    const std::size_t paren_close = matching(body, close + 1, '(', ')', to);
    if (paren_close == std::string::npos) continue;
    MarkdownLink link;
    link.image = i > 0 && body[i - 1] == '!';
    link.begin = link.image ? i - 1 : i;
    link.end = paren_close + 1;
    link.text = body.substr(i + 1, close - i - 1);
    std::string target = trim(body.substr(close + 2, paren_close - close - 2));
    if (const auto space = target.find_first_of(" \t"); space != std::string::npos)
      target = target.substr(0, space);  // drop a "title"
    if (target.size() >= 2 && target.front() == '<' && target.back() == '>')
      target = target.substr(1, target.size() - 2);
    link.target = target;
    out.push_back(link);
    scan_links(body, i + 1, close, out);  // an image inside a link's text
    i = paren_close;
  }
}

// A level as the front matter or a heading marker writes it: "3" -> 3; anything else -> 0.
int parse_level(const std::string& text) {
  try {
    std::size_t used = 0;
    const int level = std::stoi(text, &used);
    return used == text.size() ? level : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// An ATX heading at the start of a line: "## Title { data-level=3 }" -> rank 2, text "Title",
// attributes "data-level=3". rank is 0 when the line is not a heading.
struct Heading {
  int rank = 0;
  std::string text;
  std::string attributes;  // the inside of a trailing { ... } block (attr_list), without its ':'
};

Heading parse_heading(const std::string& line) {
  Heading h;
  std::size_t hashes = 0;
  while (hashes < line.size() && line[hashes] == '#') ++hashes;
  if (hashes == 0 || hashes > 6 || (hashes < line.size() && line[hashes] != ' ' && line[hashes] != '\t'))
    return h;
  h.rank = static_cast<int>(hashes);
  h.text = trim(line.substr(hashes));
  if (!h.text.empty() && h.text.back() == '}') {
    if (const auto open = h.text.rfind('{'); open != std::string::npos) {
      h.attributes = trim(h.text.substr(open + 1, h.text.size() - open - 2));
      if (!h.attributes.empty() && h.attributes.front() == ':') h.attributes = trim(h.attributes.substr(1));
      h.text = trim(h.text.substr(0, open));
    }
  }
  return h;
}

// The value of `key` in an attribute block ("data-level=3 .note" -> "3"); nullopt when absent.
std::optional<std::string> attribute(const std::string& attributes, const std::string& key) {
  std::istringstream in(attributes);
  std::string token;
  while (in >> token)
    if (token.rfind(key + "=", 0) == 0) return unquote(token.substr(key.size() + 1));
  return std::nullopt;
}

}  // namespace

Page parse_page(const std::string& path, const std::string& text) {
  const std::string file = "guide/docs/" + path;
  const auto lines = split_lines(text);
  if (lines.empty() || trim(lines[0]) != "---")
    throw Error(fmt::format(
        "{}: line 1: a page must start with front matter: a '---' line, then 'level: N', "
        "'tracks: [...]', 'labs: [...]', then '---'",
        file));

  Page page;
  page.path = path;
  bool has_level = false, has_tracks = false, has_labs = false;
  std::size_t n = 1;
  for (; n < lines.size() && trim(lines[n]) != "---"; ++n) {
    const std::string where = fmt::format("{}: line {}", file, n + 1);
    const std::string line = trim(lines[n]);
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos)
      throw Error(fmt::format("{}: expected 'key: value' in the front matter, got '{}'", where, line));
    const std::string key = trim(line.substr(0, colon));
    std::string value = trim(line.substr(colon + 1));
    if (const auto hash = value.find(" #"); hash != std::string::npos) value = trim(value.substr(0, hash));

    std::vector<std::string> list;
    if (key == "tracks" || key == "labs") {
      if (value.empty()) {  // a block list: "  - item" lines
        while (n + 1 < lines.size() && trim(lines[n + 1]).rfind("- ", 0) == 0)
          list.push_back(unquote(trim(trim(lines[++n]).substr(2))));
      } else {
        list = parse_flow_list(value, where);
      }
    }

    if (key == "level") {
      const int level = parse_level(value);
      if (level < 1 || level > 5)
        throw Error(fmt::format("{}: level '{}' is not valid; it must be a whole number from 1 to 5",
                                where, value));
      page.meta.level = level;
      has_level = true;
    } else if (key == "tracks") {
      for (const auto& track : list)
        if (std::find(kTracks.begin(), kTracks.end(), track) == kTracks.end())
          throw Error(fmt::format("{}: track '{}' is not known; tracks are dl, cg, cv, sp "
                                  "(or [] for a page every reader gets)",
                                  where, track));
      page.meta.tracks = list;
      has_tracks = true;
    } else if (key == "labs") {
      for (const auto& id : list)
        if (!is_lab_id(id))
          throw Error(fmt::format("{}: '{}' is not a lab id; lab ids are kebab-case, like "
                                  "access-patterns",
                                  where, id));
      page.meta.labs = list;
      has_labs = true;
    } else if (key == "title") {
      page.meta.title = unquote(value);
    } else {
      throw Error(fmt::format("{}: front matter key '{}' is not known; use level, tracks, labs "
                              "and optionally title",
                              where, key));
    }
  }
  if (n >= lines.size())
    throw Error(fmt::format("{}: the front matter that opens on line 1 is never closed with '---'",
                            file));
  const char* missing = !has_level ? "level" : !has_tracks ? "tracks" : !has_labs ? "labs" : nullptr;
  if (missing)
    throw Error(fmt::format("{}: the front matter has no '{}'; every page states level (1-5), "
                            "tracks (a list, [] for everyone) and labs (a list, [] for none)",
                            file, missing));

  page.body_first_line = n + 2;
  std::ostringstream body;
  std::string fence;
  for (std::size_t i = n + 1; i < lines.size(); ++i) {
    body << lines[i] << '\n';
    if (is_fence(lines[i], fence)) continue;
    if (fence.empty() && page.title.empty() && lines[i].rfind("# ", 0) == 0)
      page.title = trim(lines[i].substr(2));
  }
  page.body = body.str();
  if (!page.meta.title.empty()) page.title = page.meta.title;
  if (page.title.empty())
    throw Error(fmt::format("{}: the page has no '# Title' line; every page starts with one after "
                            "the front matter",
                            file));

  page.sections = find_leveled_sections(page.body);
  for (const auto& s : page.sections) {
    const std::string where = fmt::format("{}: line {}", file, page.body_first_line + s.body_line);
    if (s.level <= page.meta.level || s.level > 5)
      throw Error(fmt::format("{}: sub-section '{}' has data-level={}; a sub-section's level must be "
                              "a whole number above its page's level {} and at most 5 (a part of "
                              "the page's own level needs no marker)",
                              where, s.title, s.level_text, page.meta.level));
    for (const auto& outer : page.sections)
      if (outer.begin < s.begin && s.begin < outer.end && s.level < outer.level)
        throw Error(fmt::format("{}: sub-section '{}' (level {}) lies inside '{}' (level {}), which "
                                "a build below level {} leaves out whole; give it level {} or "
                                "more, or move it out",
                                where, s.title, s.level, outer.title, outer.level, outer.level,
                                outer.level));
  }
  return page;
}

std::vector<LeveledSection> find_leveled_sections(const std::string& body) {
  struct Line {
    std::size_t begin, next;  // the line's first byte, and the first byte after its '\n'
    Heading heading;          // rank 0 when not a heading (or inside fenced code)
  };
  std::vector<Line> lines;
  std::string fence;
  for (std::size_t begin = 0; begin < body.size();) {
    const std::size_t eol = std::min(body.find('\n', begin), body.size());
    const std::string text = body.substr(begin, eol - begin);
    Line line{begin, std::min(eol + 1, body.size()), {}};
    if (!is_fence(text, fence) && fence.empty()) line.heading = parse_heading(text);
    lines.push_back(line);
    begin = line.next;
  }

  std::vector<LeveledSection> sections;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Heading& h = lines[i].heading;
    if (h.rank == 0) continue;
    const auto level = attribute(h.attributes, "data-level");
    if (!level) continue;
    LeveledSection s;
    s.level_text = *level;
    s.level = parse_level(*level);
    s.rank = h.rank;
    s.title = h.text;
    s.begin = lines[i].begin;
    s.heading_end = lines[i].next;
    s.body_line = i;
    s.end = body.size();
    for (std::size_t j = i + 1; j < lines.size(); ++j)
      if (lines[j].heading.rank != 0 && lines[j].heading.rank <= h.rank) {
        s.end = lines[j].begin;
        break;
      }
    sections.push_back(s);
  }
  return sections;
}

Page at_level(const Page& page, int level) {
  // The outermost sub-sections above `level`; one nested inside them goes with them.
  std::vector<const LeveledSection*> dropped;
  for (const auto& s : page.sections)
    if (s.level > level && (dropped.empty() || s.begin >= dropped.back()->end)) dropped.push_back(&s);
  Page shown = page;
  for (auto it = dropped.rbegin(); it != dropped.rend(); ++it) {
    const auto& s = **it;
    const auto lines = std::count(page.body.begin() + static_cast<std::ptrdiff_t>(s.begin),
                                  page.body.begin() + static_cast<std::ptrdiff_t>(s.end), '\n');
    shown.body.replace(s.begin, s.end - s.begin, std::string(static_cast<std::size_t>(lines), '\n'));
  }
  shown.sections = find_leveled_sections(shown.body);
  return shown;
}

std::string front_matter_yaml(const Page& page) {
  const auto list = [](const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
    return out + "]";
  };
  const std::string title =
      page.path == "index.md" ? "" : fmt::format("title: {}\n", nlohmann::json(page.title).dump());
  return fmt::format("---\n{}level: {}\ntracks: {}\nlabs: {}\n---\n", title, page.meta.level,
                     list(page.meta.tracks), list(page.meta.labs));
}

std::vector<MarkdownLink> find_links(const std::string& body) {
  std::vector<MarkdownLink> links;
  std::string fence;
  std::size_t start = 0;
  std::size_t chunk_start = 0;  // the current stretch of prose (outside fences)
  while (start <= body.size()) {
    const std::size_t eol = std::min(body.find('\n', start), body.size());
    const std::string line = body.substr(start, eol - start);
    const bool was_in_fence = !fence.empty();
    if (is_fence(line, fence)) {
      if (!was_in_fence) scan_links(body, chunk_start, start, links);  // prose before the fence
      chunk_start = eol + 1;
    }
    if (eol == body.size()) break;
    start = eol + 1;
  }
  if (fence.empty() && chunk_start < body.size()) scan_links(body, chunk_start, body.size(), links);
  std::sort(links.begin(), links.end(),
            [](const MarkdownLink& a, const MarkdownLink& b) { return a.begin < b.begin; });
  return links;
}

std::string resolve_target(const std::string& page_path, const std::string& target) {
  std::string t = target.substr(0, target.find_first_of("#?"));
  if (t.empty() || t.front() == '/' || t.find(':') != std::string::npos) return "";
  std::vector<std::string> parts;
  const auto slash = page_path.rfind('/');
  std::string joined = slash == std::string::npos ? std::string() : page_path.substr(0, slash + 1);
  joined += t;
  std::istringstream in(joined);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return "../" + t;  // leaves the docs folder: matches no page
      parts.pop_back();
    } else {
      parts.push_back(part);
    }
  }
  return fmt::format("{}", fmt::join(parts, "/"));
}

std::vector<FigureRef> find_figures(const Page& page) {
  std::vector<FigureRef> figures;
  for (const auto& link : find_links(page.body)) {
    if (!link.image) continue;
    const std::string resolved = resolve_target(page.path, link.target);
    if (resolved.rfind("figures/", 0) != 0) continue;
    const std::string file = resolved.substr(8);
    const std::size_t line =
        page.body_first_line + std::count(page.body.begin(), page.body.begin() + link.begin, '\n');
    if (file.find('/') != std::string::npos || file.size() < 5 ||
        file.substr(file.size() - 4) != ".svg")
      throw Error(fmt::format("guide/docs/{}: line {}: figure '{}' must be an SVG directly under "
                              "figures/, named <lab-id>-<plot>.svg",
                              page.path, line, link.target));
    FigureRef ref;
    ref.link = link;
    ref.file = file;
    for (const auto& lab : page.meta.labs)  // the longest lab id that prefixes the name wins
      if (file.rfind(lab + "-", 0) == 0 && lab.size() > ref.lab.size()) ref.lab = lab;
    if (ref.lab.empty()) {
      const std::string labs = fmt::format("{}", fmt::join(page.meta.labs, ", "));
      throw Error(fmt::format("guide/docs/{}: line {}: figure '{}' does not start with the id of a "
                              "lab in this page's labs: [{}]; name it <lab-id>-<plot>.svg and list "
                              "the lab in the front matter",
                              page.path, line, file, labs));
    }
    ref.plot = file.substr(ref.lab.size() + 1, file.size() - ref.lab.size() - 5);
    figures.push_back(ref);
  }
  return figures;
}

}  // namespace dp::guide
