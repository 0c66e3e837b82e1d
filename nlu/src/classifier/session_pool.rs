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

use super::segments::Graph;
#[cfg(not(feature = "tract"))]
use super::segments::Segment;
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

/// The pools of an encoder's two segments ([`SessionPool::load_segments`]).
#[derive(Debug)]
pub struct SegmentPools {
    pub early: SessionPool,
    pub late: SessionPool,
    /// The tensor the early segment gives and the late one reads.
    pub hidden: String,
    /// The late segment's inputs: [`SegmentPools::hidden`] and the graph inputs it reads.
    pub late_inputs: Vec<String>,
}

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
    /// A whole model in memory (a segment of the encoder, on tract).
    #[cfg(feature = "tract")]
    Memory(Vec<u8>),
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
        Self::with_source(path, threads, max, Source::read(path)?)
    }

    /// Opens an encoder file cut after layer `layer` ([`super::segments`]): a pool for each
    /// segment, the two sharing one read of the file's weights (each holds the ones its nodes
    /// use, so together they take what one pool of the whole file takes).
    pub fn load_segments(
        path: &Path,
        threads: usize,
        max: usize,
        layer: usize,
    ) -> Result<SegmentPools> {
        if !path.is_file() {
            return Err(NluError::onnx(path, "file not found"));
        }
        let bad = |e: std::io::Error| NluError::onnx(path, format!("cannot cut the encoder: {e}"));
        #[cfg(not(feature = "tract"))]
        let (cut, early, late) = {
            let (model, weights) = Source::read_shared(path)?;
            let cut = Graph::parse(&model)
                .and_then(|g| g.cut_after_layer(layer))
                .map_err(bad)?;
            let source = |seg: &Segment| Source::Shared {
                model: seg.bytes.clone(),
                weights: weights
                    .iter()
                    .filter(|(name, _)| seg.initializers.contains(name))
                    .cloned()
                    .collect(),
                prepacked: ort::session::builder::PrepackedWeights::new(),
            };
            let (early, late) = (source(&cut.early), source(&cut.late));
            (cut, early, late)
        };
        #[cfg(feature = "tract")]
        let (cut, early, late) = {
            let model = std::fs::read(path).map_err(|e| NluError::io(path, e))?;
            let cut = Graph::parse(&model)
                .and_then(|g| g.cut_after_layer(layer))
                .map_err(bad)?;
            let (early, late) = (
                Source::Memory(cut.early.bytes.clone()),
                Source::Memory(cut.late.bytes.clone()),
            );
            (cut, early, late)
        };
        Ok(SegmentPools {
            early: Self::with_source(path, threads, max, early)?,
            late: Self::with_source(path, threads, max, late)?,
            hidden: cut.hidden,
            late_inputs: cut.late.inputs,
        })
    }

    fn with_source(path: &Path, threads: usize, max: usize, source: Source) -> Result<Self> {
        let pool = SessionPool {
            path: path.to_path_buf(),
            threads: threads.max(1),
            max: max.max(1),
            source,
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
        // the basic rewrites only (constant folding, redundant nodes): the extended fusions
        // (skip layer normalization, attention...) form differently when the encoder is cut
        // for the early exit, and on the int8 encoder a difference of one rounding step moves
        // token states by up to 0.3. With these, the two segments compute exactly what the
        // whole graph computes, as fast (p50 5.1 against 5.2 ms on the chat corpus).
        #[cfg(not(feature = "tract"))]
        let builder = builder
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Level1)
            .map_err(|e| NluError::onnx(&self.path, e))?;
        match &self.source {
            Source::File => {
                let mut builder = builder;
                builder.commit_from_file(&self.path).map_err(err)
            }
            #[cfg(feature = "tract")]
            Source::Memory(model) => {
                let mut builder = builder;
                builder.commit_from_memory(model).map_err(err)
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
        let (model, weights) = Self::read_shared(path)?;
        Ok(Source::Shared {
            model,
            weights,
            prepacked: ort::session::builder::PrepackedWeights::new(),
        })
    }

    /// The model without its large initializers, and those initializers as `ort` values.
    #[cfg(not(feature = "tract"))]
    #[allow(clippy::type_complexity)]
    fn read_shared(path: &Path) -> Result<(Vec<u8>, Vec<(String, Arc<ort::value::DynValue>)>)> {
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
        Ok((model, weights))
    }
}
