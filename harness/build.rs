//! Links `soda-perf` as `soda-builder` is linked (see `builder/build.rs`):
//! its worker is the measured child, and should start as the CLI does.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=soda-perf=-no-pie");
    }
}
