//! Scoped header defaults (pike's `let`) over the loopback stream: every request
//! submitted inside the scope gets them unless it sets the field itself; scopes nest
//! and end when their guard drops.

mod common;

use std::sync::{Arc, Mutex};

use pike::pike_core::wire::{EchoRequest, EchoResponse, Header, HeaderFlags};
use pike::runtime::tokio::Tokio;
use pike::{HeaderDefaults, Hook};
use pike_proptests::ServerConfig;
use pike_proptests::loopback;

/// (CreditRequest, flags, ChannelSequence) of every ECHO as encoded.
type Seen = Arc<Mutex<Vec<(u16, u32, u32)>>>;

#[test]
fn defaults_apply_inside_the_scope_unless_the_request_sets_the_field() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(async {
            let (stream, server) = loopback::connect(ServerConfig::default(), 7);
            let tree = common::model_target()
                .connect_stream(Tokio, stream)
                .await
                .expect("connect");
            let seen: Seen = Arc::default();
            let s = seen.clone();
            let _hook = tree
                .session()
                .connection()
                .add_hook(Hook::after_encode(move |msg| {
                    let h = Header::decode(msg).expect("a header");
                    if h.command == pike::pike_core::wire::Command::Echo {
                        s.lock().unwrap().push((h.credits, h.flags.0, h.status.0));
                    }
                }));
            let echo = |tree: pike::Tree, credit_request: Option<u16>| async move {
                let mut r = tree.request(EchoRequest);
                r.header.credit_request = credit_request;
                tree.raw().call(r).await.expect("echo");
            };
            let replay = HeaderFlags::REPLAY_OPERATION;
            {
                let _outer = tree.with_defaults(HeaderDefaults {
                    credit_request: Some(7),
                    channel_sequence: Some(3),
                    flags_or: replay,
                });
                echo(tree.clone(), None).await;
                echo(tree.clone(), Some(2)).await;
                {
                    let _inner = tree.with_defaults(HeaderDefaults {
                        credit_request: Some(9),
                        ..HeaderDefaults::default()
                    });
                    echo(tree.clone(), None).await;
                }
                echo(tree.clone(), None).await;
            }
            let _: EchoResponse = tree.call(EchoRequest).await.expect("echo");
            let seen = seen.lock().unwrap().clone();
            assert_eq!(seen.len(), 5, "{seen:?}");
            assert_eq!(seen[0], (7, replay, 3), "the defaults");
            assert_eq!(
                seen[1],
                (2, replay, 3),
                "the request's own CreditRequest wins"
            );
            assert_eq!(seen[2].1 & replay, 0, "the inner scope replaces the outer");
            assert_eq!((seen[2].0, seen[2].2), (9, 0));
            assert_eq!(seen[3], (7, replay, 3), "the outer scope is back");
            assert!(seen[4].0 != 7 && seen[4].1 & replay == 0 && seen[4].2 == 0);
            let v = server.with(|s| s.violations().to_vec());
            assert!(v.is_empty(), "{v:?}");
        });
}
