//! The keyring: root keys that seal variables (AES-256-GCM) and sign workload
//! identities (Ed25519), kept in each server's keystore and never in the Raft log.
//!
//! **Why keystores and not wrapped keys in Raft.** The state (and so the log and every
//! snapshot) holds only each key's metadata and Ed25519 public key
//! ([`orch_core::model::variable::RootKeyMeta`]). The key material lives in
//! `<data_dir>/server/keystore/<id>.json` (0600) on the server that created it; another
//! server that needs it (a follower answering a read, a new server) asks its peers at
//! `GET /raft/keyring/<id>` on their RPC ports, behind the same guard as every peer call
//! (cluster secret, mutual TLS), checks the material against the public key in the
//! replicated metadata, and stores it in its own keystore. Wrapping keys in the log would
//! need a key-encryption key every server shares, and a cluster without `server.encrypt`
//! has none; this way the log and snapshots never hold anything that decrypts a variable.
//!
//! Both derived keys come from the one 32-byte root: SHA-256 of a label and the root,
//! so rotating the root rotates both.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

/// The path peers fetch a root key at (`/raft/keyring/<id>`).
pub const PEER_KEY_PATH: &str = "/raft/keyring/{id}";
/// Name of the encryption algorithm in Nomad's keyring listings.
pub const ALGORITHM: &str = "aes256-gcm";

/// Why a key could not be made, stored, found or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The system's random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// The keystore directory could not be read or written.
    #[error("keystore {path}: {error}")]
    Store {
        /// The file or directory.
        path: String,
        /// What went wrong.
        error: String,
    },
    /// No server has the key.
    #[error("root key {0} is not in this server's keystore and no peer has it")]
    Missing(String),
    /// The ciphertext does not open with the key (corrupt, or another place's).
    #[error("variable could not be decrypted with root key {0}")]
    Decrypt(String),
}

/// One root key's material.
#[derive(Clone)]
pub struct RootKey {
    /// The key's ID (the `kid` of the identities it signs).
    pub id: String,
    material: [u8; 32],
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootKey").field("id", &self.id).finish()
    }
}

impl RootKey {
    /// A fresh random key.
    pub fn generate(id: String) -> Result<RootKey, KeyringError> {
        let mut material = [0u8; 32];
        getrandom::getrandom(&mut material).map_err(|e| KeyringError::Random(e.to_string()))?;
        Ok(RootKey { id, material })
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(label);
        h.update(self.material);
        h.finalize().into()
    }

    /// The Ed25519 key identities are signed with.
    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.derive(b"orch workload identity v1"))
    }

    /// Its public half, as the replicated metadata carries it.
    pub fn public_key(&self) -> [u8; 32] {
        self.signing_key().verifying_key().to_bytes()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.derive(b"orch variables v1").into())
    }

    /// Encrypts `plain` bound to `aad` (namespace and path): (nonce, ciphertext).
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyringError> {
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| KeyringError::Random(e.to_string()))?;
        let ct = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| KeyringError::Decrypt(self.id.clone()))?;
        Ok((nonce.to_vec(), ct))
    }

    /// Decrypts what [`Self::seal`] made for the same `aad`.
    pub fn open(&self, aad: &[u8], nonce: &[u8], ct: &[u8]) -> Result<Vec<u8>, KeyringError> {
        if nonce.len() != 12 {
            return Err(KeyringError::Decrypt(self.id.clone()));
        }
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| KeyringError::Decrypt(self.id.clone()))
    }

    /// The material as peers send it (base64).
    pub fn material_b64(&self) -> String {
        B64.encode(self.material)
    }

    /// A key received from a peer, accepted only when it matches `public_key` (the
    /// replicated metadata), so a peer cannot hand out a different key.
    pub fn from_peer(id: &str, b64: &str, public_key: &[u8]) -> Option<RootKey> {
        let bytes = B64.decode(b64.trim()).ok()?;
        let material: [u8; 32] = bytes.try_into().ok()?;
        let key = RootKey {
            id: id.to_string(),
            material,
        };
        (key.public_key().as_slice() == public_key).then_some(key)
    }
}

