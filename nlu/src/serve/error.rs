//! The server's errors: the ones it answers a request with ([`ApiError`], in Rasa's JSON
//! shape) and the ones that stop it from starting ([`ServeError`]).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;

/// The Rasa version whose HTTP API `nlu serve` implements: `GET /version` reports it, and
/// error bodies carry it, as Rasa's do.
pub const RASA_API_VERSION: &str = "3.6.20";

/// The oldest Rasa version whose clients work with this API (`GET /version`).
pub const MINIMUM_COMPATIBLE_VERSION: &str = "3.5.0";

/// An error answered to a request, as Rasa answers it: a status code and the body
/// `{"version", "status": "failure", "message", "reason", "details", "help", "code"}`.
///
/// ```
/// # #[cfg(feature = "serve")] {
/// use nlu::serve::ApiError;
/// let e = ApiError::BadRequest("no text".into());
/// assert_eq!(e.status().as_u16(), 400);
/// assert_eq!(e.reason(), "BadRequest");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or the wrong one (401).
    #[error("User is not authenticated.")]
    NotAuthenticated,
    /// The request is malformed: not JSON, a field missing or of the wrong type (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than `--max-body-bytes` (413).
    #[error("The request body is larger than the server's limit of {limit} bytes.")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// As many training jobs as `--max-training-jobs` allows are running (429).
    #[error("{limit} training job(s) are already running, the most this server runs at once; try again when one has finished.")]
    TooManyTrainingJobs {
        /// The most training jobs at once.
        limit: usize,
    },
    /// The server was started without `--models DIR`, where trained models go (501).
    #[error("Training is off: this server was started without --models DIR, the directory trained models are written to and loaded from.")]
    TrainingDisabled,
    /// The training data is not valid Rasa NLU YAML (400).
    #[error("The training data is not valid: {0}")]
    InvalidTrainingData(String),
    /// Training failed for another reason (500).
    #[error("Ran training, but it finished without a trained model. Error: {0}")]
    TrainingError(String),
    /// A model could not be found or loaded (500, as Rasa answers `PUT /model`).
    #[error("An unexpected error occurred. Error: {0}")]
    LoadingError(String),
    /// The parser failed on a text (400, as Rasa answers `POST /model/parse`).
    #[error("An unexpected error occurred. Error: {0}")]
    ParsingError(String),
    /// No such route (404).
    #[error("Requested URL {0} not found")]
    NotFound(String),
    /// The route exists, not with this method (405).
    #[error("Method {0} not allowed for this URL")]
    MethodNotAllowed(String),
}

impl ApiError {
    /// The HTTP status code Rasa uses for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) | ApiError::InvalidTrainingData(_) => StatusCode::BAD_REQUEST,
            ApiError::ParsingError(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyTrainingJobs { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TrainingDisabled => StatusCode::NOT_IMPLEMENTED,
            ApiError::TrainingError(_) | ApiError::LoadingError(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The `reason` field: Rasa's name for the error.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotAuthenticated => "NotAuthenticated",
            ApiError::BadRequest(_) | ApiError::InvalidTrainingData(_) => "BadRequest",
            ApiError::PayloadTooLarge { .. } => "PayloadTooLarge",
            ApiError::TooManyTrainingJobs { .. } => "TooManyTrainingJobs",
            ApiError::TrainingDisabled => "TrainingDisabled",
            ApiError::TrainingError(_) => "TrainingError",
            ApiError::LoadingError(_) => "LoadingError",
            ApiError::ParsingError(_) => "ParsingError",
            ApiError::NotFound(_) => "NotFound",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
        }
    }

    /// The `help` field: where the documentation says more, if anywhere.
    fn help(&self) -> Option<&'static str> {
        match self {
            ApiError::NotAuthenticated => Some(
                "https://rasa.com/docs/rasa/user-guide/configuring-http-api/#security-considerations",
            ),
            ApiError::BadRequest(_) | ApiError::InvalidTrainingData(_) => {
                Some("https://rasa.com/docs/rasa/pages/http-api")
            }
            _ => None,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "version": RASA_API_VERSION,
            "status": "failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "details": {},
            "help": self.help(),
            "code": self.status().as_u16(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(reason = self.reason(), "{self}");
        } else {
            tracing::debug!(reason = self.reason(), "{self}");
        }
        let mut response = (status, super::JsonBody(self.body())).into_response();
        if let ApiError::TooManyTrainingJobs { .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        response
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The model given with `--model` could not be loaded.
    #[error("loading the model {path}: {source}")]
    Load {
        /// The model directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::NluError,
    },
    /// `--models DIR` could not be created.
    #[error("models directory {path}: {source}")]
    ModelsDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The runtime or the server failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}
