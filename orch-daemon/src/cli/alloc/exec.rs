//! `orch alloc exec`: runs a command inside a running task's environment over the
//! agent's exec websocket, with the caller's terminal in raw mode under `-t`.

mod terminal;

use std::io::{Read, Write};
use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};
use crate::ws::ClientSocket;
use crate::ws::exec_frames::{ExecInput, ExecOutput, IoOperation};

const USAGE: &str = "Usage: orch alloc exec [options] <allocation> <command>

  Run command inside the environment of the given allocation and task.

Exec Specific Options:

  -task <task-name>
    Sets the task to exec command in

  -job
    Use a random allocation from the specified job ID or prefix.

  -group <group-name>
    Specifies the task group where the task is located when a random
    allocation is selected (with -job).

  -i
    Pass stdin to the container, defaults to true.  Pass -i=false to disable.

  -t
    Allocate a pseudo-tty, defaults to true if stdin is detected to be a tty session.
    Pass -t=false to disable explicitly.

  -e <escape_char>
    Sets the escape character for sessions with a pty (default: '~').  The escape
    character is only recognized at the beginning of a line.  The escape character
    followed by a dot ('.') closes the connection.  Setting the character to
    'none' disables any escapes and makes the session fully transparent.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("task"),
    FlagSpec::switch("job"),
    FlagSpec::switch("i"),
    FlagSpec::switch("t"),
    FlagSpec::value("e"),
    FlagSpec::value("group"),
];

/// What the session does with the caller's terminal and input.
struct Options {
    stdin: bool,
    tty: bool,
    escape: Option<u8>,
}

/// What the input side hands the session loop.
enum Outgoing {
    /// A frame to send.
    Frame(ExecInput),
    /// The escape sequence asked to leave.
    Disconnect,
}

/// Runs `orch alloc exec`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let [target, command @ ..] = p.positional.as_slice() else {
        return Err(format!(
            "This command takes at least two arguments: <allocation> <command>\n\n{USAGE}"
        ));
    };
    if command.is_empty() {
        return Err(format!("A command is required\n\n{USAGE}"));
    }
    let opts = options(&p)?;
    let client = ApiClient::from_flags(&p)?;
    let alloc_id = if p.has("job") {
        super::alloc_of_job(&client, target, &p)?
    } else {
        client.resolve("/v1/allocations", "allocation", target)?
    };
    let task = match p.all("task").last() {
        Some(t) => t.clone(),
        None => only_task(&client, &alloc_id)?,
    };
    let command_json = serde_json::to_string(command).map_err(|e| e.to_string())?;
    let path = format!(
        "/v1/client/allocation/{}/exec?task={}&tty={}&command={}",
        encode(&alloc_id),
        encode(&task),
        opts.tty,
        encode(&command_json)
    );
    let code = client.block_on(async {
        let socket = client.websocket(&path).await?;
        session(socket, &opts).await
    })?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

fn options(p: &Parsed) -> Result<Options, String> {
    let bool_flag = |name: &str, default: bool| match p.all(name).last().map(String::as_str) {
        None => Ok(default),
        Some("true" | "1" | "t") => Ok(true),
        Some("false" | "0" | "f") => Ok(false),
        Some(v) => Err(format!("-{name}: expected true or false, got {v:?}")),
    };
    let stdin = bool_flag("i", true)?;
    let tty = bool_flag("t", stdin && terminal::is_tty(0))?;
    let escape = match p.all("e").last().map(String::as_str) {
        None => Some(b'~'),
        Some("none") => None,
        Some(e) if e.len() == 1 => Some(e.as_bytes()[0]),
        Some(e) => {
            return Err(format!("-e: expected one character or \"none\", got {e:?}"));
        }
    };
    Ok(Options { stdin, tty, escape })
}

/// The allocation's task when its group has exactly one, as Nomad picks it.
fn only_task(client: &ApiClient, alloc_id: &str) -> Result<String, String> {
    let alloc = client.get(&format!("/v1/allocation/{}", encode(alloc_id)))?;
    let group = alloc["TaskGroup"].as_str().unwrap_or_default();
    let tasks: Vec<String> = alloc["Job"]["TaskGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["Name"] == group)
        .flat_map(|g| g["Tasks"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["Name"].as_str().map(str::to_string))
        .collect();
    match tasks.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "Please specify the task with -task: the allocation has tasks {}",
            tasks.join(", ")
        )),
    }
}

