//! Records the resolved `rzmq` crate version (from the workspace's Cargo.lock) for `hello`.

fn main() {
    let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    println!("cargo:rerun-if-changed={lock}");
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut lines = text.lines();
    let mut version = String::from("0.5 (exact version unknown)");
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"rzmq\"" {
            if let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
            {
                version = v.trim_matches('"').to_string();
            }
            break;
        }
    }
    println!("cargo:rustc-env=ZMTP_RZMQ_VERSION={version}");
}
