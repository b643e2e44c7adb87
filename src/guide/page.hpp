// page.hpp — one page of the guide: its front matter, its title, the links and figures it holds.
//
// Every page under guide/docs starts with a small front matter block:
//
//   ---
//   level: 2                 # 1..5: the reading pass that unlocks this page
//   tracks: [dl]             # specialization tracks (dl, cg, cv, sp); [] = for everyone
//   labs: [access-patterns]  # the labs whose numbers the page uses ([] = none)
//   ---
//   # Title of the page
//
// Index
//   PageMeta        the front matter, checked
//   Page            path (relative to guide/docs), meta, title, the Markdown body
//   parse_page()    text -> Page, with errors that name the file and line
//   MarkdownLink    a [text](target) link found outside code blocks
//   find_links()    every inline link and image in a body (not in fenced code)
//   FigureRef       a ![caption](../figures/<lab>-<plot>.svg) reference
//   find_figures()  the figure references of a body
//   LeveledSection  a sub-section whose heading carries its own level: "## The TLB { data-level=3 }"
//   find_leveled_sections()  the leveled sub-sections of a body
//   at_level()      the page as a build of level N shows it: sub-sections above N left out
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace dp::guide {

struct PageMeta {
  int level = 0;                    // 1..5
  std::vector<std::string> tracks;  // subset of dp::kTracks, empty = common to everyone
  std::vector<std::string> labs;    // lab ids the page uses
  std::string title;                // optional override of the '# ' heading, for the navigation
};

// A heading inside a page can raise the level of the part it opens, with an attribute block at
// its end (Python-Markdown's attr_list, so mkdocs keeps it as an HTML attribute):
//
//   ## Going further: the TLB { data-level=3 }
//
// The sub-section runs from that heading to the next heading of the same or a higher rank (as
// many '#' or fewer), or to the end of the page. A build of a lower level leaves it out.
struct LeveledSection {
  int level = 0;                 // 1..5 once parse_page() has checked it; 0 when not a number
  std::string level_text;        // what the marker says, for error messages
  int rank = 0;                  // the number of '#': 2 for "##"
  std::string title;             // the heading's text, without the attribute block
  std::size_t begin = 0;         // byte offsets in the body: the heading line's first byte,
  std::size_t heading_end = 0;   // the first byte after the heading line's '\n',
  std::size_t end = 0;           // and the first byte after the sub-section
  std::size_t body_line = 0;     // the heading's line in the body, 0-based
};

struct Page {
  std::string path;   // relative to guide/docs, with '/' separators: "m1/access-patterns.md"
  PageMeta meta;
  std::string title;  // meta.title, else the text of the first '# ' heading
  std::string body;   // the Markdown after the front matter
  std::size_t body_first_line = 1;  // line number (1-based) of the body's first line in the file
  std::vector<LeveledSection> sections;  // its leveled sub-sections, in order
};

// Throws dp::Error naming `path` and the line when the front matter is missing or malformed,
// a key is unknown, the level is outside 1..5, a track is unknown, or there is no '# ' heading;
// also when a sub-section's level is not a whole number above the page's level and at most 5.
Page parse_page(const std::string& path, const std::string& text);

// The front matter of `page` as YAML (what mkdocs reads). `title` is set to the plain title,
// which the theme puts in the browser tab, except on the home page, whose tab shows the site name.
std::string front_matter_yaml(const Page& page);

struct MarkdownLink {
  bool image = false;        // ![...](...)
  std::string text;          // what is between the brackets
  std::string target;        // what is between the parentheses, without a "title" part
  std::size_t begin = 0;     // byte offsets of the whole link in the body
  std::size_t end = 0;
};

// Inline links and images outside fenced code blocks and inline code spans.
std::vector<MarkdownLink> find_links(const std::string& body);

struct FigureRef {
  MarkdownLink link;
  std::string file;  // "access-patterns-time.svg"
  std::string lab;   // "access-patterns" (one of the page's labs)
  std::string plot;  // "time"
};

// The images whose target is figures/<name>.svg (relative to the docs root, e.g.
// "../figures/x.svg" from m1/). Throws dp::Error when a figure's name does not start with one
// of the page's `labs` ids followed by '-', since every figure must come from a lab the page names.
std::vector<FigureRef> find_figures(const Page& page);

// Resolves a link target relative to the page, e.g. ("m1/a.md", "../m0/b.md#x") -> "m0/b.md".
// Returns "" for external links (scheme:), absolute paths and pure anchors ("#x").
std::string resolve_target(const std::string& page_path, const std::string& target);

// The ATX headings outside fenced code that end in an attribute block holding data-level=N
// (also written data-level="N"), with the extent of the sub-section each one opens.
std::vector<LeveledSection> find_leveled_sections(const std::string& body);

// The page as a build of `level` shows it: every sub-section above `level` is replaced by as many
// empty lines as it had, so that line numbers in later error messages still point into the file.
Page at_level(const Page& page, int level);

}  // namespace dp::guide
