#include "guide/site.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/source_tree.hpp"
#include "core/lab.hpp"
#include "core/plot.hpp"
#include "core/process.hpp"
#include "guide/caption.hpp"

namespace dp::guide {

namespace fs = std::filesystem;

namespace {

const char* const kSectionsMarker = "<!-- dontpanic:sections -->";
const char* const kBuildMarker = "<!-- dontpanic:build -->";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw Error(fmt::format("cannot write {}: is the folder writable?", path.string()));
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string yaml_string(const std::string& s) { return nlohmann::json(s).dump(); }

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return s;
}

// The badge line written under a page's title: level, tracks, labs.
std::string page_badges(const Page& page) {
  std::string html = fmt::format(
      "<p class=\"dp-badges\"><span class=\"dp-badge dp-badge--level\" title=\"Level {0} of 5: "
      "the guide's {0}. reading pass unlocks this page\">Level {0}</span>",
      page.meta.level);
  if (page.meta.tracks.empty()) {
    html += " <span class=\"dp-badge dp-badge--common\" title=\"Part of every track\">every track</span>";
  } else {
    for (const auto& t : page.meta.tracks)
      html += fmt::format(" <span class=\"dp-badge dp-badge--track\" title=\"Track {} ({})\">{} · {}</span>",
                          upper(t), track_name(t), upper(t), track_name(t));
  }
  for (const auto& lab : page.meta.labs)
    html += fmt::format(" <span class=\"dp-badge dp-badge--lab\" title=\"Run it: dontpanic run {0}\">lab <code>{0}</code></span>", lab);
  return html + "</p>";
}

// The badge under the heading of a sub-section whose level is above its page's.
std::string section_badge(int level) {
  return fmt::format(
      "<p class=\"dp-badges\"><span class=\"dp-badge dp-badge--level\" title=\"Level {0} of 5: "
      "builds of level {0} and above include this section\">Level {0}</span></p>",
      level);
}

std::string nav_title(const Page& page, const std::string& label) {
  std::string tip = fmt::format("Level {}", page.meta.level);
  for (const auto& t : page.meta.tracks) tip += fmt::format(", {} track", track_name(t));
  return fmt::format("{} <span class=\"dp-nav-badge\" title=\"{}\">{}</span>", html_escape(label), tip,
                     badge_text(page.meta.level, page.meta.tracks));
}

std::size_t line_start(const std::string& body, std::size_t pos) {
  const auto nl = body.rfind('\n', pos == 0 ? 0 : pos - 1);
  return pos == 0 || nl == std::string::npos ? 0 : nl + 1;
}

// Inserts the badges after the first '# ' heading outside fenced code.
std::string insert_badges(const std::string& body, const Page& page) {
  std::istringstream in(body);
  std::string line, out;
  bool done = false, in_fence = false;
  while (std::getline(in, line)) {
    out += line + '\n';
    const auto t = line.find_first_not_of(' ');
    if (t != std::string::npos && (line.compare(t, 3, "```") == 0 || line.compare(t, 3, "~~~") == 0))
      in_fence = !in_fence;
    if (!done && !in_fence && line.rfind("# ", 0) == 0) {
      out += "\n" + page_badges(page) + "\n";
      done = true;
    }
  }
  return out;
}

// Inserts a level badge under the heading of each leveled sub-section the build kept.
std::string insert_section_badges(std::string body) {
  const auto sections = find_leveled_sections(body);
  for (auto it = sections.rbegin(); it != sections.rend(); ++it) {
    const bool ends_in_newline = it->heading_end > it->begin && body[it->heading_end - 1] == '\n';
    body.insert(it->heading_end, fmt::format("{}\n{}\n", ends_in_newline ? "" : "\n", section_badge(it->level)));
  }
  return body;
}

fs::path default_staging(const fs::path& out_dir) {
  const auto key = std::hash<std::string>{}(fs::absolute(out_dir).lexically_normal().string());
  return fs::temp_directory_path() / fmt::format("dontpanic-guide-{}-{:x}", getuid(), key);
}

// mkdocs empties site_dir before building: refuse a folder that is not an earlier build.
void check_out_dir(const fs::path& out, const fs::path& guide_dir) {
  const fs::path abs = fs::weakly_canonical(fs::absolute(out));
  const fs::path guide = fs::weakly_canonical(fs::absolute(guide_dir));
  const auto inside = [](const fs::path& a, const fs::path& b) {  // a == b or a inside b
    auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    return ib == b.end();
  };
  if (inside(guide, abs) || inside(abs, guide))
    throw Error(fmt::format("--out {} would overlap the guide's sources in {}; choose a separate "
                            "folder such as 'site'",
                            out.string(), guide_dir.string()));
  std::error_code ec;
  if (fs::exists(abs) && !fs::is_directory(abs))
    throw Error(fmt::format("--out {} is a file, not a folder; the site needs a folder of its own: "
                            "choose a new or empty folder such as 'site'",
                            out.string()));
  if (fs::exists(abs) && !fs::is_empty(abs, ec) &&
      !(fs::exists(abs / "index.html") && fs::exists(abs / "sitemap.xml")))
    throw Error(fmt::format("--out {} exists and is not an earlier build of the guide, and mkdocs "
                            "would empty it; choose a new or empty folder",
                            out.string()));
}

// A figure with its caption: the page's own text, where the run came from (caption_note), and
// a link to the JSON of that run, which the site holds beside the figure.
std::string figure_html(const FigureRef& fig, const std::string& indent, const ProvidedFigure& provided) {
  const std::string folder = fig.link.target.substr(0, fig.link.target.rfind('/') + 1);
  const std::string text = fig.link.text.empty() || fig.link.text.back() == '.' ? fig.link.text : fig.link.text + ".";
  std::string origin;
  if (!provided.committed_from.empty())
    origin = fmt::format(" Not this machine: the run this guide was built from measured {} size{}, too "
                         "few for a curve, so this is the full run kept in <code>{}</code>.",
                         provided.own_points, provided.own_points == 1 ? "" : "s",
                         html_escape(provided.committed_from));
  return fmt::format("<figure class=\"dp-figure\" markdown>\n{0}[![{1}]({2})]({2})\n{0}<figcaption>"
                     "{3}{4} {5} <a href=\"{6}{7}\">The numbers ({7})</a></figcaption>\n{0}</figure>",
                     indent, fig.link.text, fig.link.target, html_escape(text), origin,
                     html_escape(caption_note(*provided.result)), folder, provided.json_file);
}

// In place of a figure whose run has too few points to draw a curve (a quick run of a lab whose
// sizes are expensive), when no full run of it is kept in bench/results.
std::string unpublished_figure_html(const FigureRef& fig, const ProvidedFigure& provided) {
  return fmt::format("<p class=\"dp-figure-missing\">The figure <code>{}</code> needs at least {} "
                     "sizes to show a curve, and the run this copy of the guide was built from measured "
                     "{}. Run it at full size to see the curve: <code>dontpanic run {}</code>, then build "
                     "the guide again.</p>",
                     fig.file, kMinCurvePoints, provided.own_points, fig.lab);
}

struct Replacement {
  std::size_t begin, end;
  std::string text;
};

}  // namespace

