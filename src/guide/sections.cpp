#include "guide/sections.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/lab.hpp"

namespace dp::guide {

namespace {

std::vector<std::string> string_list(const nlohmann::json& j, const char* key,
                                     const std::string& where) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j.at(key).is_array()) throw Error(fmt::format("{}: '{}' must be a list of strings", where, key));
  for (const auto& item : j.at(key)) {
    if (!item.is_string()) throw Error(fmt::format("{}: '{}' must be a list of strings", where, key));
    out.push_back(item.get<std::string>());
  }
  return out;
}

// A link from one page to another, both relative to guide/docs: ("m1/index.md", "m0/a.md") -> "../m0/a.md".
std::string relative_link(const std::string& from, const std::string& to) {
  const auto dir_of = [](const std::string& p) {
    const auto slash = p.rfind('/');
    return slash == std::string::npos ? std::string() : p.substr(0, slash + 1);
  };
  const std::string from_dir = dir_of(from);
  if (!from_dir.empty() && to.rfind(from_dir, 0) == 0) return to.substr(from_dir.size());
  std::string up;
  for (char c : from_dir)
    if (c == '/') up += "../";
  return up + to;
}

std::string level_text(const Section& s) {
  std::string text = s.level_to > s.level ? fmt::format("L{}–L{}", s.level, s.level_to)
                                          : fmt::format("L{}", s.level);
  for (const auto& t : s.tracks) {
    std::string upper = t;
    for (auto& c : upper) c = static_cast<char>(c - 'a' + 'A');
    text += " · " + upper;
  }
  return text;
}

std::string escape_cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

struct Row {
  std::string section;
  std::string level;
  std::string lab;
  std::string status;
};

Row section_row(const Section& s, const std::string& index_page, const SiteIndex& site) {
  // The pages that belong to the section: hand-written ones, then the guide pages of its labs.
  std::vector<std::string> pages = s.pages;
  std::size_t ready = 0;
  bool lab_without_page = false;
  for (const auto& id : s.labs) {
    if (const LabEntry* lab = site.find_lab(id)) {
      ++ready;
      if (site.exists(lab->guide_page)) {
        if (std::find(pages.begin(), pages.end(), lab->guide_page) == pages.end())
          pages.push_back(lab->guide_page);
      } else {
        lab_without_page = true;
      }
    }
  }

  Row row;
  row.level = level_text(s);
  if (!s.labs.empty()) {
    for (const auto& id : s.labs) row.lab += fmt::format("{}`{}`", row.lab.empty() ? "" : ", ", id);
  } else if (!s.tool.empty()) {
    row.lab = fmt::format("`{}`", s.tool);
  } else if (!s.note.empty()) {
    row.lab = escape_cell(s.note);
  } else {
    row.lab = "—";
  }

  // The title links to the first page this build contains; further pages follow by title.
  std::vector<std::string> shown, hidden;
  for (const auto& p : pages) {
    if (!site.exists(p)) continue;
    (site.included(p) ? shown : hidden).push_back(p);
  }
  row.section = escape_cell(s.title);
  if (!shown.empty()) {
    row.section = fmt::format("[{}]({})", escape_cell(s.title), relative_link(index_page, shown[0]));
    for (std::size_t i = 1; i < shown.size(); ++i)
      row.section += fmt::format("<br>↳ [{}]({})", escape_cell(site.pages.at(shown[i]).title),
                                 relative_link(index_page, shown[i]));
  }

  const bool pages_written =
      !s.pages.empty() &&
      std::all_of(s.pages.begin(), s.pages.end(), [&](const std::string& p) { return site.exists(p); });
  // Ready when its labs are registered and its pages written; "coming" until then.
  const std::string labs_state =
      s.labs.empty() || ready == s.labs.size() ? ""
      : ready == 0 ? (s.labs.size() == 1 ? "lab coming" : "labs coming")
                   : fmt::format("{} of {} labs ready", ready, s.labs.size());
  if (s.labs.empty()) {
    row.status = pages_written ? "ready" : "coming";
  } else if (s.pages.empty()) {
    row.status = ready == 0 ? "coming" : labs_state.empty() ? "ready" : labs_state;
    if (ready > 0 && lab_without_page) row.status += " (page coming)";
  } else if (!pages_written) {
    row.status = "coming";
  } else {
    row.status = labs_state.empty() ? "ready" : "text ready, " + labs_state;
  }
  if (shown.empty() && !hidden.empty()) {  // written, but above this build's level or tracks
    const Page& p = site.pages.at(hidden[0]);
    row.status += fmt::format(" — build with `{}`",
                              site.selection.options_to_include(p.meta.level, p.meta.tracks));
  }
  return row;
}

}  // namespace

const Module* Curriculum::find(const std::string& dir) const {
  for (const auto& m : modules)
    if (m.dir == dir) return &m;
  return nullptr;
}

