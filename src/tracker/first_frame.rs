//! The first frame of a tracker connection, read by hand from the upgraded connection. It arrives
//! before anything authenticated the client, and tungstenite, set up for the large batches that
//! may follow `hello`, would buffer a whole frame of up to twice `--max-frame-bytes` before the
//! [`MAX_HELLO_BYTES`] check could refuse it; read here, a frame is refused from its header. The
//! frame is read exactly, never past its end, so the socket built afterwards starts at the next
//! frame.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::MAX_HELLO_BYTES;
use super::connection::TrackerConnection;
use super::reject::Reject;
use super::{CLOSE_LINGER, HELLO_TIMEOUT};
use crate::protocol::close;

/// What the first frame was.
pub(super) enum First {
    /// A single binary frame of at most [`MAX_HELLO_BYTES`]: its payload, unmasked.
    Hello(Vec<u8>),
    /// A frame that is answered with a close code.
    Refused(Refusal),
    /// Not a frame a client may send (reserved bits or opcodes, unmasked, a continuation first, a
    /// malformed control frame): dropped without a close frame, as tungstenite does.
    Dropped,
}

/// Why a first frame is refused.
pub(super) enum Refusal {
    /// A binary frame whose header announces this many bytes, over [`MAX_HELLO_BYTES`].
    TooBig(u64),
    Text,
    /// The first part of a fragmented binary message: `hello` is one frame.
    Fragmented,
    /// A ping, pong or close frame.
    NotHello,
    /// Nothing whole within [`HELLO_TIMEOUT`].
    Late,
}

const FIN: u8 = 0x80;
const RESERVED_BITS: u8 = 0x70;
const OPCODE: u8 = 0x0f;
const MASKED: u8 = 0x80;
const LENGTH: u8 = 0x7f;
/// A 7-bit length of 126 says a 16-bit length follows; 127, a 64-bit one.
const LENGTH_16: u8 = 126;
const LENGTH_64: u8 = 127;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xa;
/// Longest payload of a control frame (RFC 6455 §5.5).
const MAX_CONTROL_BYTES: u64 = 125;

/// Reads the first frame: its header, then its payload only when it is a `hello` candidate of at
/// most [`MAX_HELLO_BYTES`] or a (short) control frame. An error is the connection failing or
/// ending before the frame did.
pub(super) async fn read(io: &mut (impl AsyncRead + Unpin)) -> std::io::Result<First> {
    let mut header = [0u8; 2];
    io.read_exact(&mut header).await?;
    let [head, second] = header;
    if head & RESERVED_BITS != 0 || second & MASKED == 0 {
        return Ok(First::Dropped);
    }
    let length = match second & LENGTH {
        LENGTH_16 => {
            let mut bytes = [0u8; 2];
            io.read_exact(&mut bytes).await?;
            u64::from(u16::from_be_bytes(bytes))
        }
        LENGTH_64 => {
            let mut bytes = [0u8; 8];
            io.read_exact(&mut bytes).await?;
            u64::from_be_bytes(bytes)
        }
        short => u64::from(short),
    };
    let hello = match head & OPCODE {
        TEXT => return Ok(First::Refused(Refusal::Text)),
        BINARY if length > MAX_HELLO_BYTES as u64 => {
            return Ok(First::Refused(Refusal::TooBig(length)));
        }
        BINARY if head & FIN == 0 => return Ok(First::Refused(Refusal::Fragmented)),
        BINARY => true,
        CLOSE | PING | PONG if head & FIN != 0 && length <= MAX_CONTROL_BYTES => false,
        _ => return Ok(First::Dropped),
    };
    let mut mask = [0u8; 4];
    io.read_exact(&mut mask).await?;
    // At most MAX_HELLO_BYTES, as checked above.
    let mut payload = vec![0u8; length as usize];
    io.read_exact(&mut payload).await?;
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % mask.len()];
    }
    Ok(if hello {
        First::Hello(payload)
    } else {
        First::Refused(Refusal::NotHello)
    })
}

impl TrackerConnection {
    /// Closes a connection whose first frame was refused. What the tracker still sends is read
    /// and dropped as bytes, not as frames: after a header that announced too much, it is the
    /// rest of that frame, which must not be buffered either.
    pub(super) async fn refuse_first(&mut self, refusal: Refusal) {
        let reject = match refusal {
            Refusal::TooBig(length) => self.too_big(
                usize::try_from(length).unwrap_or(usize::MAX),
                MAX_HELLO_BYTES,
            ),
            Refusal::Text => Reject::not_binary(),
            Refusal::Fragmented => {
                Reject::new(close::PROTOCOL, "send 'hello' as one frame, not fragmented")
            }
            Refusal::NotHello => Reject::new(close::PROTOCOL, "the first message must be 'hello'"),
            Refusal::Late => Reject::new(
                close::PROTOCOL,
                format!("no 'hello' within {} s", HELLO_TIMEOUT.as_secs()),
            ),
        };
        if !self.send_close(reject).await {
            return;
        }
        // As in `close`: unread input would make the kernel reset the connection, which can
        // overtake the close frame.
        let socket = self.socket.get_mut();
        let mut discard = [0u8; 4096];
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            while matches!(socket.read(&mut discard).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}
