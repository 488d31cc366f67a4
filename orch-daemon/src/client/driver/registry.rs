//! The drivers a client offers, by name. Built-in drivers are registered by the agent;
//! an embedding program adds its own with [`DriverRegistry::register`].

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Driver, DriverFingerprint};

/// Drivers by the name jobspecs use.
#[derive(Clone, Default)]
pub struct DriverRegistry {
    drivers: BTreeMap<String, Arc<dyn Driver>>,
}

impl DriverRegistry {
    /// Adds (or replaces) a driver under its own name.
    pub fn register(&mut self, driver: Arc<dyn Driver>) {
        self.drivers.insert(driver.name().to_string(), driver);
    }

    /// The driver a task names, if this client has it.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Driver>> {
        self.drivers.get(name).cloned()
    }

    /// Every driver's current fingerprint, by name.
    pub fn fingerprint_all(&self) -> BTreeMap<String, DriverFingerprint> {
        self.drivers
            .iter()
            .map(|(name, d)| (name.clone(), d.fingerprint()))
            .collect()
    }

    /// Registered driver names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.drivers.keys().map(String::as_str)
    }
}
