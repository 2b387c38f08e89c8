//! The layers of `src/` stay layers: no two top-level folders (or top-level
//! files such as `redact.rs`) import each other, directly or round a longer
//! loop; and no file of `src/` is over 500 lines. Every `crate::<name>`
//! path of a file's code (not its comments, so not doc links) is an edge
//! from the file's top-level unit to `<name>`; `crate::{a, b::c}` groups
//! count each name. A cycle fails the test with its path and the lines
//! that make each edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// unit → unit it imports → the places (`file:line`) that do.
type Edges = BTreeMap<String, BTreeMap<String, Vec<String>>>;

#[test]
fn no_folder_of_src_imports_itself_round_a_loop() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges_of(&src);
    assert!(
        edges.contains_key("hub") && edges.contains_key("cli"),
        "the scan found the folders of src/"
    );
    let cycles = cycles(&edges);
    let described: Vec<String> = cycles.iter().map(|cycle| describe(cycle, &edges)).collect();
    assert!(
        cycles.is_empty(),
        "import cycles between the folders of src/:\n{}",
        described.join("\n")
    );
}

/// The faces reach the store and the instances only through the hub.
#[test]
fn no_face_imports_the_store_or_the_instances() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges_of(&src);
    let mut wrong = Vec::new();
    for face in ["cli", "mcp", "daemon", "communicator", "console", "a2a"] {
        for below in ["store", "instances"] {
            if let Some(places) = edges.get(face).and_then(|to| to.get(below)) {
                wrong.push(format!("{face} → {below} ({})", places.join(", ")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "faces that import what only the hub may (re-export it from `crate::hub`):\n{}",
        wrong.join("\n")
    );
}

/// Folders whose files still import each other round a loop, and the
/// loops: others are reworking them, so only these loops are let be.
const KNOWN_FILE_LOOPS: &[(&str, &[&str])] = &[
    (
        "store",
        &["contract", "copy", "export", "handle", "postgres", "sqlite"],
    ),
    ("store", &["limits", "model"]),
];

/// Within one folder, the files (and subfolders) do not import each other
/// round a loop either; `mod.rs` is the folder itself and may be imported
/// by all. An edge is a `crate::<folder>::<name>` or `super::<name>` path
/// (any number of `super::`) whose name is another file or subfolder of
/// the same folder.
#[test]
fn no_files_of_one_folder_import_each_other_round_a_loop() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for folder in std::fs::read_dir(&src).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        let name = folder.file_name().unwrap().to_string_lossy().to_string();
        let edges = file_edges(&folder, &name);
        for cycle in cycles(&edges) {
            let known = KNOWN_FILE_LOOPS
                .iter()
                .any(|(f, units)| *f == name && *units == cycle.as_slice());
            if !known {
                found.push(format!("in src/{name}/: {}", describe(&cycle, &edges)));
            }
        }
    }
    found.sort();
    assert!(
        found.is_empty(),
        "import cycles between the files of one folder:\n{}",
        found.join("\n")
    );
}

/// The edges between the files and subfolders of `folder` (named `name`).
fn file_edges(folder: &Path, name: &str) -> Edges {
    let units: BTreeSet<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .filter(|u| u != "mod")
        .collect();
    let mut files = Vec::new();
    rust_files(folder, &mut files);
    let mut edges = Edges::new();
    let crate_prefix = format!("crate::{name}::");
    for file in files {
        let relative = file.strip_prefix(folder).unwrap();
        let first = relative.components().next().unwrap();
        let first = first.as_os_str().to_string_lossy();
        let unit = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        if unit == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let mut targets = Vec::new();
            for prefix in [crate_prefix.as_str(), "super::"] {
                let mut rest = code;
                while let Some(at) = rest.find(prefix) {
                    rest = rest[at + prefix.len()..].trim_start_matches("super::");
                    let target: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    targets.push(target);
                }
            }
            for target in targets {
                if target != unit && units.contains(&target) {
                    edges
                        .entry(unit.clone())
                        .or_default()
                        .entry(target)
                        .or_default()
                        .push(format!("src/{name}/{}:{}", relative.display(), number + 1));
                }
            }
        }
    }
    edges
}

