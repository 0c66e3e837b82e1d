//! A small pool of ONNX Runtime sessions, so that one loaded model serves several threads.
//!
//! `ort::Session::run` needs `&mut self`; the pool hands out a free session, creating up to
//! `max` of them lazily, and otherwise waits for the least recently taken one. A parser used
//! from one thread therefore holds one session (one copy of the weights), and one used from
//! many threads grows to `max` sessions.

use crate::error::{NluError, Result};
use ort::session::Session;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

/// Pool of sessions of one ONNX file, loaded from memory.
pub struct SessionPool {
    path: PathBuf,
    threads: usize,
    max: usize,
    sessions: RwLock<Vec<std::sync::Arc<Mutex<Session>>>>,
    next: AtomicUsize,
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
            sessions: RwLock::new(Vec::new()),
            next: AtomicUsize::new(0),
        };
        let first = pool.create()?;
        pool.sessions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(std::sync::Arc::new(Mutex::new(first)));
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
        Session::builder(env)
            .map_err(err)?
            .with_intra_threads(self.threads)
            .map_err(|e| NluError::onnx(&self.path, e))?
            .with_inter_threads(1)
            .map_err(|e| NluError::onnx(&self.path, e))?
            .commit_from_file(&self.path)
            .map_err(err)
    }

    /// Runs `f` with exclusive use of one session.
    pub fn run<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let slot = {
            let sessions = self.sessions.read().unwrap_or_else(|p| p.into_inner());
            let n = sessions.len();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let free = (0..n).map(|i| &sessions[(start + i) % n]).find_map(|s| {
                s.try_lock()
                    .ok()
                    .map(|g| (std::sync::Arc::clone(s), drop(g)).0)
            });
            match free {
                Some(s) => s,
                None if n < self.max => {
                    drop(sessions);
                    let s = std::sync::Arc::new(Mutex::new(self.create()?));
                    let mut w = self.sessions.write().unwrap_or_else(|p| p.into_inner());
                    if w.len() < self.max {
                        w.push(std::sync::Arc::clone(&s));
                    }
                    s
                }
                None => std::sync::Arc::clone(&sessions[start % n]),
            }
        };
        let mut guard: MutexGuard<'_, Session> = slot.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}
