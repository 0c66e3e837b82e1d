//! A small pool of ONNX Runtime sessions, so that one loaded model serves several threads.
//!
//! `ort::Session::run` needs `&mut self`; the pool hands out a free session, creating up to
//! `max` of them lazily, and otherwise waits for the least recently taken one. A parser used
//! from one thread therefore holds one session, and one used from many threads grows to
//! `max` sessions.
//!
//! The sessions share one copy of the weights: the model file is read once, its large
//! initializers are cut out ([`super::shared_weights`]) and handed to every session as the
//! same user-owned tensors (`SessionOptions::AddInitializer`), the rest of the model (the
//! graph, a few hundred KB) is kept for creating later sessions, and the weights ONNX Runtime
//! repacks for its matrix kernels go to one shared prepacked-weights container. A session
//! after the first then costs a few MB instead of a copy of the model, and loading never
//! holds the whole protobuf in memory. (With the `tract` backend each session loads the
//! file itself.)

#[cfg(not(feature = "tract"))]
use super::shared_weights::{self, ONNX_INT8, ONNX_UINT8};
use crate::error::{NluError, Result};
use ort::session::Session;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Initializers with at least this many bytes of data are shared between sessions (all of
/// the encoder's weight matrices and its embedding table; not the scalars).
#[cfg(not(feature = "tract"))]
const SHARE_MIN_BYTES: usize = 1024;

/// Pool of sessions of one ONNX file.
pub struct SessionPool {
    path: PathBuf,
    threads: usize,
    max: usize,
    source: Source,
    sessions: RwLock<Vec<Arc<Mutex<Session>>>>,
    next: AtomicUsize,
}

/// What the pool creates sessions from.
enum Source {
    /// The file, read by ONNX Runtime for each session.
    #[cfg_attr(not(feature = "tract"), allow(dead_code))]
    File,
    /// The model without its large initializers, and those initializers, shared.
    #[cfg(not(feature = "tract"))]
    Shared {
        model: Vec<u8>,
        weights: Vec<(String, Arc<ort::value::DynValue>)>,
        prepacked: ort::session::builder::PrepackedWeights,
    },
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool")
            .field("path", &self.path)
            .field("max", &self.max)
            .finish()
    }
}

impl SessionPool {
    /// Opens the model file and creates the first session (so that a corrupt file fails here).
    pub fn load(path: &Path, threads: usize, max: usize) -> Result<Self> {
        if !path.is_file() {
            return Err(NluError::onnx(path, "file not found"));
        }
        let pool = SessionPool {
            path: path.to_path_buf(),
            threads: threads.max(1),
            max: max.max(1),
            source: Source::read(path)?,
            sessions: RwLock::new(Vec::new()),
            next: AtomicUsize::new(0),
        };
        let first = pool.create()?;
        pool.sessions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(Mutex::new(first)));
        Ok(pool)
    }

    /// The file this pool runs.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first session, for inspecting inputs and outputs.
    pub fn with_first<T>(&self, f: impl FnOnce(&Session) -> T) -> T {
        let sessions = self.sessions.read().unwrap_or_else(|p| p.into_inner());
        let guard = sessions[0].lock().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    fn create(&self) -> Result<Session> {
        let env = crate::runtime::init(None)?;
        let err = |e: ort::Error| NluError::onnx(&self.path, e);
        let builder = Session::builder(env)
            .map_err(err)?
            .with_intra_threads(self.threads)
            .map_err(|e| NluError::onnx(&self.path, e))?
            .with_inter_threads(1)
            .map_err(|e| NluError::onnx(&self.path, e))?;
        match &self.source {
            Source::File => {
                let mut builder = builder;
                builder.commit_from_file(&self.path).map_err(err)
            }
            #[cfg(not(feature = "tract"))]
            Source::Shared {
                model,
                weights,
                prepacked,
            } => {
                // the cut-out tensors are marked as external data in the model's folder
                let dir = self.path.parent().unwrap_or(Path::new("."));
                let mut builder = builder
                    .with_prepacked_weights(prepacked)
                    .map_err(|e| NluError::onnx(&self.path, e))?
                    .with_config_entry(
                        "session.model_external_initializers_file_folder_path",
                        dir.to_string_lossy(),
                    )
                    .map_err(|e| NluError::onnx(&self.path, e))?;
                for (name, value) in weights {
                    builder = builder
                        .with_initializer(name, Arc::clone(value))
                        .map_err(|e| NluError::onnx(&self.path, e))?;
                }
                builder.commit_from_memory(model).map_err(err)
            }
        }
    }

    /// Runs `f` with exclusive use of one session.
    pub fn run<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let slot = {
            let sessions = self.sessions.read().unwrap_or_else(|p| p.into_inner());
            let n = sessions.len();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let free = (0..n)
                .map(|i| &sessions[(start + i) % n])
                .find_map(|s| s.try_lock().ok().map(|g| (Arc::clone(s), drop(g)).0));
            match free {
                Some(s) => s,
                None if n < self.max => {
                    drop(sessions);
                    let s = Arc::new(Mutex::new(self.create()?));
                    let mut w = self.sessions.write().unwrap_or_else(|p| p.into_inner());
                    if w.len() < self.max {
                        w.push(Arc::clone(&s));
                    }
                    s
                }
                None => Arc::clone(&sessions[start % n]),
            }
        };
        let mut guard: MutexGuard<'_, Session> = slot.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl Source {
    #[cfg(feature = "tract")]
    fn read(_path: &Path) -> Result<Self> {
        Ok(Source::File)
    }

    /// Reads the model once, cutting out its large initializers as tensors to share.
    #[cfg(not(feature = "tract"))]
    fn read(path: &Path) -> Result<Self> {
        use ort::value::{DynValue, Tensor};
        // the prepacked-weights container needs the library loaded
        crate::runtime::init(None)?;
        let split = shared_weights::split(path, SHARE_MIN_BYTES, true)
            .map_err(|e| NluError::onnx(path, format!("not a readable ONNX model: {e}")))?;
        let mut weights = Vec::with_capacity(split.tensors.len());
        let model = split.model().to_vec();
        for t in split.tensors {
            let err = |e: ort::Error| NluError::onnx(path, format!("initializer {}: {e}", t.name));
            let dims = t
                .dims
                .iter()
                .map(|&d| usize::try_from(d))
                .collect::<std::result::Result<Vec<usize>, _>>()
                .map_err(|_| NluError::onnx(path, format!("initializer {}: bad shape", t.name)))?;
            let data = t.data.unwrap_or_default();
            let value: DynValue = match t.data_type {
                ONNX_UINT8 => Tensor::<u8>::from_array((dims, data))
                    .map_err(err)?
                    .into_dyn(),
                // same size and alignment: the vector is converted in place
                ONNX_INT8 => Tensor::<i8>::from_array((
                    dims,
                    data.into_iter().map(|b| b as i8).collect::<Vec<i8>>(),
                ))
                .map_err(err)?
                .into_dyn(),
                _ => Tensor::<f32>::from_array((
                    dims,
                    data.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect::<Vec<f32>>(),
                ))
                .map_err(err)?
                .into_dyn(),
            };
            weights.push((t.name, Arc::new(value)));
        }
        Ok(Source::Shared {
            model,
            weights,
            prepacked: ort::session::builder::PrepackedWeights::new(),
        })
    }
}
