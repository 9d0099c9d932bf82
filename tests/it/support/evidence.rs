//! Figures that prove the promises, for `tests/evidence.sh` to print as a table: each
//! test that measures one writes it to `$STRIPE_BRIDGE_EVIDENCE_DIR/<name>.json`. Without
//! that variable (a plain `cargo test`), the figures go nowhere and the assertions alone
//! decide.

pub fn record(name: &str, figures: serde_json::Value) {
    let Some(dir) = std::env::var_os("STRIPE_BRIDGE_EVIDENCE_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create the evidence directory");
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(&figures).unwrap(),
    )
    .expect("write the evidence");
}
