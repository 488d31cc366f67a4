//! [`CommandBatch`], the payload of a normal log entry: the commands the batcher put in
//! one entry, shared, encoded at most once and decoded only when applied.
//!
//! An entry is read many times after it is appended (once per follower stream, once by
//! the state machine) and written twice (disk and network). Sharing the batch behind an
//! `Arc` makes those reads a reference-count bump instead of a deep copy of every job.
//! The postcard encoding is cached: the leader encodes an entry once for its disk and
//! both followers. A batch that arrives as bytes (from a peer, or read back from disk to
//! catch a lagging follower up) stays bytes until the state machine applies it, so
//! replaying old entries to a follower costs no decoding, and a follower decodes each
//! entry exactly once.
//!
//! On the wire and on disk the batch is a postcard byte string holding the postcard
//! `Vec<Command>`.

use std::fmt;
use std::sync::{Arc, OnceLock};

use orch_core::state::Command;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};

/// The commands of one log entry, applied in order under the entry's index.
#[derive(Clone)]
pub struct CommandBatch(Arc<Inner>);

enum Inner {
    /// Proposed on this server: the commands, and their encoding once first needed.
    Proposed {
        commands: Vec<Command>,
        encoded: OnceLock<Result<Vec<u8>, String>>,
    },
    /// Arrived as bytes (from a peer or this server's disk): decoded only when applied.
    Received(Vec<u8>),
}

/// One command and its postcard encoding, made on the writer's task: the batcher bounds
/// an entry by these sizes, and the entry's encoding is their concatenation.
pub(crate) struct EncodedCommand {
    /// The command.
    pub(crate) cmd: Command,
    /// Its postcard encoding.
    pub(crate) bytes: Vec<u8>,
}

impl EncodedCommand {
    /// Encodes `cmd`; an error names why postcard refused it (a bug, not an input error).
    pub(crate) fn new(cmd: Command) -> Result<EncodedCommand, String> {
        let bytes = postcard::to_allocvec(&cmd)
            .map_err(|e| format!("encoding the command failed ({e}); this is a bug in orch"))?;
        Ok(EncodedCommand { cmd, bytes })
    }
}

/// The postcard encoding of a `Vec<Command>` from the encodings of its commands: the
/// sequence's length as a varint, then the elements, as postcard lays out a sequence.
pub(crate) fn encode_seq<'a>(pieces: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> Vec<u8> {
    let total: usize = pieces.clone().map(<[u8]>::len).sum();
    let mut out = Vec::with_capacity(total + 10);
    let mut n = pieces.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    for p in pieces {
        out.extend_from_slice(p);
    }
    out
}

/// A log entry whose bytes do not decode to commands (a corrupt log or a peer running an
/// incompatible version).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "a log entry's commands do not decode: {0}; the Raft log in the data dir was written by an incompatible orch version or is corrupt"
)]
pub struct UndecodableBatch(String);

impl CommandBatch {
    /// A batch of commands not yet encoded.
    pub fn new(commands: Vec<Command>) -> CommandBatch {
        CommandBatch(Arc::new(Inner::Proposed {
            commands,
            encoded: OnceLock::new(),
        }))
    }

    /// A batch of commands already encoded one by one: its encoding is their
    /// concatenation, made here instead of a second encoding pass later.
    pub(crate) fn from_encoded(items: Vec<EncodedCommand>) -> CommandBatch {
        let encoded = OnceLock::new();
        let _ = encoded.set(Ok(encode_seq(items.iter().map(|i| i.bytes.as_slice()))));
        CommandBatch(Arc::new(Inner::Proposed {
            commands: items.into_iter().map(|i| i.cmd).collect(),
            encoded,
        }))
    }

    /// The commands by value, in proposal order: moved out when this is the last
    /// reference to a batch proposed here, cloned when the log still shares it, decoded
    /// when the batch arrived as bytes.
    pub fn into_commands(self) -> Result<Vec<Command>, UndecodableBatch> {
        match Arc::try_unwrap(self.0) {
            Ok(Inner::Proposed { commands, .. }) => Ok(commands),
            Ok(Inner::Received(bytes)) => decode_commands(&bytes),
            Err(shared) => match &*shared {
                Inner::Proposed { commands, .. } => Ok(commands.clone()),
                Inner::Received(bytes) => decode_commands(bytes),
            },
        }
    }

    /// The size of the encoded commands, once encoded (always, for a batch that arrived
    /// as bytes); replication uses it to cap the size of a request.
    pub fn encoded_len(&self) -> Option<usize> {
        match &*self.0 {
            Inner::Proposed { encoded, .. } => match encoded.get() {
                Some(Ok(bytes)) => Some(bytes.len()),
                _ => None,
            },
            Inner::Received(bytes) => Some(bytes.len()),
        }
    }

    fn encoded(&self) -> Result<&[u8], &str> {
        match &*self.0 {
            Inner::Proposed { commands, encoded } => {
                match encoded
                    .get_or_init(|| postcard::to_allocvec(commands).map_err(|e| e.to_string()))
                {
                    Ok(bytes) => Ok(bytes),
                    Err(e) => Err(e),
                }
            }
            Inner::Received(bytes) => Ok(bytes),
        }
    }
}

fn decode_commands(bytes: &[u8]) -> Result<Vec<Command>, UndecodableBatch> {
    postcard::from_bytes(bytes).map_err(|e| UndecodableBatch(e.to_string()))
}

impl fmt::Debug for CommandBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Inner::Proposed { commands, .. } => f.debug_list().entries(commands).finish(),
            Inner::Received(bytes) => write!(f, "CommandBatch({} encoded bytes)", bytes.len()),
        }
    }
}

impl PartialEq for CommandBatch {
    /// Same commands: compared decoded when either side is only bytes.
    fn eq(&self, other: &CommandBatch) -> bool {
        if Arc::ptr_eq(&self.0, &other.0) {
            return true;
        }
        match (&*self.0, &*other.0) {
            (Inner::Proposed { commands: a, .. }, Inner::Proposed { commands: b, .. }) => a == b,
            _ => matches!(
                (self.clone().into_commands(), other.clone().into_commands()),
                (Ok(a), Ok(b)) if a == b
            ),
        }
    }
}

impl Serialize for CommandBatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self
            .encoded()
            .map_err(|e| ser::Error::custom(format!("encoding a log entry's commands: {e}")))?;
        serializer.serialize_bytes(bytes)
    }
}

impl<'de> Deserialize<'de> for CommandBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CommandBatch, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the postcard bytes of a log entry's commands")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        let bytes = deserializer.deserialize_byte_buf(BytesVisitor)?;
        Ok(CommandBatch(Arc::new(Inner::Received(bytes))))
    }
}

#[cfg(test)]
mod tests;