/// The keys this server holds, backed by its keystore directory (none: memory only,
/// for tests).
#[derive(Debug, Default)]
pub struct Keyring {
    dir: Option<PathBuf>,
    keys: Mutex<BTreeMap<String, RootKey>>,
    /// When each key came into this keyring (read at start, made, or fetched): a key
    /// the state does not know is forgotten only after [`FORGET_AFTER`], since a new
    /// key's metadata reaches the state after its material reaches the keystore.
    added: Mutex<BTreeMap<String, std::time::Instant>>,
}

/// How long a key the state does not list is kept (its metadata may be in flight).
pub const FORGET_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(serde::Serialize, serde::Deserialize)]
struct KeyFile {
    #[serde(rename = "KeyID")]
    id: String,
    #[serde(rename = "Key")]
    key: String,
}

fn store_err(path: &std::path::Path, e: impl std::fmt::Display) -> KeyringError {
    KeyringError::Store {
        path: path.display().to_string(),
        error: e.to_string(),
    }
}

impl Keyring {
    /// The keyring of `dir`, reading every key file already there.
    pub fn open(dir: PathBuf) -> Result<Keyring, KeyringError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| store_err(&dir, e))?;
        let mut keys = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| store_err(&dir, e))? {
            let path = entry.map_err(|e| store_err(&dir, e))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| store_err(&path, e))?;
            let file: KeyFile = serde_json::from_str(&text).map_err(|e| store_err(&path, e))?;
            let bytes = B64
                .decode(file.key.trim())
                .map_err(|e| store_err(&path, e))?;
            let material: [u8; 32] = bytes
                .try_into()
                .map_err(|_| store_err(&path, "the key is not 32 bytes"))?;
            keys.insert(
                file.id.clone(),
                RootKey {
                    id: file.id,
                    material,
                },
            );
        }
        let now = std::time::Instant::now();
        let added = keys.keys().map(|id| (id.clone(), now)).collect();
        Ok(Keyring {
            dir: Some(dir),
            keys: Mutex::new(keys),
            added: Mutex::new(added),
        })
    }

    /// A key by ID, if this server holds it.
    pub fn get(&self, id: &str) -> Option<RootKey> {
        self.keys.lock().ok()?.get(id).cloned()
    }

    /// Stores a key (file first, 0600, written whole then renamed).
    pub fn add(&self, key: RootKey) -> Result<(), KeyringError> {
        if let Some(dir) = &self.dir {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let id = file_stem(&key.id);
            let path = dir.join(format!("{id}.json"));
            let tmp = dir.join(format!(".{id}.json.tmp"));
            let body = serde_json::to_vec(&KeyFile {
                id: key.id.clone(),
                key: key.material_b64(),
            })
            .map_err(|e| store_err(&path, e))?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| store_err(&tmp, e))?;
            f.write_all(&body).map_err(|e| store_err(&tmp, e))?;
            f.sync_all().map_err(|e| store_err(&tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| store_err(&path, e))?;
        }
        if let Ok(mut added) = self.added.lock() {
            added
                .entry(key.id.clone())
                .or_insert_with(std::time::Instant::now);
        }
        if let Ok(mut keys) = self.keys.lock() {
            keys.insert(key.id.clone(), key);
        }
        Ok(())
    }

    /// Forgets every key `known` does not hold that came in more than `grace` ago:
    /// how each server drops the material of a key the cluster deleted (the delete is
    /// one replicated command; each keystore is local). Returns the forgotten IDs.
    pub fn forget_unknown(
        &self,
        known: &std::collections::BTreeSet<String>,
        grace: std::time::Duration,
    ) -> Vec<String> {
        let stale: Vec<String> = match self.added.lock() {
            Ok(added) => added
                .iter()
                .filter(|(id, at)| !known.contains(*id) && at.elapsed() >= grace)
                .map(|(id, _)| id.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        for id in &stale {
            self.remove(id);
        }
        stale
    }

    /// Forgets a key (after the state deleted its metadata).
    pub fn remove(&self, id: &str) {
        if let Ok(mut added) = self.added.lock() {
            added.remove(id);
        }
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(id);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(dir.join(format!("{}.json", file_stem(id))));
        }
    }
}

/// A key ID as a file name: only letters, digits and `-` (IDs are UUIDs).
fn file_stem(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// The peer endpoint's answer: a root key's material.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct PeerKey {
    /// Base64 of the 32 bytes.
    #[serde(rename = "Key")]
    pub key: String,
}

