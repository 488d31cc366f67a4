//! `alloc exec` into a docker task: `docker exec` through the engine's API, on a
//! connection of the session's own (the driver's client lives on the driver's runtime;
//! a session streams for as long as the caller stays).

use std::pin::Pin;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{ExecError, SessionEvent};
use crate::ws::exec_frames::TerminalSize;

/// Seconds a single engine request may take (the attached stream is not bounded).
const ENGINE_TIMEOUT_SECS: u64 = 120;

/// The input side of a docker exec session.
pub(super) struct ContainerInput {
    docker: Docker,
    exec_id: String,
    stdin: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    tty: bool,
}

impl ContainerInput {
    /// Writes to the command's input.
    pub(super) async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match &mut self.stdin {
            Some(w) => {
                w.write_all(data).await?;
                w.flush().await
            }
            None => Ok(()),
        }
    }

    /// Ends the command's input (the EOF character with a terminal, as for processes).
    pub(super) async fn close(&mut self) {
        if self.tty {
            let _ = self.write(&[4]).await;
        } else if let Some(mut w) = self.stdin.take() {
            let _ = w.shutdown().await;
        }
    }

    /// Resizes the exec's terminal.
    pub(super) async fn resize(&mut self, size: TerminalSize) {
        if !self.tty || size.height == 0 || size.width == 0 {
            return;
        }
        let opts = bollard::exec::ResizeExecOptions {
            height: size.height,
            width: size.width,
        };
        let _ = self.docker.resize_exec(&self.exec_id, opts).await;
    }
}

/// Creates and starts the exec in container `id`; its output and exit code arrive as
/// events.
pub(super) async fn start(
    socket: &str,
    id: &str,
    command: Vec<String>,
    tty: bool,
) -> Result<(mpsc::Receiver<SessionEvent>, ContainerInput), ExecError> {
    let fail = |e: bollard::errors::Error| ExecError::Docker(e.to_string());
    let docker =
        Docker::connect_with_unix(socket, ENGINE_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            .map_err(fail)?;
    let created = docker
        .create_exec(
            id,
            CreateExecOptions::<String> {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(tty),
                cmd: Some(command),
                ..CreateExecOptions::default()
            },
        )
        .await
        .map_err(fail)?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty,
                output_capacity: None,
            }),
        )
        .await
        .map_err(fail)?;
    let StartExecResults::Attached { mut output, input } = started else {
        return Err(ExecError::Docker(
            "the engine did not attach the exec".into(),
        ));
    };
    let (tx, events) = mpsc::channel(64);
    let (waiter, exec_id) = (docker.clone(), created.id.clone());
    tokio::spawn(async move {
        while let Some(Ok(chunk)) = output.next().await {
            let event = match chunk {
                LogOutput::StdErr { message } => SessionEvent::Stderr(message.to_vec()),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    SessionEvent::Stdout(message.to_vec())
                }
                LogOutput::StdIn { .. } => continue,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
        let code = match waiter.inspect_exec(&exec_id).await {
            Ok(info) => info.exit_code.map_or(-1, |c| c as i32),
            Err(_) => -1,
        };
        let _ = tx.send(SessionEvent::Exited(code)).await;
    });
    Ok((
        events,
        ContainerInput {
            docker,
            exec_id: created.id,
            stdin: Some(input),
            tty,
        },
    ))
}
