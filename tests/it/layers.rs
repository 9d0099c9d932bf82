//! The CLI's layers, as ARCHITECTURE.md draws them: a module may use only modules of a
//! lower layer (or its own folder), so there is no import cycle and the code that calls
//! AWS, builds, or talks to people stays where its folder says. The relay crate has no
//! module cycle either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its layer: a module may use lower layers only.
const LAYERS: &[(&str, u32)] = &[
    ("settings", 0),
    ("hint", 0),
    ("short_hash", 0),
    ("https_client", 1),
    ("stripe", 1),
    ("build", 1),
    ("aws", 2),
    ("local", 2),
    ("stripe_api", 2),
    ("ui", 3),
    ("cli", 4),
    ("commands", 5),
    ("main", 6),
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The module a file belongs to, below `root`: its first path component.
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The top-level modules a file names as `crate::NAME`.
fn uses(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.match_indices("crate::")
        .map(|(at, _)| {
            text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn each_cli_module_uses_only_lower_layers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&root, file);
        let own = *layer.get(module.as_str()).unwrap_or_else(|| {
            panic!("{module} has no layer: add it to LAYERS and ARCHITECTURE.md")
        });
        for used in uses(file) {
            if used == module {
                continue;
            }
            match layer.get(used.as_str()) {
                Some(&theirs) if theirs < own => {}
                _ => wrong.push(format!(
                    "{} ({module}, layer {own}) uses {used}",
                    file.strip_prefix(&root).unwrap().display()
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_relay_has_no_module_cycle() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("relay-function/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&root, file);
        let used: Vec<String> = uses(file).into_iter().filter(|u| *u != module).collect();
        graph.entry(module).or_default().extend(used);
    }
    // Kahn's algorithm: what cannot be ordered is on a cycle.
    let mut remaining = graph.clone();
    loop {
        let leaves: Vec<String> = remaining
            .iter()
            .filter(|(_, used)| used.iter().all(|u| !remaining.contains_key(u)))
            .map(|(m, _)| m.clone())
            .collect();
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            remaining.remove(&leaf);
        }
    }
    assert!(
        remaining.is_empty(),
        "modules on a cycle: {:?}",
        remaining.keys()
    );
}
