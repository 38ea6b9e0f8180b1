//! Request and response bodies as enums over every command, with dispatch by command.

use bytes::Bytes;

use super::*;

/// Defines `$enum` over `(variant, Command, type)` with encode/decode/command dispatch.
macro_rules! bodies {
    ($(#[$doc:meta])* $enum:ident { $($var:ident($cmd:ident, $ty:ty)),* $(,)? }) => {
        $(#[$doc])*
        #[non_exhaustive]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $enum {
            $(
                #[allow(missing_docs)]
                $var($ty),
            )*
            /// A body the caller encoded itself (or one this crate cannot type), sent or
            /// kept verbatim, with the command it belongs to.
            Raw { command: Command, body: Bytes },
        }

        impl $enum {
            /// The SMB2 command this body belongs to.
            pub fn command(&self) -> Command {
                match self {
                    $(Self::$var(_) => Command::$cmd,)*
                    Self::Raw { command, .. } => *command,
                }
            }

            /// Appends the body; `base` is where the header starts in `out`.
            pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
                match self {
                    $(Self::$var(b) => b.encode(out, base),)*
                    Self::Raw { body, .. } => out.extend_from_slice(body),
                }
            }
        }

        $(
            impl From<$ty> for $enum {
                fn from(b: $ty) -> Self {
                    Self::$var(b)
                }
            }

            /// The typed body, or the body back if it is another command's.
            impl TryFrom<$enum> for $ty {
                type Error = $enum;
                fn try_from(b: $enum) -> Result<Self, $enum> {
                    match b {
                        $enum::$var(x) => Ok(x),
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

bodies! {
    /// The body of a request.
    RequestBody {
        Negotiate(Negotiate, NegotiateRequest),
        SessionSetup(SessionSetup, SessionSetupRequest),
        Logoff(Logoff, LogoffRequest),
        TreeConnect(TreeConnect, TreeConnectRequest),
        TreeDisconnect(TreeDisconnect, TreeDisconnectRequest),
        Create(Create, CreateRequest),
        Close(Close, CloseRequest),
        Flush(Flush, FlushRequest),
        Read(Read, ReadRequest),
        Write(Write, WriteRequest),
        Lock(Lock, LockRequest),
        Cancel(Cancel, CancelRequest),
        Echo(Echo, EchoRequest),
        ChangeNotify(ChangeNotify, ChangeNotifyRequest),
        OplockBreakAck(OplockBreak, OplockBreak),
        Ioctl(Ioctl, IoctlRequest),
        QueryDirectory(QueryDirectory, QueryDirectoryRequest),
        QueryInfo(QueryInfo, QueryInfoRequest),
        SetInfo(SetInfo, SetInfoRequest),
    }
}

bodies! {
    /// The body of a response.
    ResponseBody {
        Negotiate(Negotiate, NegotiateResponse),
        SessionSetup(SessionSetup, SessionSetupResponse),
        Logoff(Logoff, LogoffResponse),
        TreeConnect(TreeConnect, TreeConnectResponse),
        TreeDisconnect(TreeDisconnect, TreeDisconnectResponse),
        Create(Create, CreateResponse),
        Close(Close, CloseResponse),
        Flush(Flush, FlushResponse),
        Read(Read, ReadResponse),
        Write(Write, WriteResponse),
        Lock(Lock, LockResponse),
        Echo(Echo, EchoResponse),
        ChangeNotify(ChangeNotify, ChangeNotifyResponse),
        OplockBreak(OplockBreak, OplockBreak),
        Ioctl(Ioctl, IoctlResponse),
        QueryDirectory(QueryDirectory, QueryDirectoryResponse),
        QueryInfo(QueryInfo, QueryInfoResponse),
        SetInfo(SetInfo, SetInfoResponse),
    }
}

/// A request body from the caller's own encoder: a command or variant this crate does
/// not model, or bytes malformed on purpose. [`RequestBody::encoded`] runs it.
pub trait EncodeBody {
    /// The command the SMB2 header names.
    fn command(&self) -> Command;
    /// Appends the body (StructureSize first) to `out`. The SMB2 header starts at
    /// `out[base]`, so an offset field is `out.len() - base` at the point it refers to.
    fn encode_body(&self, out: &mut Vec<u8>, base: usize);
}

impl RequestBody {
    /// The body `encoder` produces, kept as [`RequestBody::Raw`] and sent verbatim.
    pub fn encoded(encoder: &dyn EncodeBody) -> Self {
        // Encoded behind a placeholder header so offsets come out as on the wire.
        let mut out = vec![0; HEADER_LEN];
        encoder.encode_body(&mut out, 0);
        Self::Raw {
            command: encoder.command(),
            body: Bytes::from(out.split_off(HEADER_LEN)),
        }
    }

    /// Decodes a request body for `header.command` from `msg` (header included).
    pub fn decode(header: &Header, msg: &[u8]) -> Result<Self, DecodeError> {
        Ok(match header.command {
            Command::Negotiate => NegotiateRequest::decode(msg)?.into(),
            Command::SessionSetup => SessionSetupRequest::decode(msg)?.into(),
            Command::Logoff => LogoffRequest::decode(msg)?.into(),
            Command::TreeConnect => TreeConnectRequest::decode(msg)?.into(),
            Command::TreeDisconnect => TreeDisconnectRequest::decode(msg)?.into(),
            Command::Create => CreateRequest::decode(msg)?.into(),
            Command::Close => CloseRequest::decode(msg)?.into(),
            Command::Flush => FlushRequest::decode(msg)?.into(),
            Command::Read => ReadRequest::decode(msg)?.into(),
            Command::Write => WriteRequest::decode(msg)?.into(),
            Command::Cancel => CancelRequest::decode(msg)?.into(),
            Command::Lock => LockRequest::decode(msg)?.into(),
            Command::ChangeNotify => ChangeNotifyRequest::decode(msg)?.into(),
            Command::Echo => EchoRequest::decode(msg)?.into(),
            Command::OplockBreak => Self::OplockBreakAck(OplockBreak::decode(msg)?),
            Command::Ioctl => IoctlRequest::decode(msg)?.into(),
            Command::QueryDirectory => QueryDirectoryRequest::decode(msg)?.into(),
            Command::QueryInfo => QueryInfoRequest::decode(msg)?.into(),
            Command::SetInfo => SetInfoRequest::decode(msg)?.into(),
            command => Self::Raw {
                command,
                body: Bytes::copy_from_slice(super::body(msg)?),
            },
        })
    }
}

impl ResponseBody {
    /// Decodes a successful response body for `header.command` from `msg` (header
    /// included). Error responses are decoded with [`ErrorResponse::decode`].
    pub fn decode(header: &Header, msg: &Bytes) -> Result<Self, DecodeError> {
        Ok(match header.command {
            Command::Negotiate => NegotiateResponse::decode(msg)?.into(),
            Command::SessionSetup => SessionSetupResponse::decode(msg)?.into(),
            Command::Logoff => LogoffResponse::decode(msg)?.into(),
            Command::TreeConnect => TreeConnectResponse::decode(msg)?.into(),
            Command::TreeDisconnect => TreeDisconnectResponse::decode(msg)?.into(),
            Command::Create => CreateResponse::decode(msg)?.into(),
            Command::Close => CloseResponse::decode(msg)?.into(),
            Command::Flush => FlushResponse::decode(msg)?.into(),
            Command::Read => ReadResponse::decode_bytes(msg)?.into(),
            Command::Write => WriteResponse::decode(msg)?.into(),
            Command::Echo => EchoResponse::decode(msg)?.into(),
            Command::Lock => LockResponse::decode(msg)?.into(),
            Command::ChangeNotify => ChangeNotifyResponse::decode(msg)?.into(),
            Command::OplockBreak => OplockBreak::decode(msg)?.into(),
            Command::Ioctl => IoctlResponse::decode_bytes(msg)?.into(),
            Command::QueryDirectory => QueryDirectoryResponse::decode_bytes(msg)?.into(),
            Command::QueryInfo => QueryInfoResponse::decode_bytes(msg)?.into(),
            Command::SetInfo => SetInfoResponse::decode(msg)?.into(),
            command => Self::Raw {
                command,
                body: msg.slice(HEADER_LEN.min(msg.len())..),
            },
        })
    }
}