std::string default_guide_dir() {
  return (dp::source_dir() / "guide").string();
}

Site load_site(const std::string& guide_dir, const Selection& selection, std::vector<LabEntry> labs) {
  const fs::path root(guide_dir);
  const fs::path docs = root / "docs";
  if (!fs::is_directory(docs) || !fs::exists(root / "mkdocs.yml"))
    throw Error(fmt::format("{} is not the guide's folder (it needs mkdocs.yml and docs/); run "
                            "from the repository or pass the right folder",
                            guide_dir));
  Site site;
  site.guide_dir = guide_dir;
  site.curriculum = load_curriculum(read_file(root / "sections.json"), (root / "sections.json").string());
  site.index.selection = selection;
  site.index.labs = std::move(labs);
  for (const auto& entry : fs::recursive_directory_iterator(docs)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".md") continue;
    const std::string rel = fs::relative(entry.path(), docs).generic_string();
    site.index.pages.emplace(rel, parse_page(rel, read_file(entry.path())));
  }
  if (!site.index.exists("index.md"))
    throw Error(fmt::format("{}/docs/index.md (the home page) is missing", guide_dir));
  return site;
}

void add_exercise_pages(Site& site, const std::vector<ExerciseEntry>& exercises) {
  for (const auto& e : exercises) {
    const std::string path = exercise_page(e);
    const std::string front = fmt::format("---\nlevel: {}\ntracks: [{}]\nlabs: []\n---\n", e.level, fmt::join(e.tracks, ", "));
    const std::string readme = read_file(e.readme);
    try {
      site.index.pages.insert_or_assign(path, parse_page(path, front + readme));
    } catch (const Error& err) {
      throw Error(fmt::format("{} (the README of exercise {}): {}", e.readme, e.id, err.what()));
    }
  }
}

