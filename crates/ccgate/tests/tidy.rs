//! Keeps the architecture and the docs from drifting: the internal crate
//! dependencies point one way (ARCHITECTURE.md), no two modules of a crate
//! import each other, and `.ci/run` runs the README's test command.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Each crate and the internal crates it may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("ccgate-api", &[]),
    // `cargo xtask test`: std only, so it builds in seconds.
    ("xtask", &[]),
    ("ccgate-ledger", &[]),
    ("ccgate-store", &["ccgate-ledger"]),
    // Chains are pure IO: an adapter reads, signs and broadcasts, and keeps
    // nothing; what is stored (payouts, sweeps, the devnet's state) is the
    // engine's to decide, so chain never reaches a store.
    ("ccgate-chain", &["ccgate-ledger"]),
    ("ccgate-pricefeed", &["ccgate-ledger"]),
    ("ccgate-client", &["ccgate-api"]),
    (
        "ccgate-engine",
        &[
            "ccgate-api",
            "ccgate-ledger",
            "ccgate-store",
            "ccgate-chain",
            "ccgate-pricefeed",
        ],
    ),
    // Handlers reach the stores only through the engine (its services and
    // `engine::domain`'s records).
    (
        "ccgate-server",
        &[
            "ccgate-api",
            "ccgate-ledger",
            "ccgate-chain",
            "ccgate-pricefeed",
            "ccgate-engine",
        ],
    ),
    // Tests only: a dev-dependency of `ccgate`, never a dependency of any
    // crate (none lists it here), so no production build carries it.
    (
        "ccgate-testkit",
        &[
            "ccgate-api",
            "ccgate-ledger",
            "ccgate-store",
            "ccgate-server",
            "ccgate-pricefeed",
            "ccgate-engine",
            "ccgate-client",
        ],
    ),
    (
        "ccgate",
        &[
            "ccgate-api",
            "ccgate-ledger",
            "ccgate-store",
            "ccgate-server",
            "ccgate-chain",
            "ccgate-pricefeed",
            "ccgate-engine",
            "ccgate-client",
        ],
    ),
];

#[test]
fn internal_dependencies_point_one_way() {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        ALLOWED.len(),
        "a crate was added: record it in ALLOWED and ARCHITECTURE.md"
    );
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let allowed = ALLOWED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, deps)| *deps)
            .unwrap_or_else(|| panic!("{name} is not in ALLOWED"));
        let dependencies = package["dependencies"].as_array().unwrap();
        assert!(
            name != "xtask" || dependencies.is_empty(),
            "xtask stays std only, so `cargo xtask test` builds in seconds on a fresh clone"
        );
        for dependency in dependencies {
            let dep = dependency["name"].as_str().unwrap();
            let is_internal = dependency["path"].is_string();
            if is_internal && dependency["kind"].is_null() {
                assert!(allowed.contains(&dep), "{name} must not depend on {dep}");
            }
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let command = ci.lines().last().unwrap().trim();
    assert_eq!(command, "cargo xtask test");
    let opening: String = readme.lines().take(20).collect::<Vec<_>>().join("\n");
    assert!(
        opening.contains(command),
        "README must open with the test command `{command}`"
    );
    assert!(opening.contains("cargo run --release -- serve"));
}

/// A crate's source files and which of them each one imports from
/// (`crate::…` and `super::…` paths), as module paths: `src/a/b.rs` and
/// `src/a/b/mod.rs` are `["a", "b"]`, the crate root `[]`. Test modules (from
/// `#[cfg(test)]` on) are left out: they may reach anything.
fn module_imports(src: &std::path::Path) -> Vec<(Vec<String>, Vec<Vec<String>>)> {
    fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }
    fn ident(text: &str) -> Option<(&str, &str)> {
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        (end > 0).then(|| (&text[..end], &text[end..]))
    }
    /// The module paths named after `crate::` or `super::` at `rest`:
    /// `a::b::X` gives `a::b::X`, `{a, b::c}` gives each.
    fn paths(prefix: &[String], rest: &str, out: &mut Vec<Vec<String>>) {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        paths(prefix, group[start..i].trim_start(), out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        paths(prefix, group[start..i].trim_start(), out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let mut path = prefix.to_vec();
        let mut rest = rest;
        while let Some((name, after)) = ident(rest) {
            path.push(name.to_owned());
            match after.strip_prefix("::") {
                Some(more) if more.starts_with('{') => return paths(&path, more, out),
                Some(more) => rest = more,
                None => break,
            }
        }
        out.push(path);
    }
    let mut found = Vec::new();
    let mut all = Vec::new();
    files(src, &mut all);
    for file in all {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut module: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            module.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            module.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Comments may name paths they do not import.
        let text: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let text = text.as_str();
        let mut imports = Vec::new();
        for (at, _) in text.match_indices("crate::") {
            if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            paths(&[], &text[at + "crate::".len()..], &mut imports);
        }
        for (at, _) in text.match_indices("super::") {
            if text[..at].ends_with("super::") {
                continue;
            }
            let mut parent = module.clone();
            let mut rest = &text[at..];
            while let Some(more) = rest.strip_prefix("super::") {
                parent.pop();
                rest = more;
            }
            paths(&parent, rest, &mut imports);
        }
        found.push((module, imports));
    }
    found
}

#[test]
fn no_crate_imports_in_a_circle() {
    let crates = workspace_root().join("crates");
    let mut circles = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let modules = module_imports(&src);
        let names: Vec<&Vec<String>> = modules.iter().map(|(module, _)| module).collect();
        // An import names the deepest file whose module path starts it; a
        // module and its own submodules are one unit (a parent declares
        // its children, a child may use its parent's items).
        let related = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
        let edges: Vec<Vec<usize>> = modules
            .iter()
            .map(|(module, imports)| {
                let mut targets: Vec<usize> = imports
                    .iter()
                    .filter_map(|path| {
                        (0..names.len())
                            .filter(|&i| path.starts_with(names[i]))
                            .max_by_key(|&i| names[i].len())
                    })
                    .filter(|&i| !related(module, names[i]))
                    .collect();
                targets.sort_unstable();
                targets.dedup();
                targets
            })
            .collect();
        // Depth-first search for a back edge, reporting the circle it closes.
        fn visit(
            node: usize,
            edges: &[Vec<usize>],
            state: &mut [u8],
            stack: &mut Vec<usize>,
            found: &mut Vec<Vec<usize>>,
        ) {
            state[node] = 1;
            stack.push(node);
            for &next in &edges[node] {
                match state[next] {
                    0 => visit(next, edges, state, stack, found),
                    1 => {
                        let from = stack.iter().position(|&n| n == next).unwrap();
                        found.push(stack[from..].to_vec());
                    }
                    _ => {}
                }
            }
            stack.pop();
            state[node] = 2;
        }
        let mut state = vec![0u8; names.len()];
        let mut found = Vec::new();
        for node in 0..names.len() {
            if state[node] == 0 {
                visit(node, &edges, &mut state, &mut Vec::new(), &mut found);
            }
        }
        for circle in found {
            let files: Vec<String> = circle.iter().map(|&i| names[i].join("::")).collect();
            circles.push(format!("{}: {}", src.display(), files.join(" -> ")));
        }
    }
    assert!(
        circles.is_empty(),
        "modules that import each other (move what both need below both):\n{}",
        circles.join("\n")
    );
}
