//! Finding and initializing ONNX Runtime.
//!
//! The crate links ONNX Runtime dynamically (`ort`'s `load-dynamic`): no binary is
//! downloaded at build time. The library is looked up, in order, at
//! 1. the path given to [`init`],
//! 2. `$ORT_DYLIB_PATH`,
//! 3. `.runtime/onnxruntime/capi/libonnxruntime.so.1.31.1` in the current directory, the
//!    executable's directory, or any of their parents (where `scripts/install-onnxruntime.sh`
//!    puts the PyPI wheel's library).
//!
//! A missing or wrong library is an [`NluError::Runtime`], never a panic.
//!
//! With the `tract` feature (and without the default `onnxruntime` one) the same graphs run on
//! tract, a pure-Rust inference engine, and no library is needed.

#[cfg(all(feature = "onnxruntime", feature = "tract"))]
compile_error!("the `onnxruntime` and `tract` features are alternatives: build with `--no-default-features --features tract` for tract");
#[cfg(not(any(feature = "onnxruntime", feature = "tract")))]
compile_error!("enable one inference backend: the default `onnxruntime` feature, or `tract`");

use crate::error::{NluError, Result};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The ONNX Runtime version the crate's `ort` bindings expect.
pub const ORT_VERSION: &str = "1.31.1";

/// The library's file name inside the PyPI wheel.
pub const ORT_LIBRARY: &str = "libonnxruntime.so.1.31.1";

static ENVIRONMENT: OnceLock<ort::environment::Environment> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Where the runtime is installed relative to a project root.
fn relative_install() -> PathBuf {
    Path::new(".runtime")
        .join("onnxruntime")
        .join("capi")
        .join(ORT_LIBRARY)
}

/// Candidate library paths, most specific first.
pub fn candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        out.push(PathBuf::from(p));
    }
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            roots.push(dir.to_path_buf());
        }
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for root in roots {
        for dir in root.ancestors() {
            let p = dir.join(relative_install());
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The name of the inference backend compiled in.
pub const BACKEND: &str = if cfg!(feature = "tract") {
    "tract"
} else {
    "onnxruntime"
};

/// Initializes the tract backend once per process and returns its environment.
#[cfg(feature = "tract")]
pub fn init(_explicit: Option<&Path>) -> Result<&'static ort::environment::Environment> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    ort::set_api(ort_tract::api());
    let env = ort::init()
        .with_name("nlu")
        .build()
        .map_err(|e| NluError::Runtime {
            reason: format!("tract backend: {e}"),
        })?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}

/// Initializes ONNX Runtime once per process and returns its environment.
///
/// Later calls return the environment of the first successful call, whatever path they give.
#[cfg(not(feature = "tract"))]
pub fn init(explicit: Option<&Path>) -> Result<&'static ort::environment::Environment> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let candidates = candidates(explicit);
    let path = candidates
        .iter()
        .find(|p| p.is_file())
        .ok_or_else(|| NluError::Runtime {
            reason: format!(
                "{ORT_LIBRARY} not found (looked at {})",
                candidates
                    .iter()
                    .take(4)
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    tracing::debug!(path = %path.display(), "loading ONNX Runtime");
    let env = ort::init_from(path)
        .map_err(|e| NluError::Runtime {
            reason: format!("{}: {e}", path.display()),
        })?
        .with_name("nlu")
        .with_telemetry(false)
        .build()
        .map_err(|e| NluError::Runtime {
            reason: format!("{}: {e}", path.display()),
        })?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}
