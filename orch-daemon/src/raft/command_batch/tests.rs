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
    assert_eq!(back, b);
    // Re-encoding the received batch yields the same bytes (they were kept, and
    // sending them on needs no decoding).
    assert_eq!(postcard::to_allocvec(&back).unwrap(), wire);
    let expected = b.clone().into_commands().unwrap();
    assert_eq!(back.into_commands().unwrap(), expected);
}

#[test]
fn a_batch_of_encoded_commands_encodes_as_one_of_commands() {
    for n in [0usize, 1, 2, 127, 128, 300] {
        let cmds: Vec<Command> = (0..n)
            .map(|i| {
                Command::NodeDeregister(NodeDeregister {
                    node_ids: vec![format!("n{i}")],
                })
            })
            .collect();
        let encoded: Vec<EncodedCommand> = cmds
            .iter()
            .cloned()
            .map(|c| EncodedCommand::new(c).unwrap())
            .collect();
        let from_parts = CommandBatch::from_encoded(encoded);
        assert_eq!(
            postcard::to_allocvec(&from_parts).unwrap(),
            postcard::to_allocvec(&CommandBatch::new(cmds.clone())).unwrap(),
            "{n} commands"
        );
        assert_eq!(from_parts.into_commands().unwrap(), cmds);
    }
}

#[test]
fn garbage_bytes_fail_when_applied_not_with_a_panic() {
    let wire = postcard::to_allocvec(&serde_bytes_like(&[0xff, 0xff, 0xff])).unwrap();
    let back: CommandBatch = postcard::from_bytes(&wire).unwrap();
    let err = back.into_commands().unwrap_err();
    assert!(
        err.to_string().contains("incompatible orch version"),
        "{err}"
    );
}

#[test]
fn into_commands_moves_the_last_reference_and_clones_a_shared_one() {
    let b = batch();
    let shared = b.clone();
    assert_eq!(b.into_commands().unwrap().len(), 2);
    assert_eq!(shared.into_commands().unwrap().len(), 2);
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
