//! Relaying an exec websocket between the caller (axum's side) and the agent of the
//! allocation's node (tokio-tungstenite's side): messages go through unchanged, in both
//! directions, until either side closes.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame as FarCloseFrame;

use crate::ws::ClientSocket;

/// A message on the node's side.
pub(super) type Far = tokio_tungstenite::tungstenite::Message;

/// Pipes both directions until one side ends; the close (code and reason) is passed on.
pub(super) async fn pipe(near: WebSocket, far: ClientSocket) {
    let (mut near_tx, mut near_rx) = near.split();
    let (mut far_tx, mut far_rx) = far.split();
    let upstream = async {
        while let Some(Ok(m)) = near_rx.next().await {
            let last = matches!(m, Message::Close(_));
            if far_tx.send(to_far(m)).await.is_err() || last {
                break;
            }
        }
        let _ = far_tx.close().await;
    };
    let downstream = async {
        while let Some(Ok(m)) = far_rx.next().await {
            let Some(m) = to_near(m) else { continue };
            let last = matches!(m, Message::Close(_));
            if near_tx.send(m).await.is_err() || last {
                break;
            }
        }
        let _ = near_tx.close().await;
    };
    // The caller ending ends the relay (dropping the other half closes it). The node's
    // side ending (its Close passed on) waits a moment for the caller's Close, as RFC
    // 6455 asks: dropping the caller at once would reset the connection and could
    // discard the last output and exit code before the caller reads them.
    tokio::pin!(upstream, downstream);
    tokio::select! {
        _ = &mut upstream => {}
        _ = &mut downstream => {
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut upstream).await;
        }
    }
}

/// How long the relay waits for the caller's Close once the node's side closed.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn to_far(m: Message) -> Far {
    match m {
        Message::Text(t) => Far::Text(t.as_str().into()),
        Message::Binary(b) => Far::Binary(b),
        Message::Ping(b) => Far::Ping(b),
        Message::Pong(b) => Far::Pong(b),
        Message::Close(c) => Far::Close(c.map(|c| FarCloseFrame {
            code: c.code.into(),
            reason: c.reason.as_str().into(),
        })),
    }
}

fn to_near(m: Far) -> Option<Message> {
    Some(match m {
        Far::Text(t) => Message::Text(t.as_str().into()),
        Far::Binary(b) => Message::Binary(b),
        Far::Ping(b) => Message::Ping(b),
        Far::Pong(b) => Message::Pong(b),
        Far::Close(c) => Message::Close(c.map(|c| CloseFrame {
            code: c.code.into(),
            reason: c.reason.as_str().into(),
        })),
        Far::Frame(_) => return None,
    })
}
