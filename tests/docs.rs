//! The project's Markdown pages link to each other (the README's summaries to the
//! reference pages in `docs/`, and back): every relative link must lead to a file that
//! exists and, with a `#fragment`, to a heading of that file, so that moving a section
//! cannot leave a reader at a dead link.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The Markdown pages a reader of the repository follows links between.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages: Vec<PathBuf> = ["README.md", "CHANGELOG.md", "training/README.md"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("docs/ is read")
        .map(|e| e.expect("docs/ is listed").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages.push(root.join("bench/throughput-history.md"));
    pages
}

/// A heading's anchor as GitHub makes it: lower case, punctuation but `-` and `_`
/// dropped, spaces made hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings (outside fenced code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of a page's inline links, `[text](target)`, with their line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            match tail.find(')') {
                Some(end) => {
                    let target = &tail[..end];
                    if !target.contains(char::is_whitespace) {
                        out.push((n + 1, target.to_string()));
                    }
                    rest = &tail[end..];
                }
                None => break,
            }
        }
    }
    out
}

#[test]
fn every_relative_link_between_the_pages_resolves() {
    let pages = pages();
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page).expect("a page is read");
        for (line, target) in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                page.clone()
            } else {
                page.parent().expect("a page has a folder").join(path)
            };
            checked += 1;
            let where_ = format!("{}:{line}: {target}", page.display());
            if !file.exists() {
                broken.push(format!("{where_} (no such file)"));
            } else if !fragment.is_empty() && file.extension().is_some_and(|e| e == "md") {
                let theirs = fs::read_to_string(&file).expect("a linked page is read");
                if !anchors(&theirs).contains(fragment) {
                    broken.push(format!("{where_} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    // The README alone links to every reference page and to sections of them.
    assert!(
        checked > 40,
        "only {checked} links found: is the link scan broken?"
    );
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    assert_eq!(
        anchor(" Files, folders and standard input"),
        "files-folders-and-standard-input"
    );
    assert_eq!(
        anchor(" The eleventh matrix (session 12)"),
        "the-eleventh-matrix-session-12"
    );
    assert_eq!(anchor(" `tag --dolma` files"), "tag---dolma-files");
    let text = "# A\n```\n# not a heading\n```\n## B c\n";
    assert_eq!(
        anchors(text).into_iter().collect::<Vec<_>>(),
        vec!["a".to_string(), "b-c".to_string()]
    );
    assert_eq!(
        links("see [x](docs/a.md#b) and [y](#c), not [z](a b)"),
        vec![(1, "docs/a.md#b".to_string()), (1, "#c".to_string())]
    );
}

#[test]
fn the_readme_links_every_reference_page() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md is read");
    for page in pages()
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("docs")))
    {
        let name = page
            .file_name()
            .expect("a page has a name")
            .to_string_lossy();
        assert!(
            readme.contains(&format!("](docs/{name})")),
            "README.md does not link docs/{name}"
        );
    }
}
