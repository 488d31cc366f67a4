//! Images: `load` (an image tarball the task's `artifact` put in `local/`), pulls
//! (`force_pull`, a missing image, or Nomad's always-pulled `latest`), and the
//! collection of images no container uses any more (`gc { image, image_delay }`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{
    CreateImageOptions, ImportImageOptions, ListContainersOptions, RemoveImageOptions,
};
use futures_util::StreamExt;

use super::engine::{Engine, EngineError};
use crate::client::driver::DriverError;

fn start_err(msg: String) -> DriverError {
    DriverError::Start(msg)
}

/// `repo[:tag]` → (repo, tag); a registry port (`host:5000/x`) is not a tag.
pub fn split_reference(image: &str) -> (String, String) {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

/// The ID of a local image, `None` when the engine has none by that name.
pub fn local_id(engine: &Engine, image: &str) -> Result<Option<String>, EngineError> {
    let name = image.to_string();
    match engine.call(move |d| async move { d.inspect_image(&name).await }) {
        Ok(i) => Ok(i.id),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Loads the tarball `local/<file>` of the task (opened without following links).
pub fn load(engine: &Engine, task_dir: &Path, file: &str) -> Result<(), DriverError> {
    let rel = Path::new(file);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(DriverError::Config {
            field: "load".into(),
            message: format!(
                "{file:?}: name a file in the task's local/ directory (where artifacts go)"
            ),
        });
    }
    let local = task_dir.join("local");
    let io = |source| DriverError::Io {
        context: format!(
            "cannot open the image tarball {}",
            local.join(rel).display()
        ),
        source,
    };
    let f = crate::client::safe_path::Dir::open(&local)
        .and_then(|d| d.open_read(rel))
        .map_err(io)?;
    let tarball = tokio::fs::File::from_std(f);
    let chunks = futures_util::stream::unfold(tarball, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    engine
        .call(move |d| async move {
            let body = bollard::body_try_stream(chunks);
            let mut s = d.import_image(ImportImageOptions::default(), body, None);
            while let Some(item) = s.next().await {
                item?;
            }
            Ok(())
        })
        .map_err(|e| start_err(format!("loading the image tarball {file:?} failed: {e}")))
}

/// Pulls `image`, failing when the engine is silent for `activity_timeout`.
pub fn pull(engine: &Engine, image: &str, activity_timeout: Duration) -> Result<(), DriverError> {
    let (repo, tag) = split_reference(image);
    let name = image.to_string();
    let r = engine.call(move |d| async move {
        let opts = CreateImageOptions {
            from_image: Some(repo),
            tag: Some(tag),
            ..Default::default()
        };
        let mut s = d.create_image(Some(opts), None, None);
        loop {
            match tokio::time::timeout(activity_timeout, s.next()).await {
                Ok(Some(item)) => {
                    item?;
                }
                Ok(None) => return Ok(()),
                Err(_) => {
                    return Err(bollard::errors::Error::DockerStreamError {
                        error: format!(
                            "no progress for {}s (pull_activity_timeout)",
                            activity_timeout.as_secs()
                        ),
                    });
                }
            }
        }
    });
    r.map_err(|e| start_err(format!("pulling image {name:?} failed: {e}")))
}

/// Makes `image` available as the task config asks and returns its ID.
pub fn ensure(
    engine: &Engine,
    image: &str,
    force_pull: bool,
    load_file: Option<(&Path, &str)>,
    activity_timeout: Duration,
) -> Result<String, DriverError> {
    let engine_err = |e: EngineError| start_err(e.to_string());
    if let Some((task_dir, file)) = load_file {
        load(engine, task_dir, file)?;
    } else {
        let (_, tag) = split_reference(image);
        let present = local_id(engine, image).map_err(engine_err)?.is_some();
        if force_pull || !present || tag == "latest" {
            pull(engine, image, activity_timeout)?;
        }
    }
    local_id(engine, image).map_err(engine_err)?.ok_or_else(|| {
        start_err(match load_file {
            Some((_, file)) => format!(
                "the tarball {file:?} did not contain the image {image:?}; set image to a name:tag it holds"
            ),
            None => format!("image {image:?} is not on this node after pulling it"),
        })
    })
}

/// After `delay`, removes the image reference `image` (ID `id`) unless a container
/// still uses that image; removing a name that other tags share only untags it.
pub fn collect_later(engine: &Arc<Engine>, image: String, id: String, delay: Duration) {
    let Ok(docker) = engine.client() else {
        return;
    };
    engine.spawn(async move {
        tokio::time::sleep(delay).await;
        let opts = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        let Ok(containers) = docker.list_containers(Some(opts)).await else {
            return;
        };
        let used = containers
            .iter()
            .any(|c| c.image_id.as_deref() == Some(id.as_str()));
        if used {
            return;
        }
        let opts = RemoveImageOptions {
            force: false,
            noprune: false,
            ..Default::default()
        };
        match docker.remove_image(&image, Some(opts), None).await {
            Ok(_) => tracing::info!(image = %image, "removed an image no task uses"),
            Err(e) => tracing::debug!(image = %image, error = %e, "image not collected"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn references_split_into_repository_and_tag() {
        let s = |i: &str| split_reference(i);
        assert_eq!(s("redis:7"), ("redis".into(), "7".into()));
        assert_eq!(s("redis"), ("redis".into(), "latest".into()));
        assert_eq!(
            s("host:5000/app"),
            ("host:5000/app".into(), "latest".into())
        );
        assert_eq!(
            s("host:5000/app:1.2"),
            ("host:5000/app".into(), "1.2".into())
        );
    }
}
