//! `nlu serve`: the parser behind the subset of Rasa 3's HTTP API that clients use
//! (feature `serve`, on by default).
//!
//! | route | does |
//! | --- | --- |
//! | `GET /`, `GET /version` | a greeting; `{"version", "minimum_compatible_version"}` |
//! | `GET /status` | `{"model_id", "model_file", "num_active_training_jobs", "fingerprint"}` |
//! | `POST /model/parse` | `{"text", "message_id"?}` → the contract's parse result (+ `message_id`) |
//! | `POST /model/parse/batch` | `{"texts": [...]}` → `{"results": [...]}`, parsed on all cores |
//! | `POST /model/train` | Rasa NLU YAML (or JSON `{"nlu": "<yaml>"}`) → the model as a tar attachment |
//! | `PUT /model` | `{"model_file": "<path or name>"}` → 204, the model swapped in atomically |
//! | `GET /metrics` | Prometheus text: requests, latency, outcomes per intent, training jobs |
//!
//! Every route but `/`, `/version` and `/metrics` needs `?token=T` when the server has a
//! token, as Rasa's `--auth-token`. Errors are Rasa's JSON (see [`ApiError`]).
//!
//! ```no_run
//! use nlu::serve::{run, ServeConfig};
//! let config = ServeConfig {
//!     model: nlu::default_model_dir()?,
//!     models_dir: Some("/var/lib/nlu/models".into()),
//!     token: Some("s3cret".into()),
//!     ..ServeConfig::default()
//! };
//! run(config)?; // until SIGTERM or ctrl-c
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod metrics;
mod tar;

pub use error::{ApiError, ServeError, MINIMUM_COMPATIBLE_VERSION, RASA_API_VERSION};
pub use metrics::Metrics;

use crate::classifier::cascade::Stage;
use crate::{Catalog, NluError, Outcome, ParseResult, Parser, ParserOptions};
use arc_swap::ArcSwap;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How `nlu serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The model served at start.
    pub model: PathBuf,
    /// Where `POST /model/train` writes models and where `PUT /model` finds them by file
    /// name; without it, training is off.
    pub models_dir: Option<PathBuf>,
    /// The address to listen on (port 0: any free port; the bound address is printed).
    pub listen: SocketAddr,
    /// The token every request but `/`, `/version` and `/metrics` must carry as `?token=`.
    pub token: Option<String>,
    /// The catalog for models that expect one (default: `config/catalog.toml`).
    pub catalog: Option<PathBuf>,
    /// The encoder trained models are built on (default: `models/multilingual-e5-small`).
    pub encoder: Option<PathBuf>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The most training jobs running at once; more are answered 429.
    pub max_training_jobs: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            model: PathBuf::from("models/ops-intents"),
            models_dir: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 5005)),
            token: None,
            catalog: None,
            encoder: None,
            max_body_bytes: 1 << 20,
            max_training_jobs: 1,
        }
    }
}

/// A JSON response (`application/json`), serialized with serde_json.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: Serialize> IntoResponse for JsonBody<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
}

/// The model being served.
struct Loaded {
    parser: Parser,
    /// `model_id` in `/status`: the model directory's name.
    id: String,
    /// `model_file` in `/status`: the path it was loaded from (for trained models, the
    /// archive name `POST /model/train` answered, under the models directory).
    file: String,
}

/// The server's state, shared by all requests.
struct AppState {
    config: ServeConfig,
    model: ArcSwap<Loaded>,
    training: Arc<Semaphore>,
    metrics: Metrics,
    trained: AtomicU64,
}

/// A running server's routes, for embedding `nlu serve` in another axum application.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let server = nlu::serve::Server::new(nlu::serve::ServeConfig::default())?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5005").await?;
/// axum::serve(listener, server.router()).await?;
/// # Ok(()) }
/// ```
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// Loads the model of `config.model` and creates the models directory if one is given.
    pub fn new(config: ServeConfig) -> Result<Server, ServeError> {
        if let Some(dir) = &config.models_dir {
            std::fs::create_dir_all(dir).map_err(|source| ServeError::ModelsDir {
                path: dir.clone(),
                source,
            })?;
        }
        let parser = load_parser(&config.model, config.catalog.as_deref()).map_err(|source| {
            ServeError::Load {
                path: config.model.clone(),
                source,
            }
        })?;
        let loaded = Loaded {
            parser,
            id: dir_name(&config.model),
            file: config.model.display().to_string(),
        };
        let training = Arc::new(Semaphore::new(config.max_training_jobs));
        Ok(Server {
            state: Arc::new(AppState {
                config,
                model: ArcSwap::from_pointee(loaded),
                training,
                metrics: Metrics::default(),
                trained: AtomicU64::new(0),
            }),
        })
    }

    /// The routes, with authentication, the body limit and metrics.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        let protected = Router::new()
            .route("/status", get(status))
            .route("/model/parse", post(parse))
            .route("/model/parse/batch", post(parse_batch))
            .route("/model/train", post(train))
            .route("/model", put(load_model))
            .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
        Router::new()
            .route("/", get(hello))
            .route("/version", get(version))
            .route("/metrics", get(metrics))
            .merge(protected)
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                limit_declared_size,
            ))
            .layer(middleware::from_fn_with_state(state.clone(), observe))
            .with_state(state)
    }
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: Server,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, server.router())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Loads the model, binds `config.listen`, prints `nlu serve: listening on http://ADDR` on
/// stdout and serves until SIGTERM or ctrl-c (requests in flight are answered first).
pub fn run(config: ServeConfig) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let server = Server::new(config.clone())?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr()?;
        println!("nlu serve: listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tracing::info!(%addr, model = %config.model.display(), "listening");
        serve(listener, server, shutdown_signal()).await
    });
    // a training job still running is not waited for long
    runtime.shutdown_timeout(Duration::from_secs(5));
    tracing::info!("stopped");
    result
}