Curriculum load_curriculum(const std::string& json_text, const std::string& file_name) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON ({})", file_name, e.what()));
  }
  if (!j.contains("modules") || !j.at("modules").is_array())
    throw Error(fmt::format("{}: expected an object with a 'modules' list", file_name));
  Curriculum c;
  for (const auto& jm : j.at("modules")) {
    Module m;
    m.dir = jm.value("dir", "");
    m.title = jm.value("title", "");
    const std::string where_m = fmt::format("{}: module '{}'", file_name, m.dir);
    if (m.dir.empty() || m.title.empty())
      throw Error(where_m + ": every module needs a 'dir' (like \"m1\") and a 'title'");
    for (const auto& js : jm.value("sections", nlohmann::json::array())) {
      Section s;
      s.title = js.value("title", "");
      const std::string where = fmt::format("{}, section '{}'", where_m, s.title);
      if (s.title.empty()) throw Error(where_m + ": a section has no 'title'");
      s.level = js.value("level", 0);
      s.level_to = js.value("level_to", 0);
      if (s.level < 1 || s.level > 5 || (s.level_to && (s.level_to < s.level || s.level_to > 5)))
        throw Error(where + ": 'level' must be 1..5 (and 'level_to', when given, level..5)");
      s.tracks = string_list(js, "tracks", where);
      for (const auto& t : s.tracks)
        if (std::find(kTracks.begin(), kTracks.end(), t) == kTracks.end())
          throw Error(fmt::format("{}: track '{}' is not known; tracks are dl, cg, cv, sp", where, t));
      s.labs = string_list(js, "labs", where);
      s.pages = string_list(js, "pages", where);
      s.tool = js.value("tool", "");
      s.note = js.value("note", "");
      m.sections.push_back(std::move(s));
    }
    c.modules.push_back(std::move(m));
  }
  return c;
}

std::vector<LabEntry> registered_labs() {
  std::vector<LabEntry> labs;
  for (const auto& def : registry()) {
    const auto& i = def.info;
    labs.push_back({i.id, i.title, i.module, i.level, i.tracks, i.guide_page, i.source});
  }
  return labs;
}

std::string exercise_page(const ExerciseEntry& e) {
  return fmt::format("m{}/exercises/{}.md", e.module, e.id);
}

const LabEntry* SiteIndex::find_lab(const std::string& id) const {
  for (const auto& lab : labs)
    if (lab.id == id) return &lab;
  return nullptr;
}

bool SiteIndex::included(const std::string& page) const {
  const auto it = pages.find(page);
  return it != pages.end() && selection.includes(it->second.meta);
}

std::string section_table(const Module& module, const SiteIndex& site) {
  const std::string index_page = module.dir + "/index.md";
  std::vector<Row> rows;
  std::set<std::string> listed;
  for (const auto& s : module.sections) {
    if (s.title == "Exercises" && s.labs.empty() && s.pages.empty()) {
      // The module's exercises are the pages under mN/exercises/ (from exercises/mN/, see
      // add_exercise_pages): listed by level, then title.
      Section with_pages = s;
      std::vector<const Page*> found;
      for (const auto& [path, page] : site.pages)
        if (path.rfind(module.dir + "/exercises/", 0) == 0) found.push_back(&page);
      std::sort(found.begin(), found.end(), [](const Page* a, const Page* b) {
        return std::tie(a->meta.level, a->title) < std::tie(b->meta.level, b->title);
      });
      for (const Page* p : found) with_pages.pages.push_back(p->path);
      if (with_pages.pages.empty()) with_pages.note = "none yet";
      else with_pages.tool = "dontpanic exercise list";
      rows.push_back(section_row(with_pages, index_page, site));
      continue;
    }
    rows.push_back(section_row(s, index_page, site));
    listed.insert(s.labs.begin(), s.labs.end());
  }
  for (const auto& lab : site.labs) {  // labs that sections.json does not know yet
    if ("m" + std::to_string(lab.module) != module.dir || listed.count(lab.id)) continue;
    Section s;
    s.title = lab.title;
    s.level = lab.level;
    s.tracks = lab.tracks;
    s.labs = {lab.id};
    rows.push_back(section_row(s, index_page, site));
  }

  // Three columns, so that the table fits a phone: the status goes under the lab.
  std::string out = "| Section | Level | Lab and status |\n|---|---|---|\n";
  for (const auto& r : rows) {
    const char* kind = r.status.rfind("ready", 0) == 0                ? "ready"
                       : r.status.find("ready") != std::string::npos ? "partial"
                                                                     : "coming";
    out += fmt::format("| {} | {} | {}<br><span class=\"dp-status dp-status--{}\">{}</span> |\n",
                       r.section, r.level, r.lab, kind, r.status);
  }
  return out;
}

std::vector<std::string> module_page_order(const Module* module, const std::string& dir,
                                           const SiteIndex& site) {
  std::vector<std::string> order;
  const auto add = [&](const std::string& page) {
    if (page.rfind(dir + "/", 0) == 0 && site.included(page) &&
        std::find(order.begin(), order.end(), page) == order.end())
      order.push_back(page);
  };
  add(dir + "/index.md");
  if (module) {
    for (const auto& s : module->sections) {
      for (const auto& p : s.pages) add(p);
      for (const auto& id : s.labs)
        if (const LabEntry* lab = site.find_lab(id)) add(lab->guide_page);
    }
  }
  std::vector<const Page*> rest;
  for (const auto& [path, page] : site.pages)
    if (path.rfind(dir + "/", 0) == 0 && site.included(path) &&
        std::find(order.begin(), order.end(), path) == order.end())
      rest.push_back(&page);
  std::sort(rest.begin(), rest.end(), [](const Page* a, const Page* b) {
    return std::tie(a->meta.level, a->title) < std::tie(b->meta.level, b->title);
  });
  for (const Page* p : rest) order.push_back(p->path);
  return order;
}

}  // namespace dp::guide
