//! Embeds the relay's source in the CLI, so that `deploy` can build the Lambda wherever
//! the CLI was installed from (`cargo install --path .` leaves no source behind).
//!
//! It writes `$OUT_DIR/relay_sources.rs`: every file of `relay-function/` that a build
//! needs, the workspace's `Cargo.lock` (so the relay builds with the versions tested
//! here), and a workspace manifest holding only the relay, made from the root one.
//!
//! And `$OUT_DIR/carried_relays.rs`: the relay zips a release carries (`.ci/release`
//! names them in STRIPE_BRIDGE_CARRY_RELAY_X86_64 and _ARM64), so that `deploy` from a
//! released binary needs no Rust toolchain; none in a build from source.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let relay = root.join("relay-function");
    let mut files = Vec::new();
    // The relay.
    for dir in ["src", "benches"] {
        collect(&relay.join(dir), &mut files);
    }
    files.push(relay.join("Cargo.toml"));
    files.push(root.join("Cargo.lock"));
    files.sort();

    let mut out = String::from(
        "/// (path in the relay workspace, contents)\npub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        writeln!(
            out,
            "    ({relative:?}, include_bytes!({:?})),",
            file.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    writeln!(
        out,
        "pub const WORKSPACE_MANIFEST: &str = {:?};",
        relay_workspace_manifest(&root)
    )
    .unwrap();
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    println!("cargo:rerun-if-changed={}", relay.display());

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::write(out_dir.join("relay_sources.rs"), out).unwrap();
    fs::write(out_dir.join("carried_relays.rs"), carried_relays()).unwrap();
}

/// `pub const X86_64: Option<&[u8]>` and `ARM64`: the zips named in the environment.
fn carried_relays() -> String {
    let mut out = String::new();
    for (name, variable) in [
        ("X86_64", "STRIPE_BRIDGE_CARRY_RELAY_X86_64"),
        ("ARM64", "STRIPE_BRIDGE_CARRY_RELAY_ARM64"),
    ] {
        println!("cargo:rerun-if-env-changed={variable}");
        let value = match env::var(variable) {
            Ok(path) if !path.is_empty() => {
                let path =
                    fs::canonicalize(&path).unwrap_or_else(|e| panic!("{variable}={path}: {e}"));
                println!("cargo:rerun-if-changed={}", path.display());
                format!("Some(include_bytes!({:?}))", path.display().to_string())
            }
            _ => "None".to_owned(),
        };
        writeln!(out, "pub const {name}: Option<&[u8]> = {value};").unwrap();
    }
    out
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The root manifest's workspace tables and the `lambda` profile, with the relay as the
/// only member: what the relay's own manifest inherits from.
fn relay_workspace_manifest(root: &Path) -> String {
    let text = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    let mut workspace = manifest["workspace"].as_table().unwrap().clone();
    workspace.insert(
        "members".into(),
        toml::Value::Array(vec!["relay-function".into()]),
    );
    let mut out = toml::Table::new();
    out.insert("workspace".into(), toml::Value::Table(workspace));
    out.insert("profile".into(), manifest["profile"].clone());
    toml::to_string(&out).unwrap()
}
