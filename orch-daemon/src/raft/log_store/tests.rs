use super::ByteBudget;

#[test]
fn a_budget_admits_the_crossing_entry_and_always_a_first_one() {
    let mut b = ByteBudget::new(10);
    assert!(b.admit(4));
    assert!(b.admit(4));
    assert!(
        b.admit(4),
        "8 used is within 10: the entry that crosses goes"
    );
    assert!(!b.admit(1), "12 used is over 10");
    let mut big = ByteBudget::new(10);
    assert!(big.admit(1000), "a first entry goes whatever its size");
    assert!(!big.admit(0));
}

mod reads {
    use std::ops::Bound;

    use openraft::storage::{RaftLogReader, RaftLogStorage};
    use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};

    use super::super::{LOGS, LogStore};
    use crate::disk::DiskReserve;
    use crate::raft::types::TypeConfig;

    fn log_id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(1, 1), index)
    }

    /// A store holding blank entries `first..=last`, written straight to redb.
    async fn store_with(dir: &tempfile::TempDir, first: u64, last: u64) -> LogStore {
        let store = LogStore::open(&dir.path().join("raft.redb"), DiskReserve::none()).unwrap();
        let encoded: Vec<(u64, Vec<u8>)> = (first..=last)
            .map(|i| {
                let entry = Entry::<TypeConfig> {
                    log_id: log_id(i),
                    payload: EntryPayload::Blank,
                };
                (i, postcard::to_allocvec(&entry).unwrap())
            })
            .collect();
        store
            .sync_write(Box::new(move |txn| {
                let mut logs = txn.open_table(LOGS)?;
                for (i, bytes) in &encoded {
                    logs.insert(*i, bytes.as_slice())?;
                }
                Ok(())
            }))
            .await
            .unwrap();
        store
    }

    fn indexes(entries: &[Entry<TypeConfig>]) -> Vec<u64> {
        entries.iter().map(|e| e.log_id.index).collect()
    }

    /// Seed 949 of the five-server simulation: a leader that stepped down built a
    /// snapshot and purged its log while the replication stream of its leadership still
    /// ran; that stream asked for entries from before the purge point and got the ones
    /// after it, which it sent as if they followed `prev_log_id`: a follower would have
    /// stored them after a hole. A read returns entries from its start, consecutive, or
    /// none.
    #[tokio::test]
    async fn a_read_never_skips_entries_it_does_not_have() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_with(&dir, 1, 10).await;
        store.purge(log_id(5)).await.unwrap();
        assert_eq!(
            indexes(&store.limited_get_log_entries(3, 11).await.unwrap()),
            Vec::<u64>::new(),
            "entries 3..=5 are purged: nothing may be handed out for that range"
        );
        assert_eq!(
            indexes(&store.try_get_log_entries(3..11).await.unwrap()),
            Vec::<u64>::new()
        );
        assert_eq!(
            indexes(&store.limited_get_log_entries(6, 11).await.unwrap()),
            vec![6, 7, 8, 9, 10]
        );
        // A hole in the middle (never left by openraft, but the store must not hide it):
        // the read stops before it.
        store
            .delete_range((Bound::Included(8), Bound::Included(8)))
            .await
            .unwrap();
        assert_eq!(
            indexes(&store.limited_get_log_entries(6, 11).await.unwrap()),
            vec![6, 7]
        );
        assert_eq!(
            indexes(&store.try_get_log_entries(6..).await.unwrap()),
            vec![6, 7]
        );
    }
}