StagedSite stage_site(const Site& site, const GuideOptions& options, std::ostream& log) {
  const SiteIndex& index = site.index;
  const Selection& sel = index.selection;
  StagedSite staged;
  staged.staging_dir = (options.staging_dir.empty() ? default_staging(options.out_dir)
                                                    : fs::path(options.staging_dir))
                           .string();
  const fs::path docs_in = fs::path(site.guide_dir) / "docs";
  const fs::path docs_out = fs::path(staged.staging_dir) / "docs";
  std::error_code ec;
  fs::remove_all(docs_out, ec);
  fs::create_directories(docs_out);

  // Files that are not pages (stylesheets, pictures) travel as they are; figures/ is generated.
  for (const auto& entry : fs::recursive_directory_iterator(docs_in)) {
    const std::string rel = fs::relative(entry.path(), docs_in).generic_string();
    if (!entry.is_regular_file() || entry.path().extension() == ".md" || rel.rfind("figures/", 0) == 0)
      continue;
    fs::create_directories((docs_out / rel).parent_path());
    fs::copy_file(entry.path(), docs_out / rel, fs::copy_options::overwrite_existing);
  }

  FigureProvider figures(options.figures, log);
  const fs::path figures_out = docs_out / "figures";
  std::set<std::string> staged_figures;
  {
    std::vector<FigureRef> wanted;  // every figure this build shows: say up front what must run
    for (const auto& [path, page] : index.pages)
      if (sel.includes(page.meta))
        for (const auto& fig : find_figures(at_level(page, sel.level))) wanted.push_back(fig);
    figures.plan(wanted);
  }

  for (const auto& [path, source] : index.pages) {
    if (!sel.includes(source.meta)) continue;
    const Page page = at_level(source, sel.level);  // without its sub-sections above the level
    std::vector<Replacement> edits;

    // Links to pages above this build's level or outside its tracks become text with a badge
    // saying how to unlock them, so a level-1 build has no broken links.
    for (const auto& link : find_links(page.body)) {
      if (link.image) continue;
      const std::string target = resolve_target(path, link.target);
      if (!index.exists(target) || index.included(target)) continue;
      const PageMeta& meta = index.pages.at(target).meta;
      const std::string options_text = sel.options_to_include(meta.level, meta.tracks);
      edits.push_back({link.begin, link.end,
                       fmt::format("{} <span class=\"dp-locked\" title=\"Not in this build: add {} "
                                   "to dontpanic guide build\">{}</span>",
                                   link.text, options_text, badge_text(meta.level, meta.tracks))});
    }

    // Figures: drawn from the newest result of their lab, captioned with its machine and date.
    for (const auto& fig : find_figures(page)) {
      const std::size_t start = line_start(page.body, fig.link.begin);
      const std::size_t eol = std::min(page.body.find('\n', fig.link.end), page.body.size());
      const auto blank = [](const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; };
      if (!blank(page.body.substr(start, fig.link.begin - start)) ||
          !blank(page.body.substr(fig.link.end, eol - fig.link.end)))
        throw Error(fmt::format("guide/docs/{}: figure '{}' must stand alone on its line, so that "
                                "it can get its caption",
                                path, fig.file));
      const std::string indent = page.body.substr(start, fig.link.begin - start);
      ProvidedFigure provided;
      try {
        provided = figures.provide(fig, path, figures_out.string());
      } catch (const Unavailable& e) {  // e.g. a GPU lab on a machine without Vulkan
        staged.warnings.push_back(fmt::format("guide/docs/{}: figure {} left out: {}", path, fig.file, e.what()));
        edits.push_back({fig.link.begin, fig.link.end,
                         fmt::format("<p class=\"dp-figure-missing\">The figure <code>{}</code> could "
                                     "not be drawn on the machine that built this copy of the guide: "
                                     "{}. Run <code>dontpanic run {}</code> where it can run, then "
                                     "build the guide again.</p>",
                                     fig.file, html_escape(e.what()), fig.lab)});
        continue;
      }
      if (!provided.result) {
        staged.warnings.push_back(fmt::format("guide/docs/{}: figure {} left out: its run measured {} "
                                              "x value(s), too few for a curve, and bench/results has "
                                              "no full run of it",
                                              path, fig.file, provided.own_points));
        edits.push_back({fig.link.begin, fig.link.end, unpublished_figure_html(fig, provided)});
        continue;
      }
      staged_figures.insert("figures/" + fig.file);
      staged_figures.insert("figures/" + provided.json_file);
      edits.push_back({fig.link.begin, fig.link.end, figure_html(fig, indent, provided)});
    }

    std::sort(edits.begin(), edits.end(), [](const Replacement& a, const Replacement& b) {
      return a.begin > b.begin;
    });
    std::string body = page.body;
    std::size_t applied_from = body.size() + 1;
    for (const auto& e : edits) {
      if (e.end > applied_from) continue;  // nested inside an edit already made
      body.replace(e.begin, e.end - e.begin, e.text);
      applied_from = e.begin;
    }

    if (const auto at = body.find(kSectionsMarker); at != std::string::npos) {
      const std::string dir = path.substr(0, path.find('/'));
      const Module* module = site.curriculum.find(dir);
      if (!module || path != dir + "/index.md")
        throw Error(fmt::format("guide/docs/{}: the sections marker belongs on a module's landing "
                                "page (mN/index.md listed in guide/sections.json)",
                                path));
      body.replace(at, std::string(kSectionsMarker).size(), section_table(*module, index));
    }
    if (const auto at = body.find(kBuildMarker); at != std::string::npos) {
      body.replace(at, std::string(kBuildMarker).size(),
                   fmt::format("<p class=\"dp-build\">This copy of the guide holds <strong>{}</strong>. "
                               "Build another with <code>dontpanic guide build --level N "
                               "[--track dl|cg|cv|sp|all]</code>. Search works in the copy that "
                               "<code>dontpanic guide serve</code> shows, not in one opened from "
                               "disk.</p>",
                               html_escape(sel.describe())));
    }

    write_file(docs_out / path, front_matter_yaml(page) + insert_badges(insert_section_badges(body), page));
    staged.pages.push_back(path);
  }
  staged.figures.assign(staged_figures.begin(), staged_figures.end());
  staged.warnings.insert(staged.warnings.end(), figures.warnings().begin(), figures.warnings().end());

  // The navigation: home and other top-level pages, then each module in curriculum order.
  std::string nav = "nav:\n";
  for (const auto& p : staged.pages)
    if (p.find('/') == std::string::npos)
      nav += fmt::format("  - {}: {}\n",
                         yaml_string(nav_title(index.pages.at(p), p == "index.md" ? "Home" : index.pages.at(p).title)), p);
  std::vector<std::string> dirs;
  for (const auto& m : site.curriculum.modules) dirs.push_back(m.dir);
  for (const auto& p : staged.pages)
    if (const auto slash = p.find('/'); slash != std::string::npos &&
        std::find(dirs.begin(), dirs.end(), p.substr(0, slash)) == dirs.end())
      dirs.push_back(p.substr(0, slash));
  for (const auto& dir : dirs) {
    const Module* module = site.curriculum.find(dir);
    const auto order = module_page_order(module, dir, index);
    if (order.empty()) continue;
    nav += fmt::format("  - {}:\n", yaml_string(module ? upper(dir) + " · " + module->title : dir));
    for (const auto& p : order) {
      if (p == dir + "/index.md") nav += fmt::format("    - {}\n", p);
      else nav += fmt::format("    - {}: {}\n", yaml_string(nav_title(index.pages.at(p), index.pages.at(p).title)), p);
    }
  }

  // guide/hooks/*.py: small mkdocs hooks (named here, since INHERIT resolves paths from the staging).
  std::string hooks;
  if (const fs::path dir = fs::path(site.guide_dir) / "hooks"; fs::is_directory(dir)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".py") files.push_back(fs::absolute(entry.path()).string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) hooks += fmt::format("{}  - {}\n", hooks.empty() ? "hooks:\n" : "", yaml_string(f));
  }
  staged.config_path = (fs::path(staged.staging_dir) / "mkdocs.yml").string();
  write_file(staged.config_path,
             fmt::format("# Generated by `dontpanic guide build` ({}); edit guide/mkdocs.yml instead.\n"
                         "INHERIT: {}\ndocs_dir: {}\nsite_dir: {}\n{}{}",
                         sel.describe(),
                         yaml_string(fs::absolute(fs::path(site.guide_dir) / "mkdocs.yml").string()),
                         yaml_string(fs::absolute(docs_out).string()),
                         yaml_string(fs::absolute(options.out_dir).lexically_normal().string()),
                         hooks, nav));
  return staged;
}

