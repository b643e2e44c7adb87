// site.hpp — building the guide: stage a filtered copy of guide/docs, then run mkdocs on it.
//
// guide/ holds the sources: mkdocs.yml (theme, extensions), sections.json (the map of modules),
// docs/ (pages with front matter). A build never edits them. It stages into a folder:
//   <staging>/docs/       the pages this build includes, each with its badge written in, links to
//                         pages above the build's level turned into plain text that says how to
//                         unlock them, figures in docs/figures/ with captions naming their machine
//                         and linking the JSON of their run (copied beside them)
//   <staging>/mkdocs.yml  INHERITs guide/mkdocs.yml and adds docs_dir, site_dir and the nav
// and then runs `mkdocs build --strict` (any broken link or missing file fails the build).
//
// Index
//   GuideOptions        what to build and where
//   load_site()         read every page under guide/docs, the curriculum and the lab registry
//   stage_site()        write the staging folder; returns what it staged
//   build_site()        stage + mkdocs build --strict
//   serve_command()     stage, then the mkdocs serve command line to run
//   consistency_problems()  pages vs registry: every lab has a page, every labs: id exists, ...
//   default_guide_dir() dp::source_dir()/guide
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "guide/figures.hpp"
#include "guide/sections.hpp"
#include "guide/selection.hpp"

namespace dp::guide {

struct GuideOptions {
  std::string guide_dir;      // the sources; empty: default_guide_dir()
  std::string out_dir = "site";
  std::string staging_dir;    // empty: <out_dir>.staging beside the site
  Selection selection;
  FigureSources figures;
  std::vector<ExerciseEntry> exercises;  // their READMEs become pages (add_exercise_pages)
};

struct Site {
  std::string guide_dir;
  Curriculum curriculum;
  SiteIndex index;
};

struct StagedSite {
  std::string staging_dir;
  std::string config_path;               // <staging>/mkdocs.yml
  std::vector<std::string> pages;        // staged pages, relative to docs/
  std::vector<std::string> figures;      // staged figure files, relative to docs/
  std::vector<std::string> warnings;
};

std::string default_guide_dir();

// Throws dp::Error for a missing guide folder, a malformed page or sections.json.
Site load_site(const std::string& guide_dir, const Selection& selection,
               std::vector<LabEntry> labs);

// Adds each exercise's README as the page mN/exercises/<id>.md, with the exercise's level and
// tracks as its front matter. Throws dp::Error naming the README when it has no '# ' title.
void add_exercise_pages(Site& site, const std::vector<ExerciseEntry>& exercises);

StagedSite stage_site(const Site& site, const GuideOptions& options, std::ostream& log);

// Stages and builds; returns the staged site. Throws dp::Error with mkdocs's own output when
// mkdocs is missing or the build fails.
StagedSite build_site(const GuideOptions& options, std::ostream& log);

// Stages, and returns the argv of `mkdocs serve` for the staged site on 127.0.0.1:port.
std::vector<std::string> serve_command(const GuideOptions& options, int port, std::ostream& log);

// Problems between the pages and the lab registry, one line each (empty = consistent):
// a registered lab whose guide page is missing, a labs: id that is not registered, a lab page
// whose level or tracks differ from its lab's, a page that does not mention its lab's source file.
std::vector<std::string> consistency_problems(const Site& site);

}  // namespace dp::guide
