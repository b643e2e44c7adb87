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

struct Page {
  std::string path;   // relative to guide/docs, with '/' separators: "m1/access-patterns.md"
  PageMeta meta;
  std::string title;  // meta.title, else the text of the first '# ' heading
  std::string body;   // the Markdown after the front matter
  std::size_t body_first_line = 1;  // line number (1-based) of the body's first line in the file
};

// Throws dp::Error naming `path` and the line when the front matter is missing or malformed,
// a key is unknown, the level is outside 1..5, a track is unknown, or there is no '# ' heading.
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

}  // namespace dp::guide
