//! Keeps the architecture and the docs from drifting: the internal crate
//! dependencies point one way (ARCHITECTURE.md), and `.ci/run` runs the
//! README's test command.
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
