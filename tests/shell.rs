//! Runs the shell-level cases (tests/shell/cases.sh) against the binary cargo built.

mod common;

#[test]
fn shell_cases() {
    let o = std::process::Command::new("bash")
        .arg(common::root().join("tests/shell/cases.sh"))
        .env("CHAFF", env!("CARGO_BIN_EXE_chaff"))
        .env("SHARED", common::shared())
        .output()
        .expect("bash runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("all shell cases passed"), "{out}");
}