/// Completes on SIGTERM or ctrl-c (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for ctrl-c: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// Loads a model with the catalog it expects (none for models that expect none).
fn load_parser(model: &Path, catalog: Option<&Path>) -> crate::Result<Parser> {
    let catalog = match catalog {
        Some(p) => Some(Catalog::load(p)?),
        None if crate::model::ModelMeta::load(model)?.entities.catalog => {
            Some(Catalog::load(&crate::default_catalog_path()?)?)
        }
        None => None,
    };
    Parser::load_with(
        model,
        ParserOptions {
            catalog,
            ..Default::default()
        },
    )
}

fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Counts and times every request, by its route (the pattern, not the path).
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let method = req.method().clone();
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .record_request(&route, method.as_str(), status, elapsed);
    tracing::debug!(%method, route, status, ms = elapsed.as_secs_f64() * 1e3, "request");
    response
}

/// Answers 413 before reading a body whose declared `Content-Length` is over the limit (a
/// client sending `Expect: 100-continue` then sends nothing); bodies without one are cut
/// off at the limit as they are read.
async fn limit_declared_size(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > state.config.max_body_bytes as u64 => ApiError::PayloadTooLarge {
            limit: state.config.max_body_bytes,
        }
        .into_response(),
        _ => next.run(req).await,
    }
}

/// Rasa's token authentication: `?token=T` (also `?&token=T`, as opsdroid sends it).
async fn authenticate(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    req: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.config.token else {
        return next.run(req).await;
    };
    let given = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v)
        });
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => next.run(req).await,
        _ => ApiError::NotAuthenticated.into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn hello() -> String {
    format!(
        "Hello from Rasa: {RASA_API_VERSION} (nlu {})",
        env!("CARGO_PKG_VERSION")
    )
}

async fn version() -> JsonBody<serde_json::Value> {
    JsonBody(serde_json::json!({
        "version": RASA_API_VERSION,
        "minimum_compatible_version": MINIMUM_COMPATIBLE_VERSION,
        "nlu_version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn status(State(state): State<Arc<AppState>>) -> JsonBody<serde_json::Value> {
    let model = state.model.load();
    JsonBody(serde_json::json!({
        "model_id": model.id,
        "model_file": model.file,
        "num_active_training_jobs": state.metrics.training_active.load(Ordering::Relaxed),
        "fingerprint": {},
    }))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_string())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// The body, or the error Rasa answers: 413 past the limit, 400 when it cannot be read.
fn body_bytes(
    state: &AppState,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: state.config.max_body_bytes,
            }
        } else {
            ApiError::BadRequest(format!("Cannot read the request body: {}", r.body_text()))
        }
    })
}

/// A JSON body: any content type is accepted (clients such as opsdroid send JSON as
/// text/plain).
fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "The request body is not valid JSON of the expected shape: {e}"
        ))
    })
}

#[derive(Deserialize)]
struct ParseRequest {
    text: Option<serde_json::Value>,
    #[serde(default)]
    message_id: Option<serde_json::Value>,
}

/// `POST /model/parse`'s answer: the contract's result, plus Rasa's `message_id` echo.
#[derive(Serialize)]
struct ParseResponse {
    #[serde(flatten)]
    result: ParseResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<serde_json::Value>,
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Understood => "understood",
        Outcome::Clarify => "clarify",
        Outcome::OutOfScope => "out_of_scope",
    }
}