/// `anyhow` is for the binary's edges (`main.rs`, `cli/`); everything
/// else returns typed errors that keep their sources.
#[test]
fn anyhow_stays_in_main_and_the_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let users: Vec<String> = files
        .iter()
        .filter(|file| {
            let relative = file.strip_prefix(&src).unwrap();
            !relative.starts_with("cli") && !relative.starts_with("main.rs")
        })
        .filter(|file| {
            std::fs::read_to_string(file).unwrap().lines().any(|line| {
                line.split("//")
                    .next()
                    .unwrap_or_default()
                    .contains("anyhow")
            })
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        users.is_empty(),
        "anyhow outside main.rs and cli/: {users:?}"
    );
}

/// The most lines a file of `src/` may have: a file that grows past it is
/// usually two concerns, and is split along them.
const MAX_FILE_LINES: usize = 500;

#[test]
fn no_file_of_src_is_over_500_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|file| (file, std::fs::read_to_string(file).unwrap().lines().count()))
        .filter(|(_, lines)| *lines > MAX_FILE_LINES)
        .map(|(file, lines)| {
            format!(
                "{} ({lines} lines)",
                file.strip_prefix(&src).unwrap().display()
            )
        })
        .collect();
    assert!(
        long.is_empty(),
        "files of src/ over {MAX_FILE_LINES} lines (split each along its concerns):\n{}",
        long.join("\n")
    );
}

/// The check itself catches a loop, and only a loop.
#[test]
fn the_cycle_check_finds_a_planted_loop() {
    let mut edges = Edges::new();
    let edge = |edges: &mut Edges, a: &str, b: &str| {
        edges
            .entry(a.into())
            .or_default()
            .insert(b.into(), vec![format!("src/{a}/mod.rs:1")]);
    };
    edge(&mut edges, "cli", "hub");
    edge(&mut edges, "hub", "store");
    edge(&mut edges, "store", "time");
    assert!(cycles(&edges).is_empty());
    edge(&mut edges, "store", "cli");
    let found = cycles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], vec!["cli", "hub", "store"]);
    assert!(describe(&found[0], &edges).contains("store → cli (src/store/mod.rs:1)"));
    assert_eq!(
        paths_in("use crate::{hub::Hub, store::{A, B}, time};"),
        vec!["hub", "store", "time"]
    );
}

fn edges_of(src: &Path) -> Edges {
    let mut edges = Edges::new();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap();
        let first = first.as_os_str().to_string_lossy();
        let unit = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        if unit == "lib" || unit == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for target in paths_in(code) {
                if target != unit {
                    edges
                        .entry(unit.clone())
                        .or_default()
                        .entry(target)
                        .or_default()
                        .push(format!("src/{}:{}", relative.display(), number + 1));
                }
            }
        }
    }
    edges
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// The top-level names that `crate::` paths of one line of code reach.
fn paths_in(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` and `my_crate::` are not this crate's root.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    _ if depth == 0 && !name.is_empty() => {
                        found.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                found.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// Every strongly connected group of more than one unit, each sorted, in
/// order.
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges
        .iter()
        .flat_map(|(from, to)| std::iter::once(from).chain(to.keys()))
        .collect();
    let reaches = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(node) = todo.pop() {
            for next in edges.get(&node).into_iter().flat_map(|m| m.keys()) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reaches(n))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for node in &nodes {
        if !reach[node].contains(*node) {
            continue;
        }
        let group: Vec<String> = nodes
            .iter()
            .filter(|other| reach[node].contains(**other) && reach[*other].contains(*node))
            .map(|n| (*n).clone())
            .collect();
        groups.insert(group);
    }
    groups.into_iter().collect()
}

/// A cycle's edges, with the lines that make them.
fn describe(group: &[String], edges: &Edges) -> String {
    let mut lines = vec![format!("cycle among {}:", group.join(", "))];
    for from in group {
        for (to, places) in edges.get(from).into_iter().flatten() {
            if group.contains(to) {
                let shown: Vec<&str> = places.iter().take(3).map(String::as_str).collect();
                lines.push(format!("  {from} → {to} ({})", shown.join(", ")));
            }
        }
    }
    lines.join("\n")
}
