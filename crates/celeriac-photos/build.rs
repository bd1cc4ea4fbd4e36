//! Embeds the SeetaFace frontal model that the `rustface` crate ships in its
//! package (`model/seeta_fd_frontal_v1.0.bin`), so nothing is downloaded or
//! read from disk at run time.
//!
//! The package is found through `cargo metadata` — wherever cargo unpacked
//! it (registry, vendored sources, a git checkout) — never through a guessed
//! path. The model is copied into `OUT_DIR`, and `src/detect/model.rs`
//! includes it with `include_bytes!`.

use std::path::{Path, PathBuf};
use std::process::Command;

const MODEL: &str = "model/seeta_fd_frontal_v1.0.bin";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let model = match rustface_dir() {
        Ok(dir) => dir.join(MODEL),
        Err(e) => fail(&format!(
            "cannot find the rustface package through `cargo metadata`: {e}"
        )),
    };
    println!("cargo:rerun-if-changed={}", model.display());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set")));
    let target = out_dir.join("seeta_fd_frontal_v1.0.bin");
    if let Err(e) = std::fs::copy(&model, &target) {
        fail(&format!(
            "cannot copy the face model {} into {}: {e}",
            model.display(),
            target.display()
        ));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

/// The directory of the rustface package this crate depends on.
fn rustface_dir() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?;
    let manifest = Path::new(&manifest_dir).join("Cargo.toml");
    // Only the target's packages: the build has downloaded those already.
    let target = std::env::var("TARGET").map_err(|e| format!("TARGET: {e}"))?;
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &target,
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("unreadable output: {e}"))?;
    let own_name = std::env::var("CARGO_PKG_NAME").map_err(|e| e.to_string())?;
    let packages = metadata["packages"].as_array().ok_or("no packages listed")?;
    // The rustface version this package resolved to (several may be listed).
    let own_id = packages
        .iter()
        .find(|p| p["name"] == own_name.as_str() && p["manifest_path"] == manifest.to_string_lossy().as_ref())
        .and_then(|p| p["id"].as_str())
        .ok_or("this package is not in the metadata")?;
    let node = metadata["resolve"]["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == own_id))
        .ok_or("this package is not in the resolve graph")?;
    let dep_id = node["deps"]
        .as_array()
        .and_then(|deps| deps.iter().find(|d| d["name"] == "rustface"))
        .and_then(|d| d["pkg"].as_str())
        .ok_or("rustface is not a resolved dependency")?;
    let package = packages
        .iter()
        .find(|p| p["id"] == dep_id)
        .ok_or("the rustface package is not listed")?;
    let manifest_path = package["manifest_path"]
        .as_str()
        .ok_or("rustface has no manifest path")?;
    Path::new(manifest_path)
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "rustface's manifest path has no directory".to_owned())
}