fn record_outcomes(state: &AppState, results: &[(ParseResult, Stage)]) {
    for (r, stage) in results {
        state
            .metrics
            .record_outcome(r.intent.name.as_str(), outcome_name(r.outcome));
        state.metrics.record_stage(*stage);
    }
}

async fn parse(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<JsonBody<ParseResponse>, ApiError> {
    let bytes = body_bytes(&state, body)?;
    let req: ParseRequest = json_body(&bytes)?;
    let text = match req.text {
        Some(serde_json::Value::String(s)) => s,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "The field 'text' must be a string.".into(),
            ))
        }
        None => {
            return Err(ApiError::BadRequest(
                "The request body has no 'text' field; send {\"text\": \"...\"}.".into(),
            ))
        }
    };
    let model = state.model.load_full();
    let staged = tokio::task::spawn_blocking(move || model.parser.parse_staged(&text))
        .await
        .map_err(|e| ApiError::ParsingError(e.to_string()))?
        .map_err(|e| ApiError::ParsingError(e.to_string()))?;
    record_outcomes(&state, std::slice::from_ref(&staged));
    let result = staged.0;
    Ok(JsonBody(ParseResponse {
        result,
        message_id: req.message_id,
    }))
}

#[derive(Deserialize)]
struct BatchRequest {
    texts: Vec<String>,
}

#[derive(Serialize)]
struct BatchResponse {
    results: Vec<ParseResult>,
}

async fn parse_batch(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<JsonBody<BatchResponse>, ApiError> {
    let bytes = body_bytes(&state, body)?;
    let req: BatchRequest = json_body(&bytes)?;
    let model = state.model.load_full();
    let staged = tokio::task::spawn_blocking(move || model.parser.parse_batch_staged(&req.texts))
        .await
        .map_err(|e| ApiError::ParsingError(e.to_string()))?
        .map_err(|e| ApiError::ParsingError(e.to_string()))?;
    record_outcomes(&state, &staged);
    let results = staged.into_iter().map(|(r, _)| r).collect();
    Ok(JsonBody(BatchResponse { results }))
}

/// The training data of a `POST /model/train` body: YAML as such, or JSON whose `nlu` field
/// holds it (Rasa's JSON form).
fn training_yaml(headers: &HeaderMap, bytes: &[u8]) -> Result<String, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if is_json {
        let v: serde_json::Value = json_body(bytes)?;
        return match v.get("nlu") {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            _ => Err(ApiError::BadRequest(
                "A JSON training request needs an 'nlu' field holding the NLU training data as a YAML string.".into(),
            )),
        };
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        ApiError::BadRequest("The training data is not valid UTF-8; send it as UTF-8.".into())
    })
}

/// A model name as Rasa makes them: the time, then something unique.
fn model_name(state: &AppState, yaml: &str) -> String {
    use std::hash::{Hash, Hasher};
    let n = state.trained.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    yaml.hash(&mut h);
    n.hash(&mut h);
    std::process::id().hash(&mut h);
    chrono::Utc::now().timestamp_nanos_opt().hash(&mut h);
    format!(
        "{}-{:08x}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        h.finish() as u32
    )
}

/// A training job's hold on the server: its permit and its place in the active-jobs gauge,
/// both released when the job ends, even if the client has gone away before.
struct ActiveJob {
    state: Arc<AppState>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for ActiveJob {
    fn drop(&mut self) {
        self.state
            .metrics
            .training_active
            .fetch_sub(1, Ordering::Relaxed);
    }
}

async fn train(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(models_dir) = state.config.models_dir.clone() else {
        return Err(ApiError::TrainingDisabled);
    };
    let bytes = body_bytes(&state, body)?;
    let yaml = training_yaml(&headers, &bytes)?;
    let Ok(permit) = state.training.clone().try_acquire_owned() else {
        return Err(ApiError::TooManyTrainingJobs {
            limit: state.config.max_training_jobs,
        });
    };
    state
        .metrics
        .training_active
        .fetch_add(1, Ordering::Relaxed);
    let active = ActiveJob {
        state: state.clone(),
        _permit: permit,
    };
    let name = model_name(&state, &yaml);
    let encoder = match &state.config.encoder {
        Some(e) => e.clone(),
        None => crate::default_encoder_dir().map_err(|e| ApiError::TrainingError(e.to_string()))?,
    };
    tracing::info!(model = %name, bytes = yaml.len(), "training");
    let job_name = name.clone();
    // the job runs to its end even if the client disconnects
    let job = tokio::task::spawn_blocking(move || {
        let outcome = train_model(&models_dir, &job_name, &yaml, &encoder);
        active.state.metrics.record_training(outcome.is_ok());
        drop(active);
        outcome
    });
    let archive = job
        .await
        .map_err(|e| ApiError::TrainingError(e.to_string()))??;
    let file = format!("{name}.tar");
    tracing::info!(model = %name, "trained");
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .map_err(|e| ApiError::TrainingError(e.to_string()))?;
    let filename =
        HeaderValue::from_str(&file).map_err(|e| ApiError::TrainingError(e.to_string()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-tar"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("filename"), filename),
        ],
        archive,
    )
        .into_response())
}