namespace {
std::string mkdocs_program() {
  if (!find_program("mkdocs"))
    throw Error("mkdocs is not installed; install the Debian packages mkdocs, mkdocs-material and "
                "python3-pymdownx (tools/setup does it)");
  return "mkdocs";
}
}  // namespace

StagedSite build_site(const GuideOptions& options, std::ostream& log) {
  const std::string guide_dir = options.guide_dir.empty() ? default_guide_dir() : options.guide_dir;
  check_out_dir(options.out_dir, guide_dir);
  const std::string mkdocs = mkdocs_program();
  Site site = load_site(guide_dir, options.selection, registered_labs());
  add_exercise_pages(site, options.exercises);
  StagedSite staged = stage_site(site, options, log);
  const ProcessResult r =
      run_process({mkdocs, "build", "--strict", "--clean", "-f", staged.config_path}, "", 600);
  if (r.exit_code != 0) {
    std::string hint;
    if (r.output.find("Unrecognised theme name") != std::string::npos)
      hint = "\nthe theme is missing: install the Debian package mkdocs-material";
    else if (r.output.find("pymdownx") != std::string::npos)
      hint = "\nan extension is missing: install the Debian package python3-pymdownx";
    throw Error(fmt::format("mkdocs build --strict failed{}:\n{}{}\n(the staged sources are in {})",
                            r.timed_out ? " (timed out)" : "", r.output, hint, staged.staging_dir));
  }
  return staged;
}

