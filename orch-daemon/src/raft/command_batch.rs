//! [`CommandBatch`], the payload of a normal log entry: the commands the batcher put in
//! one entry, shared and encoded at most once.
//!
//! An entry is read many times after it is appended (once per follower stream, once by
//! the state machine) and written twice (disk and network). Sharing the commands behind an
//! `Arc` makes those reads a reference-count bump instead of a deep copy of every job,
//! and caching the postcard encoding means the leader encodes an entry once for its disk
//! and both followers, and a follower keeps the bytes it received for its own disk.
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

struct Inner {
    commands: Vec<Command>,
    /// The postcard `Vec<Command>`, filled on first encode (or from the received bytes).
    encoded: OnceLock<Result<Vec<u8>, String>>,
}

impl CommandBatch {
    /// A batch of commands not yet encoded.
    pub fn new(commands: Vec<Command>) -> CommandBatch {
        CommandBatch(Arc::new(Inner {
            commands,
            encoded: OnceLock::new(),
        }))
    }

    /// The commands, in proposal order.
    pub fn commands(&self) -> &[Command] {
        &self.0.commands
    }

    /// How many commands the entry carries.
    pub fn len(&self) -> usize {
        self.0.commands.len()
    }

    /// True for a batch with no command (never proposed, but decodable).
    pub fn is_empty(&self) -> bool {
        self.0.commands.is_empty()
    }

    /// The commands by value: moved out when this is the last reference, cloned when
    /// the log still shares the entry.
    pub fn into_commands(self) -> Vec<Command> {
        match Arc::try_unwrap(self.0) {
            Ok(inner) => inner.commands,
            Err(shared) => shared.commands.clone(),
        }
    }

    fn encoded(&self) -> Result<&[u8], &str> {
        match self
            .0
            .encoded
            .get_or_init(|| postcard::to_allocvec(&self.0.commands).map_err(|e| e.to_string()))
        {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(e),
        }
    }

    fn decode(bytes: Vec<u8>) -> Result<CommandBatch, postcard::Error> {
        let commands: Vec<Command> = postcard::from_bytes(&bytes)?;
        Ok(CommandBatch(Arc::new(Inner {
            commands,
            encoded: OnceLock::from(Ok(bytes)),
        })))
    }
}

impl From<Vec<Command>> for CommandBatch {
    fn from(commands: Vec<Command>) -> CommandBatch {
        CommandBatch::new(commands)
    }
}

impl fmt::Debug for CommandBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.commands()).finish()
    }
}

impl PartialEq for CommandBatch {
    fn eq(&self, other: &CommandBatch) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.commands() == other.commands()
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
        CommandBatch::decode(bytes)
            .map_err(|e| de::Error::custom(format!("decoding a log entry's commands: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::state::{Command, NodeDeregister};

    fn batch() -> CommandBatch {
        CommandBatch::new(vec![
            Command::NodeDeregister(NodeDeregister {
                node_ids: vec!["n1".into()],
            }),
            Command::NodeDeregister(NodeDeregister {
                node_ids: vec!["n2".into()],
            }),
        ])
    }

    #[test]
    fn postcard_round_trip_keeps_commands_and_bytes() {
        let b = batch();
        let wire = postcard::to_allocvec(&b).unwrap();
        let back: CommandBatch = postcard::from_bytes(&wire).unwrap();
        assert_eq!(back.commands(), b.commands());
        // Re-encoding the received batch yields the same bytes (they were kept).
        assert_eq!(postcard::to_allocvec(&back).unwrap(), wire);
    }

    #[test]
    fn garbage_bytes_are_an_error_not_a_panic() {
        let wire = postcard::to_allocvec(&serde_bytes_like(&[0xff, 0xff, 0xff])).unwrap();
        let err = postcard::from_bytes::<CommandBatch>(&wire).unwrap_err();
        assert!(matches!(err, postcard::Error::SerdeDeCustom), "{err:?}");
    }

    #[test]
    fn into_commands_moves_the_last_reference_and_clones_a_shared_one() {
        let b = batch();
        let shared = b.clone();
        assert_eq!(b.into_commands().len(), 2);
        assert_eq!(shared.into_commands().len(), 2);
    }

    /// A postcard byte string (length prefix and bytes), as the batch encodes itself.
    fn serde_bytes_like(bytes: &[u8]) -> impl Serialize + '_ {
        struct B<'a>(&'a [u8]);
        impl Serialize for B<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        B(bytes)
    }
}