/// Trains `yaml` into `<models_dir>/<name>` (via a temporary directory, renamed when
/// complete) and returns the model directory as a tar archive.
fn train_model(
    models_dir: &Path,
    name: &str,
    yaml: &str,
    encoder: &Path,
) -> Result<Vec<u8>, ApiError> {
    let data = models_dir.join(format!(".data-{name}"));
    let partial = models_dir.join(format!(".partial-{name}"));
    let io = |e: std::io::Error| ApiError::TrainingError(e.to_string());
    std::fs::create_dir_all(&data).map_err(io)?;
    let result = (|| {
        std::fs::write(data.join("nlu.yml"), yaml).map_err(io)?;
        crate::train::train_dir(
            &data,
            &partial,
            encoder,
            &crate::train::TrainOptions {
                progress: false,
                ..Default::default()
            },
        )
        .map_err(|e| match e {
            NluError::TrainingData { reason, line, .. } => {
                ApiError::InvalidTrainingData(match line {
                    Some(l) => format!("line {l}: {reason}"),
                    None => reason,
                })
            }
            e => ApiError::TrainingError(e.to_string()),
        })?;
        // the encoder path in model.json is relative to the model directory, which keeps it
        // valid after the rename to a sibling
        let done = models_dir.join(name);
        std::fs::rename(&partial, &done).map_err(io)?;
        tar::tar_dir(&done, name).map_err(io)
    })();
    let _ = std::fs::remove_dir_all(&data);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

#[derive(Deserialize)]
struct LoadRequest {
    model_file: Option<String>,
    #[serde(default)]
    model_server: Option<serde_json::Value>,
    #[serde(default)]
    remote_storage: Option<serde_json::Value>,
}

/// The model directory a `model_file` names: its last component, less `.tar.gz` or `.tar`,
/// in the models directory; or the model served at start, by its path or name.
fn resolve_model(config: &ServeConfig, model_file: &str) -> Result<(PathBuf, String), ApiError> {
    let start = config.model.display().to_string();
    if model_file == start || model_file == dir_name(&config.model) {
        return Ok((config.model.clone(), start));
    }
    let Some(models_dir) = &config.models_dir else {
        return Err(ApiError::LoadingError(format!(
            "no model {model_file:?}: this server was started without --models DIR, so it serves only {start}"
        )));
    };
    let base = Path::new(model_file)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let stem = base
        .strip_suffix(".tar.gz")
        .or_else(|| base.strip_suffix(".tar"))
        .unwrap_or(base);
    if stem.is_empty() || stem.starts_with('.') {
        return Err(ApiError::LoadingError(format!(
            "{model_file:?} does not name a model"
        )));
    }
    let dir = models_dir.join(stem);
    if !dir.join("model.json").is_file() {
        return Err(ApiError::LoadingError(format!(
            "no model {stem:?} in {} (model files are looked up there by name)",
            models_dir.display()
        )));
    }
    let file = models_dir.join(format!("{stem}.tar")).display().to_string();
    Ok((dir, file))
}

async fn load_model(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let bytes = body_bytes(&state, body)?;
    let req: LoadRequest = json_body(&bytes)?;
    if req.model_server.is_some() || req.remote_storage.is_some() {
        return Err(ApiError::BadRequest(
            "Loading from a model server or remote storage is not supported; give 'model_file'."
                .into(),
        ));
    }
    let Some(model_file) = req.model_file else {
        return Err(ApiError::BadRequest(
            "The request body has no 'model_file' field.".into(),
        ));
    };
    let (dir, file) = resolve_model(&state.config, &model_file)?;
    let catalog = state.config.catalog.clone();
    let id = dir_name(&dir);
    let loaded = tokio::task::spawn_blocking(move || load_parser(&dir, catalog.as_deref()))
        .await
        .map_err(|e| ApiError::LoadingError(e.to_string()))
        .and_then(|r| r.map_err(|e| ApiError::LoadingError(e.to_string())));
    state.metrics.record_load(loaded.is_ok());
    let parser = loaded?;
    tracing::info!(model = %id, "loaded");
    state.model.store(Arc::new(Loaded { parser, id, file }));
    Ok(StatusCode::NO_CONTENT)
}
