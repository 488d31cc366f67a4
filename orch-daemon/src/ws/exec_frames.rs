//! Nomad's `alloc exec` frame protocol: JSON text messages over the websocket of
//! `/v1/client/allocation/:id/exec`, byte payloads in base64 (Go's `[]byte`).
//!
//! From the caller: `{"stdin":{"data":"..."}}`, `{"stdin":{"close":true}}`,
//! `{"tty_size":{"height":24,"width":80}}`, and `{}` as a heartbeat every 10 s.
//! From the agent: `{"stdout":{"data":"..."}}`, `{"stderr":{"data":"..."}}`, then
//! `{"exited":true,"result":{"exit_code":0}}` and a normal close. An error ends the
//! session with a close frame whose reason is the message.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One stream operation: data, or the end of the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoOperation {
    /// The bytes (base64 on the wire).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "to_base64",
        deserialize_with = "from_base64"
    )]
    pub data: Vec<u8>,
    /// The stream ends (stdin: the caller's input reached end of file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

/// A terminal size in character cells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    /// Rows.
    #[serde(default)]
    pub height: u16,
    /// Columns.
    #[serde(default)]
    pub width: u16,
}

/// A message from the caller; at most one field is set, none is a heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecInput {
    /// Input for the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<IoOperation>,
    /// The caller's terminal changed size (only meaningful with a tty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty_size: Option<TerminalSize>,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitResult {
    /// Its exit code (128 + the signal when a signal ended it).
    pub exit_code: i32,
}

/// A message from the agent; at most one of the streams or the result is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecOutput {
    /// Output on the command's stdout (everything, with a tty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<IoOperation>,
    /// Output on its stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<IoOperation>,
    /// The command ended; `result` holds its code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
    /// Set with `exited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ExitResult>,
}

impl ExecOutput {
    /// A stdout chunk.
    pub fn stdout(data: Vec<u8>) -> ExecOutput {
        ExecOutput {
            stdout: Some(IoOperation { data, close: false }),
            ..ExecOutput::default()
        }
    }

    /// A stderr chunk.
    pub fn stderr(data: Vec<u8>) -> ExecOutput {
        ExecOutput {
            stderr: Some(IoOperation { data, close: false }),
            ..ExecOutput::default()
        }
    }

    /// The end of the command.
    pub fn exited(exit_code: i32) -> ExecOutput {
        ExecOutput {
            exited: true,
            result: Some(ExitResult { exit_code }),
            ..ExecOutput::default()
        }
    }
}

/// The first message when the URL says `ws_handshake=true` (browsers cannot set
/// headers on a websocket, so the token comes in the stream).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    /// Must be 1.
    pub version: i64,
    /// The ACL token's secret.
    #[serde(default)]
    pub auth_token: String,
}

fn to_base64<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    match text {
        None => Ok(Vec::new()),
        Some(t) => base64::engine::general_purpose::STANDARD
            .decode(t.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("data: not base64: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_and_write_as_nomad_sends_them() {
        let input: ExecInput = serde_json::from_str(r#"{"stdin":{"data":"aGk="}}"#).unwrap();
        assert_eq!(input.stdin.unwrap().data, b"hi");
        let close: ExecInput = serde_json::from_str(r#"{"stdin":{"close":true}}"#).unwrap();
        assert!(close.stdin.unwrap().close);
        let size: ExecInput =
            serde_json::from_str(r#"{"tty_size":{"height":24,"width":80}}"#).unwrap();
        assert_eq!(
            size.tty_size,
            Some(TerminalSize {
                height: 24,
                width: 80
            })
        );
        let beat: ExecInput = serde_json::from_str("{}").unwrap();
        assert_eq!(beat, ExecInput::default());
        assert_eq!(
            serde_json::to_string(&ExecOutput::stdout(b"hi".to_vec())).unwrap(),
            r#"{"stdout":{"data":"aGk="}}"#
        );
        assert_eq!(
            serde_json::to_string(&ExecOutput::exited(3)).unwrap(),
            r#"{"exited":true,"result":{"exit_code":3}}"#
        );
        assert!(serde_json::from_str::<ExecInput>(r#"{"stdin":{"data":"!!"}}"#).is_err());
    }
}