/// The `/raft/keyring/<id>` route, to be mounted behind the peer guard.
pub fn peer_router(keyring: std::sync::Arc<Keyring>) -> axum::Router {
    use axum::extract::Path;
    use axum::response::IntoResponse;
    axum::Router::new().route(
        PEER_KEY_PATH,
        axum::routing::get(move |Path(id): Path<String>| {
            let key = keyring.get(&id);
            async move {
                match key {
                    Some(k) => axum::Json(PeerKey {
                        key: k.material_b64(),
                    })
                    .into_response(),
                    None => (axum::http::StatusCode::NOT_FOUND, "no such root key").into_response(),
                }
            }
        }),
    )
}

/// On every server: every 10 s, forgets the keys the replicated state no longer lists
/// (see [`Keyring::forget_unknown`]), so `keyring remove` on one server removes the
/// material everywhere, also on a server that was down when the delete committed.
pub fn spawn_keystore_cleanup(state: super::StateHandle, keyring: std::sync::Arc<Keyring>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            let known = state.read().root_keys().map(|k| k.key_id.clone()).collect();
            for id in keyring.forget_unknown(&known, FORGET_AFTER) {
                tracing::info!(key = %id, "keyring: forgot a root key the cluster deleted");
            }
        }
    });
}

/// Asks each of `peers` (RPC addresses) for key `id`; the first answer matching
/// `public_key` is stored and returned.
pub async fn fetch_from_peers(
    keyring: &Keyring,
    link: &crate::tls::Link,
    peers: &[String],
    id: &str,
    public_key: &[u8],
) -> Result<RootKey, KeyringError> {
    for addr in peers {
        let url = link.url(addr, &format!("/raft/keyring/{id}"));
        let resp = link
            .client()
            .get(url)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await;
        let Ok(resp) = resp else { continue };
        if !resp.status().is_success() {
            continue;
        }
        let Ok(body) = resp.json::<PeerKey>().await else {
            continue;
        };
        if let Some(key) = RootKey::from_peer(id, &body.key, public_key) {
            keyring.add(key.clone())?;
            return Ok(key);
        }
        tracing::warn!(peer = %addr, key = id, "a peer sent a root key that does not match its public key");
    }
    Err(KeyringError::Missing(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_bound_to_place() {
        let k = RootKey::generate("k".into()).unwrap();
        let (n, ct) = k.seal(b"default\0a", b"{\"x\":\"secret\"}").unwrap();
        assert!(!ct.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            k.open(b"default\0a", &n, &ct).unwrap(),
            b"{\"x\":\"secret\"}"
        );
        assert!(k.open(b"default\0b", &n, &ct).is_err());
        let other = RootKey::from_peer("k", &k.material_b64(), &k.public_key()).unwrap();
        assert_eq!(other.open(b"default\0a", &n, &ct).unwrap().len(), 14);
        assert!(RootKey::from_peer("k", &k.material_b64(), &[0; 32]).is_none());
    }

    #[test]
    fn keys_the_state_no_longer_lists_are_forgotten_after_the_grace() {
        let dir = std::env::temp_dir().join(format!("orch-keystore-gc-{}", std::process::id()));
        let ring = Keyring::open(dir.clone()).unwrap();
        for id in ["kept", "gone"] {
            ring.add(RootKey::generate(id.into()).unwrap()).unwrap();
        }
        let known = std::collections::BTreeSet::from(["kept".to_string()]);
        assert!(
            ring.forget_unknown(&known, FORGET_AFTER).is_empty(),
            "in flight"
        );
        assert_eq!(
            ring.forget_unknown(&known, std::time::Duration::ZERO),
            ["gone"]
        );
        assert!(ring.get("gone").is_none() && ring.get("kept").is_some());
        let reopened = Keyring::open(dir.clone()).unwrap();
        assert!(reopened.get("gone").is_none(), "its file went too");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn keys_survive_reopening_the_keystore() {
        let dir = std::env::temp_dir().join(format!("orch-keystore-{}", std::process::id()));
        let k = RootKey::generate("abc".into()).unwrap();
        Keyring::open(dir.clone()).unwrap().add(k.clone()).unwrap();
        let again = Keyring::open(dir.clone()).unwrap();
        assert_eq!(again.get("abc").unwrap().public_key(), k.public_key());
        let _ = std::fs::remove_dir_all(dir);
    }
}
