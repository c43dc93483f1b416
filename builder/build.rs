//! Links `soda-builder` as a position-dependent executable on Linux. A build
//! that changes nothing takes ~9 ms, and relocating a PIE binary of this size
//! at start-up (~100 more page faults, each costly in a VM) took ~0.7 ms of
//! it. Only the executable's own code loses address randomisation; the
//! libraries, heap and stacks keep theirs.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=soda-builder=-no-pie");
    }
}
