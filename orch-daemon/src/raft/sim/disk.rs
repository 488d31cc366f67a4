//! The simulated disk under each node's Raft log: a redb [`StorageBackend`] that keeps
//! what was fsynced apart from what was only written, so a crash loses writes not yet
//! fsynced, as a power cut does (a killed process would keep them in the page cache;
//! the machine going down does not).
//!
//! A crash keeps a seeded prefix of the unsynced writes, in order (the disk wrote some of
//! them before it lost power), and drops the rest; the crashed incarnation's handle is
//! cut off, so whatever its threads still write goes nowhere. The next incarnation
//! opens what survived.
//!
//! Only the Raft log lives here; the state machine's snapshot files stay on the real
//! (temp) file system.

use std::sync::{Arc, Mutex, MutexGuard};

use redb::StorageBackend;

use super::rng::SplitMix64;

/// A write not yet fsynced.
#[derive(Debug)]
enum Unsynced {
    Data { offset: usize, bytes: Vec<u8> },
    Len(usize),
}

impl Unsynced {
    fn apply(&self, to: &mut Vec<u8>) {
        match self {
            Unsynced::Data { offset, bytes } => {
                let end = offset + bytes.len();
                if to.len() < end {
                    to.resize(end, 0);
                }
                to[*offset..end].copy_from_slice(bytes);
            }
            Unsynced::Len(len) => to.resize(*len, 0),
        }
    }
}

#[derive(Debug, Default)]
struct Platter {
    /// What survives a crash.
    durable: Vec<u8>,
    /// What the running incarnation reads: `durable` with `unsynced` applied.
    current: Vec<u8>,
    unsynced: Vec<Unsynced>,
    /// The incarnation whose handle may write; older handles are cut off.
    generation: u64,
}

/// One node's disk, surviving its crashes. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(super) struct SimDisk(Arc<Mutex<Platter>>);

impl SimDisk {
    fn lock(&self) -> MutexGuard<'_, Platter> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A handle for a new incarnation (earlier handles stop writing).
    pub fn open(&self) -> SimFile {
        let mut p = self.lock();
        p.generation += 1;
        SimFile {
            disk: self.clone(),
            generation: p.generation,
        }
    }

    /// Power lost: a prefix of the unsynced writes (its length drawn from `rng`) reaches
    /// the platter, the rest is gone; the running incarnation's handle is cut off.
    /// Returns how many unsynced writes were lost.
    pub fn crash(&self, rng: &mut SplitMix64) -> usize {
        let mut p = self.lock();
        p.generation += 1;
        let unsynced = std::mem::take(&mut p.unsynced);
        let kept = rng.below(unsynced.len() as u64 + 1) as usize;
        let mut durable = std::mem::take(&mut p.durable);
        for w in &unsynced[..kept] {
            w.apply(&mut durable);
        }
        p.current = durable.clone();
        p.durable = durable;
        unsynced.len() - kept
    }
}

/// An incarnation's open log file on a [`SimDisk`].
#[derive(Debug)]
pub(super) struct SimFile {
    disk: SimDisk,
    generation: u64,
}

impl SimFile {
    /// The platter, if this handle's incarnation still runs.
    fn live(&self) -> Option<MutexGuard<'_, Platter>> {
        let p = self.disk.lock();
        (p.generation == self.generation).then_some(p)
    }

    fn record(&self, write: Unsynced) {
        if let Some(mut p) = self.live() {
            write.apply(&mut p.current);
            p.unsynced.push(write);
        }
    }
}

fn out_of_range() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "read past the end")
}

fn offset(offset: u64) -> Result<usize, std::io::Error> {
    usize::try_from(offset).map_err(|_| out_of_range())
}

/// What a crashed incarnation's reads get.
fn crashed() -> std::io::Error {
    std::io::Error::other("this node crashed: its disk handle is gone")
}

impl StorageBackend for SimFile {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.live().ok_or_else(crashed)?.current.len() as u64)
    }

    fn read(&self, at: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let p = self.live().ok_or_else(crashed)?;
        let at = offset(at)?;
        let source = p.current.get(at..at + out.len()).ok_or_else(out_of_range)?;
        out.copy_from_slice(source);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.record(Unsynced::Len(offset(len)?));
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        if let Some(mut p) = self.live() {
            let unsynced = std::mem::take(&mut p.unsynced);
            let mut durable = std::mem::take(&mut p.durable);
            for w in &unsynced {
                w.apply(&mut durable);
            }
            p.durable = durable;
        }
        Ok(())
    }

    fn write(&self, at: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.record(Unsynced::Data {
            offset: offset(at)?,
            bytes: data.to_vec(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_keeps_what_was_synced_and_cuts_the_old_handle_off() {
        let disk = SimDisk::default();
        let file = disk.open();
        file.write(0, b"abcd").unwrap();
        file.sync_data().unwrap();
        file.write(0, b"WXYZ").unwrap();
        let mut buf = [0; 4];
        file.read(0, &mut buf).unwrap();
        assert_eq!(&buf, b"WXYZ");
        // Seeds that keep none of the unsynced write and all of it both occur.
        let mut outcomes = std::collections::BTreeSet::new();
        for seed in 0..16 {
            let d = SimDisk::default();
            let f = d.open();
            f.write(0, b"abcd").unwrap();
            f.sync_data().unwrap();
            f.write(0, b"WXYZ").unwrap();
            d.crash(&mut SplitMix64::new(seed));
            let mut b = [0; 4];
            d.open().read(0, &mut b).unwrap();
            outcomes.insert(b);
        }
        assert_eq!(outcomes, [*b"WXYZ", *b"abcd"].into());
        // Writes of a crashed incarnation go nowhere, and it reads nothing more.
        let lost = disk.crash(&mut SplitMix64::new(1));
        assert!(lost <= 1);
        file.write(0, b"0000").unwrap();
        file.sync_data().unwrap();
        assert!(file.read(0, &mut buf).is_err());
        let next = disk.open();
        next.read(0, &mut buf).unwrap();
        assert_ne!(&buf, b"0000");
    }
}