/// Runs the session to its end; the command's exit code.
async fn session(socket: ClientSocket, opts: &Options) -> Result<i32, String> {
    let raw = if opts.tty {
        terminal::RawMode::enter(0)
    } else {
        None
    };
    let (mut tx, mut rx) = socket.split();
    let (input_tx, mut input) = mpsc::channel::<Outgoing>(16);
    if opts.tty {
        if let Some(size) = terminal::size(1) {
            let _ = input_tx.try_send(Outgoing::Frame(tty_size(size)));
        }
        terminal::forward_resizes(input_tx.clone());
    }
    if opts.stdin {
        read_stdin(input_tx.clone(), if opts.tty { opts.escape } else { None });
    }
    drop(input_tx);
    let mut heartbeat = tokio::time::interval(std::time::Duration::from_secs(10));
    let result = loop {
        tokio::select! {
            frame = rx.next() => match frame {
                Some(Ok(Message::Text(t))) => match output(t.as_bytes()) {
                    Some(code) => break Ok(code),
                    None => continue,
                },
                Some(Ok(Message::Close(c))) => break Err(closed(c.map(|c| c.reason.to_string()))),
                Some(Ok(_)) => continue,
                Some(Err(e)) => break Err(format!("exec session failed: {e}")),
                None => break Err(closed(None)),
            },
            Some(out) = input.recv() => {
                let Outgoing::Frame(msg) = out else {
                    break Ok(0);
                };
                let text = serde_json::to_string(&msg).map_err(|e| e.to_string())?;
                if tx.send(Message::Text(text.into())).await.is_err() {
                    break Err(closed(None));
                }
            }
            _ = heartbeat.tick() => {
                let _ = tx.send(Message::Text("{}".into())).await;
            }
        }
    };
    drop(raw);
    result
}

/// A terminal-size frame.
fn tty_size((height, width): (u16, u16)) -> ExecInput {
    ExecInput {
        tty_size: Some(crate::ws::exec_frames::TerminalSize { height, width }),
        ..ExecInput::default()
    }
}

/// Writes one output frame; the exit code once the command ended.
fn output(frame: &[u8]) -> Option<i32> {
    let out: ExecOutput = serde_json::from_slice(frame).ok()?;
    if let Some(op) = out.stdout {
        let mut o = std::io::stdout();
        let _ = o.write_all(&op.data).and_then(|_| o.flush());
    }
    if let Some(op) = out.stderr {
        let mut e = std::io::stderr();
        let _ = e.write_all(&op.data).and_then(|_| e.flush());
    }
    out.exited.then(|| out.result.map_or(-1, |r| r.exit_code))
}

fn closed(reason: Option<String>) -> String {
    match reason.filter(|r| !r.is_empty()) {
        Some(r) => r,
        None => "websocket closed before receiving exit code".into(),
    }
}

/// Reads stdin on its own thread into stdin frames; end of file sends a close. With an
/// escape character, `<escape>.` at the start of a line ends the session.
fn read_stdin(tx: mpsc::Sender<Outgoing>, escape: Option<u8>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 2048];
        let mut escapes = terminal::EscapeFilter::new(escape);
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            };
            if n == 0 {
                let _ = tx.blocking_send(Outgoing::Frame(stdin_frame(Vec::new(), true)));
                return;
            }
            let (data, quit) = escapes.filter(&buf[..n]);
            if !data.is_empty()
                && tx
                    .blocking_send(Outgoing::Frame(stdin_frame(data, false)))
                    .is_err()
            {
                return;
            }
            if quit {
                let _ = tx.blocking_send(Outgoing::Disconnect);
                return;
            }
        }
    });
}

fn stdin_frame(data: Vec<u8>, close: bool) -> ExecInput {
    ExecInput {
        stdin: Some(IoOperation { data, close }),
        ..ExecInput::default()
    }
}
