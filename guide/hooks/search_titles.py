"""mkdocs hook: keep the navigation badges out of the search index.

`dontpanic guide build` writes each page's level and track into its navigation title as
<span class="dp-nav-badge">L2 · DL</span>, so the theme shows the badge beside the link. The
search index would otherwise hold that markup too, and searching for "span" would match every page.
"""
import json
import os
import re

_BADGE = re.compile(r'\s*<span class="dp-nav-badge"[^>]*>.*?</span>')


def on_post_build(config, **kwargs):
    path = os.path.join(config["site_dir"], "search", "search_index.json")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    for doc in index.get("docs", []):
        doc["title"] = _BADGE.sub("", doc.get("title", ""))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(index, f, ensure_ascii=False, separators=(",", ":"))
