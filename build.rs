//! Sets `cfg(io_uring)` where the io-uring crate is a dependency: on the
//! architectures it has kernel bindings for, the same list as Cargo.toml's
//! target-specific dependency. Elsewhere src/uring_unavailable.rs stands in.

const IO_URING_ARCHES: [&str; 5] = ["x86_64", "aarch64", "riscv64", "loongarch64", "powerpc64"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(io_uring)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if IO_URING_ARCHES.contains(&arch.as_str()) {
        println!("cargo::rustc-cfg=io_uring");
    }
}