std::vector<std::string> serve_command(const GuideOptions& options, int port, std::ostream& log) {
  if (port < 1 || port > 65535)
    throw Error(fmt::format("--port {} is not valid; use a port from 1 to 65535, such as 8000", port));
  const std::string guide_dir = options.guide_dir.empty() ? default_guide_dir() : options.guide_dir;
  const std::string mkdocs = mkdocs_program();
  Site site = load_site(guide_dir, options.selection, registered_labs());
  add_exercise_pages(site, options.exercises);
  const StagedSite staged = stage_site(site, options, log);
  return {mkdocs, "serve", "--strict", "-f", staged.config_path, "-a", fmt::format("127.0.0.1:{}", port)};
}

std::vector<std::string> consistency_problems(const Site& site) {
  std::vector<std::string> problems;
  const SiteIndex& index = site.index;
  for (const auto& lab : index.labs) {
    if (lab.guide_page.empty()) {
      problems.push_back(fmt::format("lab '{}' names no guide page (LabInfo.guide_page)", lab.id));
      continue;
    }
    const auto it = index.pages.find(lab.guide_page);
    if (it == index.pages.end()) {
      problems.push_back(fmt::format("lab '{}': its guide page guide/docs/{} does not exist", lab.id,
                                     lab.guide_page));
      continue;
    }
    const Page& page = it->second;
    const std::string file = "guide/docs/" + page.path;
    if (std::find(page.meta.labs.begin(), page.meta.labs.end(), lab.id) == page.meta.labs.end())
      problems.push_back(fmt::format("{}: is the page of lab '{}' but its labs: does not list it", file, lab.id));
    if (page.meta.level != lab.level)
      problems.push_back(fmt::format("{}: level {} but lab '{}' is level {}", file, page.meta.level, lab.id, lab.level));
    if (std::set(page.meta.tracks.begin(), page.meta.tracks.end()) !=
        std::set(lab.tracks.begin(), lab.tracks.end()))
      problems.push_back(fmt::format("{}: tracks [{}] differ from lab '{}' tracks [{}]", file,
                                     fmt::join(page.meta.tracks, ", "), lab.id, fmt::join(lab.tracks, ", ")));
    if (!lab.source.empty() && page.body.find(lab.source) == std::string::npos)
      problems.push_back(fmt::format("{}: does not name lab '{}' source file `{}`", file, lab.id, lab.source));
  }
  for (const auto& [path, page] : index.pages)
    for (const auto& id : page.meta.labs)
      if (!index.find_lab(id)) {
        std::string nearest;
        for (const auto& lab : index.labs)
          if (nearest.empty() || edit_distance(id, lab.id) < edit_distance(id, nearest)) nearest = lab.id;
        problems.push_back(fmt::format("guide/docs/{}: labs: lists '{}', which is not a registered lab{}",
                                       path, id, nearest.empty() ? std::string() : " (nearest: " + nearest + ")"));
      }
  return problems;
}

}  // namespace dp::guide
