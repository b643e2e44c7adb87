// sections.hpp — the map of the guide: modules, their sections, and which labs exist yet.
//
// guide/sections.json lists every section of every module (from the curriculum) with its level,
// tracks, labs and hand-written pages. Each module's landing page (guide/docs/mN/index.md) holds
// the marker <!-- dontpanic:sections -->, which the build replaces with a table of the sections,
// marking each "ready" or "coming" from the lab registry, so the table is true on every build.
//
// Index
//   Section, Module, Curriculum   the contents of sections.json
//   load_curriculum()             parse and check sections.json
//   LabEntry                      what the guide needs to know about a registered lab
//   SiteIndex                     every page, the build's selection, the registered labs
//   section_table()               the Markdown table for a module's landing page
//   module_page_order()           the order of a module's pages in the navigation
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "guide/page.hpp"
#include "guide/selection.hpp"

namespace dp::guide {

struct Section {
  std::string title;
  int level = 1;
  int level_to = 0;                 // > level for a section that spans levels ("L1-L2")
  std::vector<std::string> tracks;
  std::vector<std::string> labs;    // lab ids whose pages belong to this section
  std::vector<std::string> pages;   // hand-written pages (relative to guide/docs)
  std::string tool;                 // a command the section is about ("dontpanic doctor")
  std::string note;                 // plain text for the lab column when there is no lab
};

struct Module {
  std::string dir;                  // "m1"
  std::string title;                // "Memory hierarchies and computational graphs"
  std::vector<Section> sections;
};

struct Curriculum {
  std::vector<Module> modules;
  const Module* find(const std::string& dir) const;
};

// Throws dp::Error naming the file and the entry for anything malformed.
Curriculum load_curriculum(const std::string& json_text, const std::string& file_name);

struct LabEntry {
  std::string id;
  std::string title;
  int module = 0;
  int level = 1;
  std::vector<std::string> tracks;
  std::string guide_page;           // relative to guide/docs
  std::string source;               // relative to the repository
};

std::vector<LabEntry> registered_labs();  // from dp::registry()

// An exercise (exercises/mN/<id>/): its README becomes the page mN/exercises/<id>.md, listed in
// the row of its module's "Exercises" section.
struct ExerciseEntry {
  std::string id;
  int module = 0;
  int level = 1;
  std::vector<std::string> tracks;
  std::string readme;  // path of its README.md
};
std::string exercise_page(const ExerciseEntry& e);  // "m1/exercises/transpose.md"

struct SiteIndex {
  std::map<std::string, Page> pages;  // every page under guide/docs, by path
  Selection selection;
  std::vector<LabEntry> labs;

  const LabEntry* find_lab(const std::string& id) const;
  bool exists(const std::string& page) const { return pages.count(page) > 0; }
  bool included(const std::string& page) const;
};

// The Markdown table of `module`'s sections, with links relative to mN/index.md. Registered labs
// of the module that sections.json does not list get rows of their own at the end.
std::string section_table(const Module& module, const SiteIndex& site);

// The module's included pages in navigation order: the index, then the sections' pages in
// curriculum order, then any other pages of the folder, by level and title.
std::vector<std::string> module_page_order(const Module* module, const std::string& dir,
                                           const SiteIndex& site);

}  // namespace dp::guide
