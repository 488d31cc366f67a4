//! Errors of talking to (or serving) a CSI plugin. A plugin's gRPC status is kept whole
//! (code and message), because the CO's next step depends on the code: NOT_FOUND on a
//! delete is success, ALREADY_EXISTS on a create is a conflict to show the user,
//! UNAVAILABLE and DEADLINE_EXCEEDED are worth a retry.

use std::path::PathBuf;
use std::time::Duration;

use tonic::Code;

/// What went wrong with a CSI call, a connection or a served socket.
#[derive(Debug, thiserror::Error)]
pub enum CsiError {
    /// The plugin's socket could not be reached.
    #[error(
        "cannot connect to the CSI plugin at {}: {message}; check that the plugin task is \
         running and that its socket path (csi_plugin mount_dir) is right",
        socket.display()
    )]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// Why.
        message: String,
    },
    /// The plugin answered the call with a non-OK gRPC status.
    #[error("CSI {method} failed: {}: {message}{}", code_name(*code), hint(*code))]
    Status {
        /// The full gRPC method, e.g. `/csi.v1.Controller/CreateVolume`.
        method: &'static str,
        /// The plugin's status code.
        code: Code,
        /// The plugin's message.
        message: String,
    },
    /// The call did not finish within its deadline.
    #[error(
        "CSI {method} did not answer within {timeout:?}; the plugin may be overloaded or \
         stuck: check its logs, then retry"
    )]
    Timeout {
        /// The full gRPC method.
        method: &'static str,
        /// The deadline it had.
        timeout: Duration,
    },
    /// The plugin answered OK but left out a field the spec requires.
    #[error("CSI {method}: the plugin's answer has no {field} (the spec requires it)")]
    MissingField {
        /// The full gRPC method.
        method: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// The request would exceed [`crate::csi::MAX_MESSAGE_BYTES`]; it was not sent.
    #[error(
        "CSI {method}: the request is {bytes} bytes, over the {limit}-byte limit; shorten \
         its parameters, secrets or mount flags"
    )]
    TooLarge {
        /// The full gRPC method.
        method: &'static str,
        /// The request's encoded size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Serving: the socket could not be prepared or bound.
    #[error("cannot listen on the CSI socket {}: {source}", socket.display())]
    Listen {
        /// The socket.
        socket: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Serving: the gRPC server stopped with an error.
    #[error("the CSI gRPC server on {} failed: {message}", socket.display())]
    Serve {
        /// The socket.
        socket: PathBuf,
        /// Why.
        message: String,
    },
}

impl CsiError {
    /// Turns a call's status into an error (an OK status cannot reach here).
    pub(crate) fn from_status(method: &'static str, status: tonic::Status) -> Self {
        CsiError::Status {
            method,
            code: status.code(),
            message: status.message().to_string(),
        }
    }

    /// The gRPC code: the plugin's, `DeadlineExceeded` for a timeout, `Unavailable` for
    /// a connection that failed, `Internal` for an answer that breaks the spec.
    pub fn code(&self) -> Code {
        match self {
            CsiError::Status { code, .. } => *code,
            CsiError::Timeout { .. } => Code::DeadlineExceeded,
            CsiError::Connect { .. } | CsiError::Listen { .. } | CsiError::Serve { .. } => {
                Code::Unavailable
            }
            CsiError::MissingField { .. } => Code::Internal,
            CsiError::TooLarge { .. } => Code::OutOfRange,
        }
    }

    /// The plugin's message, or this error's text.
    pub fn message(&self) -> String {
        match self {
            CsiError::Status { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// NOT_FOUND: the volume, snapshot or node does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Code::NotFound
    }

    /// ALREADY_EXISTS: a volume or snapshot of that name exists and is incompatible.
    pub fn is_already_exists(&self) -> bool {
        self.code() == Code::AlreadyExists
    }

    /// INVALID_ARGUMENT: the request was refused as malformed.
    pub fn is_invalid_argument(&self) -> bool {
        self.code() == Code::InvalidArgument
    }

    /// UNIMPLEMENTED: the plugin does not offer this RPC.
    pub fn is_unimplemented(&self) -> bool {
        self.code() == Code::Unimplemented
    }

    /// Whether retrying the same call later may succeed (the spec's retry advice:
    /// unavailable, deadline exceeded, aborted (an operation in flight), exhausted).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted | Code::ResourceExhausted
        )
    }
}

/// The spec's upper-case name of a code (`NOT_FOUND`), as plugin docs and logs use it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// What the user can do about a code.
fn hint(code: Code) -> &'static str {
    match code {
        Code::Unimplemented => " (the plugin does not offer this call; check its capabilities)",
        Code::Unavailable => " (the plugin is not reachable; check that its task is running)",
        Code::Aborted => " (another operation on this volume is in flight; retry later)",
        Code::InvalidArgument => " (the request was refused; fix the named field)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_keep_code_and_message_and_say_what_to_do() {
        let err = CsiError::from_status(
            "/csi.v1.Controller/DeleteVolume",
            tonic::Status::not_found("volume vol1 does not exist"),
        );
        assert!(err.is_not_found());
        assert!(!err.is_retryable());
        assert_eq!(err.message(), "volume vol1 does not exist");
        assert_eq!(
            err.to_string(),
            "CSI /csi.v1.Controller/DeleteVolume failed: NOT_FOUND: volume vol1 does not exist"
        );
        let timeout = CsiError::Timeout {
            method: "/csi.v1.Identity/Probe",
            timeout: Duration::from_secs(1),
        };
        assert_eq!(timeout.code(), Code::DeadlineExceeded);
        assert!(timeout.is_retryable());
        assert!(timeout.to_string().contains("check its logs"));
    }
}
