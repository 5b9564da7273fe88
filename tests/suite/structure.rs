//! The layout shows the architecture (docs/dev/architecture.md): lower layers never import
//! higher ones, no file in `src/engine/` imports from its parent module (`Engine` is composed
//! of parts, not extended from below), and no source file grows past ~600 lines.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The file's code lines before its unit tests, without comments.
fn code(p: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(p).unwrap();
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    body.lines()
        .map(|l| l.split("//").next().unwrap_or("").to_string())
        .collect()
}

/// A top-level module's layer: a module may only use modules of lower layers.
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "atomic_file" | "dsp" => 0,
        "sample" => 1,
        "engine" => 2,
        "config" => 3,
        "midi" | "audio" => 4,
        "control" | "demo" | "bench" => 5,
        "cli" => 6,
        _ => return None,
    })
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let mut checked = 0;
    for p in rust_files(&src()) {
        let rel = p.strip_prefix(src()).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        let Some(mine) = layer(&top) else { continue };
        for (n, line) in code(&p).iter().enumerate() {
            for used in line.split("crate::").skip(1) {
                let name: String = used
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(theirs) = layer(&name)
                    && name != top
                {
                    assert!(
                        theirs < mine,
                        "{}:{}: `{top}` (layer {mine}) uses `{name}` (layer {theirs})",
                        rel.display(),
                        n + 1
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 200, "{checked}");
}

/// The modules a file declares (`mod x;`).
fn declared(p: &Path) -> Vec<String> {
    code(p)
        .iter()
        .filter_map(|l| {
            let t = l.trim();
            let t = t.strip_prefix("pub ").unwrap_or(t);
            let t = t.strip_prefix("pub(crate) ").unwrap_or(t);
            let t = t.strip_prefix("pub(super) ").unwrap_or(t);
            t.strip_prefix("mod ")
                .and_then(|m| m.strip_suffix(';'))
                .map(str::to_string)
        })
        .collect()
}

/// The file that defines the parent module of `p`.
fn parent_of(p: &Path) -> Option<PathBuf> {
    let dir = p.parent()?;
    let parent = if p.file_name()? == "mod.rs" {
        dir.parent()?.join("mod.rs")
    } else {
        dir.join("mod.rs")
    };
    parent.exists().then_some(parent)
}

#[test]
fn no_engine_file_imports_from_its_parent() {
    let engine = src().join("engine");
    let mut checked = 0;
    for p in rust_files(&engine) {
        let Some(parent) = parent_of(&p) else {
            continue;
        };
        let modules = declared(&parent);
        for (n, line) in code(&p).iter().enumerate() {
            let t = line.trim();
            let Some(rest) = t.strip_prefix("use super::") else {
                continue;
            };
            if rest.starts_with("super::") {
                continue;
            }
            let names: Vec<String> = match rest.strip_prefix('{') {
                Some(list) => list
                    .trim_end_matches("};")
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or("").to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => vec![
                    rest.split("::")
                        .next()
                        .unwrap_or("")
                        .trim_end_matches(';')
                        .to_string(),
                ],
            };
            for name in names {
                assert!(
                    modules.contains(&name) || name == "self",
                    "{}:{}: imports `{name}` from its parent module {} (parts are lent as contexts, not reached from below)",
                    p.display(),
                    n + 1,
                    parent.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn no_source_file_grows_past_about_600_lines() {
    for p in rust_files(&src()) {
        let n = std::fs::read_to_string(&p).unwrap().lines().count();
        assert!(
            n <= 620,
            "{} has {n} lines: split it by concern",
            p.display()
        );
    }
}
