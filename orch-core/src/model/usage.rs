//! Comparable resource amounts: what a node offers, what an allocation holds and what a
//! task group asks for, in one shape so fitting is a subtraction.

use serde::{Deserialize, Serialize};

use super::{Allocation, Node, TaskGroup};

/// Resource amounts on the dimensions the scheduler packs. Cores are counted, not
/// identified; which core IDs a task gets is decided at placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// CPU in MHz.
    pub cpu_mhz: u64,
    /// Whole reserved cores.
    pub cores: u64,
    /// Memory in MB (the reservation, not the burst limit).
    pub memory_mb: u64,
    /// Ephemeral disk in MB.
    pub disk_mb: u64,
}

/// A resource dimension, named as Nomad's `DimensionExhausted` names it.
pub mod dimension {
    /// CPU MHz.
    pub const CPU: &str = "cpu";
    /// Reserved cores.
    pub const CORES: &str = "cores";
    /// Memory.
    pub const MEMORY: &str = "memory";
    /// Disk.
    pub const DISK: &str = "disk";
}

impl Usage {
    /// Adds another amount, saturating (inputs come from users).
    pub fn add(&mut self, other: &Usage) {
        self.cpu_mhz = self.cpu_mhz.saturating_add(other.cpu_mhz);
        self.cores = self.cores.saturating_add(other.cores);
        self.memory_mb = self.memory_mb.saturating_add(other.memory_mb);
        self.disk_mb = self.disk_mb.saturating_add(other.disk_mb);
    }

    /// Subtracts another amount, saturating at zero.
    pub fn sub(&mut self, other: &Usage) {
        self.cpu_mhz = self.cpu_mhz.saturating_sub(other.cpu_mhz);
        self.cores = self.cores.saturating_sub(other.cores);
        self.memory_mb = self.memory_mb.saturating_sub(other.memory_mb);
        self.disk_mb = self.disk_mb.saturating_sub(other.disk_mb);
    }

    /// Whether `used + ask` stays within `self` (a capacity); otherwise the first
    /// dimension that overflows, in Nomad's order (cpu, cores, memory, disk).
    pub fn fits(&self, used: &Usage, ask: &Usage) -> Result<(), &'static str> {
        let over = |cap: u64, used: u64, ask: u64| used.saturating_add(ask) > cap;
        if over(self.cpu_mhz, used.cpu_mhz, ask.cpu_mhz) {
            return Err(dimension::CPU);
        }
        if over(self.cores, used.cores, ask.cores) {
            return Err(dimension::CORES);
        }
        if over(self.memory_mb, used.memory_mb, ask.memory_mb) {
            return Err(dimension::MEMORY);
        }
        if over(self.disk_mb, used.disk_mb, ask.disk_mb) {
            return Err(dimension::DISK);
        }
        Ok(())
    }
}

impl Node {
    /// What the scheduler may hand out: the node's resources minus its reservations.
    /// A node that reports cores but no MHz is treated as offering only cores.
    pub fn capacity(&self) -> Usage {
        let r = &self.node_resources;
        let reserved = &self.reserved_resources;
        let reservable_cores = if r.cpu.reservable_cpu_cores.is_empty() {
            u64::from(r.cpu.total_cpu_cores)
        } else {
            r.cpu.reservable_cpu_cores.len() as u64
        };
        Usage {
            cpu_mhz: r.cpu.cpu_shares.saturating_sub(reserved.cpu.cpu_shares),
            cores: reservable_cores.saturating_sub(reserved.cpu.reserved_cpu_cores.len() as u64),
            memory_mb: r.memory.memory_mb.saturating_sub(reserved.memory.memory_mb),
            disk_mb: r.disk.disk_mb.saturating_sub(reserved.disk.disk_mb),
        }
    }
}

impl Allocation {
    /// What this allocation holds on its node (zero once terminal: terminal allocations
    /// free their resources).
    pub fn usage(&self) -> Usage {
        if self.terminal() {
            return Usage::default();
        }
        let mut u = Usage {
            disk_mb: self.allocated_resources.shared.disk_mb,
            ..Usage::default()
        };
        for t in self.allocated_resources.tasks.values() {
            u.cpu_mhz = u.cpu_mhz.saturating_add(t.cpu.cpu_shares);
            u.cores = u.cores.saturating_add(t.cpu.reserved_cores.len() as u64);
            u.memory_mb = u.memory_mb.saturating_add(t.memory.memory_mb);
        }
        u
    }
}

impl TaskGroup {
    /// What one allocation of this group asks for. A task asking for cores gets whole
    /// cores and no shared MHz, as in Nomad.
    pub fn ask(&self) -> Usage {
        let mut u = Usage {
            disk_mb: self.ephemeral_disk.size_mb,
            ..Usage::default()
        };
        for t in &self.tasks {
            u.cores = u.cores.saturating_add(t.resources.cores);
            if t.resources.cores == 0 {
                u.cpu_mhz = u.cpu_mhz.saturating_add(t.resources.cpu);
            }
            u.memory_mb = u.memory_mb.saturating_add(t.resources.memory_mb);
        }
        u
    }
}

#[cfg(test)]
mod tests;
