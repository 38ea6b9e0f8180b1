//! State-machine property test (proptest-state-machine): a client logged on to the model
//! server runs generated sequences of file operations (with leases, large I/O, LOGOFF,
//! TREE_DISCONNECT and reconnects) while the server's wire behaviour (credits, interims,
//! also inside compounds, reordering, compound splitting/joining, oplock and lease
//! breaks, delays in virtual time, a connection drop) and virtual time change under it.
//!
//! The reference machine generates transitions; the system under test keeps the
//! abstract model: a file system (name -> bytes, updated in submission order, which is
//! the order the server applies requests in) and the set of outstanding `RequestId`s.
//!
//! Invariants, after every transition:
//! - every `RequestId` completes exactly once, and only ids that were submitted;
//! - nothing follows `ConnectionLost` (and it happens at most once);
//! - the model server saw no protocol violation (MessageIds unique and inside the granted
//!   window, CreditCharge sufficient); the client never spent more MessageIds than it was
//!   granted, nor was granted more than the server sent; at quiescence the client's
//!   available credits equal the server's count of granted-and-unspent credits;
//! - a successful READ (and QUERY_INFO's EndOfFile) returns what the model holds (when
//!   every earlier mutation of that file is known to have succeeded), and END_OF_FILE
//!   only past the model's end;
//! - signed / encrypted configs: once a tampered response was delivered, the connection
//!   is lost (never data), or a tampered final SESSION_SETUP answer failed that logon;
//! - READ/WRITE above 64 KiB go out only with multi-credit (else `PayloadTooLarge`);
//! - a request that fails with `Timeout` does so no earlier than its deadline;
//! - after LOGOFF completes, the session is refused locally (`UnknownSession`); after
//!   TREE_DISCONNECT completes, requests on the tree fail with NETWORK_NAME_DELETED;
//! - a lease break that asks for an acknowledgment accepts the state it broke to (unless
//!   the lease went with its last open meanwhile);
//! - at quiescence (no request timed out), the lease state and pending break the
//!   client tracks for each key equal the server's, unless answers raced in a way no
//!   client can order: the server reordered its answers, or see `Sut::note_lease_race`.
//!
//! Runs in plain, signed (signing required) and encrypted (EncryptData) configurations.
//! `PROPTEST_CASES` sets the number of sequences (default 64 per configuration).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;
use pike_core::auth::{Credentials, Spnego};
use pike_core::wire::{
    CloseRequest, Dialect, FileId, Lease, LogoffRequest, NtStatus, OplockBreak, QueryInfoRequest,
    ReadRequest, RequestContext, ResponseBody, SessionId, TreeDisconnectRequest, TreeId,
    WriteRequest, disposition, lease_state, oplock_level,
};
use pike_core::wire::{Command, TreeConnectRequest};
use pike_core::{
    BreakKind, Compound, ConnectionError, LeaseKey, Request, RequestError, RequestId, UsageError,
};
use pike_proptests::pair::SERVER_NAME;
use pike_proptests::{GrantPolicy, Pair, Record, ServerConfig, ServerPolicy, UNHELD_LEASE_KEY};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

const NAMES: [&str; 3] = ["a.txt", "b.txt", "c.txt"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Plain,
    Signed,
    Encrypted,
}

#[derive(Clone, Debug)]
struct RefState {
    mode: Mode,
    seed: u64,
    dialect: Dialect,
    tamper_used: bool,
}

#[derive(Clone, Debug)]
enum Transition {
    Open {
        name: usize,
        truncate: bool,
    },
    Write {
        handle: usize,
        offset: u16,
        data: Vec<u8>,
    },
    Read {
        handle: usize,
        offset: u16,
        len: u16,
    },
    Close {
        handle: usize,
    },
    Cancel {
        pick: usize,
    },
    Compound {
        name: usize,
        data: Vec<u8>,
    },
    AdvanceTime {
        ms: u32,
    },
    SetServerPolicy(ServerPolicy),
    Step {
        n: u8,
    },
    Drive,
    Tamper,
    /// WRITE or READ of more than 64 KiB (several credits at 2.1+ with LARGE_MTU).
    BigIo {
        handle: usize,
        write: bool,
        len: u32,
        fill: u8,
    },
    /// CREATE asking for an RWH lease (keyed by the name).
    OpenLeased {
        name: usize,
    },
    /// The server breaks every lease to R and every exclusive oplock to II.
    ServerBreak,
    /// Acknowledge every lease break received that asks for it.
    AckBreaks,
    /// QUERY_INFO FileStandardInformation: EndOfFile must match the model.
    QueryEof {
        handle: usize,
    },
    TreeDisconnect,
    Logoff,
    /// A new session and/or tree where the old one is gone.
    Reconnect,
}

fn policy() -> impl Strategy<Value = ServerPolicy> {
    let grant = prop_oneof![
        3 => Just(None),
        1 => Just(Some(GrantPolicy::Fixed(0))),
        2 => Just(Some(GrantPolicy::Fixed(1))),
        2 => (2u16..64).prop_map(|n| Some(GrantPolicy::Fixed(n))),
        1 => Just(Some(GrantPolicy::AsRequested)),
    ];
    let drop_after = prop_oneof![6 => Just(None), 1 => (0u32..20).prop_map(Some)];
    (
        grant,
        prop_oneof![Just(0u32), 1u32..4],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(0u32), 1u32..5],
        prop_oneof![Just(0u32), 1u32..6],
        drop_after,
        prop_oneof![4 => Just(0u32), 1 => 1u32..45_000],
    )
        .prop_map(
            |(grant, interim_every, reorder, split, join, brk, delay, drop_after, delay_ms)| {
                ServerPolicy {
                    grant,
                    interim_every,
                    reorder,
                    split_compounds: split,
                    join_responses: join,
                    break_every: brk,
                    delay_polls: delay,
                    drop_after,
                    delay_ms,
                }
            },
        )
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 1..64),
        1 => proptest::collection::vec(any::<u8>(), 1..3000),
    ]
}

fn transitions(state: &RefState) -> BoxedStrategy<Transition> {
    let base = prop_oneof![
        5 => (0..NAMES.len(), prop::bool::weighted(0.2))
            .prop_map(|(name, truncate)| Transition::Open { name, truncate }),
        5 => (any::<usize>(), prop_oneof![3 => 0u16..64, 1 => 0u16..4096], data())
            .prop_map(|(handle, offset, data)| Transition::Write { handle, offset, data }),
        5 => (any::<usize>(), prop_oneof![3 => 0u16..128, 1 => 0u16..4096], 1u16..4096)
            .prop_map(|(handle, offset, len)| Transition::Read { handle, offset, len }),
        2 => any::<usize>().prop_map(|handle| Transition::Close { handle }),
        2 => any::<usize>().prop_map(|pick| Transition::Cancel { pick }),
        2 => (0..NAMES.len(), data()).prop_map(|(name, data)| Transition::Compound { name, data }),
        2 => prop_oneof![0u32..2000, 25_000u32..70_000]
            .prop_map(|ms| Transition::AdvanceTime { ms }),
        2 => policy().prop_map(Transition::SetServerPolicy),
        3 => (1u8..12).prop_map(|n| Transition::Step { n }),
        4 => Just(Transition::Drive),
        2 => (any::<usize>(), any::<bool>(), 65_537u32..300_000, any::<u8>())
            .prop_map(|(handle, write, len, fill)| Transition::BigIo { handle, write, len, fill }),
        2 => (0..NAMES.len()).prop_map(|name| Transition::OpenLeased { name }),
        1 => Just(Transition::ServerBreak),
        2 => Just(Transition::AckBreaks),
        2 => any::<usize>().prop_map(|handle| Transition::QueryEof { handle }),
        1 => Just(Transition::TreeDisconnect),
        1 => Just(Transition::Logoff),
        2 => Just(Transition::Reconnect),
    ];
    if state.mode != Mode::Plain && !state.tamper_used {
        prop_oneof![30 => base, 1 => Just(Transition::Tamper)].boxed()
    } else {
        base.boxed()
    }
}

struct Machine<const M: u8>;

impl<const M: u8> ReferenceStateMachine for Machine<M> {
    type State = RefState;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<RefState> {
        let mode = match M {
            0 => Mode::Plain,
            1 => Mode::Signed,
            _ => Mode::Encrypted,
        };
        let dialects = match mode {
            Mode::Encrypted => prop_oneof![Just(Dialect::Smb311), Just(Dialect::Smb300)].boxed(),
            _ => prop_oneof![
                Just(Dialect::Smb311),
                Just(Dialect::Smb302),
                Just(Dialect::Smb210),
                Just(Dialect::Smb202)
            ]
            .boxed(),
        };
        (any::<u64>(), dialects)
            .prop_map(move |(seed, dialect)| RefState {
                mode,
                seed,
                dialect,
                tamper_used: false,
            })
            .boxed()
    }

    fn transitions(state: &RefState) -> BoxedStrategy<Transition> {
        transitions(state)
    }

    fn apply(mut state: RefState, t: &Transition) -> RefState {
        if matches!(t, Transition::Tamper) {
            state.tamper_used = true;
        }
        state
    }

    fn preconditions(state: &RefState, t: &Transition) -> bool {
        !matches!(t, Transition::Tamper) || (state.mode != Mode::Plain && !state.tamper_used)
    }
}

/// What an outstanding request was, for checking its completion.
#[derive(Debug)]
enum Op {
    Open {
        name: String,
    },
    Mutation {
        name: String,
    },
    Read(ReadCheck),
    Eof(ReadCheck),
    /// Sent on a session/tree known to be gone: must fail with this status.
    MustFail(NtStatus),
    LeaseAck,
    TreeDisconnect,
    Logoff,
    Logon,
    TreeConnect,
    Close {
        name: String,
    },
    Other,
}

/// Where a session or tree is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Live,
    /// LOGOFF / TREE_DISCONNECT sent, not yet completed.
    Ending,
    Gone,
    /// SESSION_SETUP / TREE_CONNECT sent, not yet completed.
    Starting,
}

#[derive(Clone, Debug)]
struct ReadCheck {
    name: String,
    offset: u64,
    len: u32,
    /// The model's content at submission; `None` if it was already uncertain.
    snapshot: Option<Vec<u8>>,
    /// Mutations of the file submitted earlier and not complete at submission.
    deps: Vec<RequestId>,
}

#[derive(Debug, Default)]
struct FileModel {
    data: Vec<u8>,
    /// A mutation failed (or may or may not have been applied): content unknown.
    uncertain: bool,
    unconfirmed: BTreeSet<RequestId>,
}

struct Sut {
    p: Pair,
    mode: Mode,
    sid: SessionId,
    tid: TreeId,
    handles: Vec<(FileId, String)>,
    outstanding: HashMap<RequestId, Op>,
    completed: BTreeSet<RequestId>,
    mutation_ok: HashMap<RequestId, bool>,
    files: BTreeMap<String, FileModel>,
    log_seen: usize,
    lost_seen: bool,
    /// Successful reads (and EOF errors) waiting for their dependencies.
    checks: Vec<(ReadCheck, Result<Bytes, ()>)>,
    eof_checks: Vec<(ReadCheck, u64)>,
    reads_verified: usize,
    internal_interims: BTreeSet<RequestId>,
    session: Life,
    tree: Life,
    /// Virtual submission time of every outstanding request.
    submitted_at: HashMap<RequestId, std::time::Instant>,
    breaks_seen: usize,
    breaks_acked: usize,
    timeouts: usize,
    logon_failed: bool,
    /// Files whose lease state is no longer compared (see `note_lease_race`).
    raced_leases: BTreeSet<String>,
    /// The server reordered answers: lease states are no longer compared.
    leases_reordered: bool,
}

impl Sut {
    fn track(&mut self, r: Result<RequestId, UsageError>, op: Op) -> Option<RequestId> {
        match r {
            Ok(id) => {
                assert!(
                    !self.completed.contains(&id) && !self.outstanding.contains_key(&id),
                    "{id:?} reused"
                );
                self.outstanding.insert(id, op);
                Some(id)
            }
            Err(UsageError::Closed) => {
                assert!(self.p.client.is_closed());
                None
            }
            Err(e) => panic!("usage error: {e}"),
        }
    }

    fn submit(&mut self, req: Request, op: Op) -> Option<RequestId> {
        // Once LOGOFF completed, the session is refused before anything is sent.
        if self.session == Life::Gone && !self.p.client.is_closed() {
            let r = self.p.client.submit(self.p.now, req);
            assert_eq!(
                r,
                Err(UsageError::UnknownSession),
                "submit on a logged-off session"
            );
            return None;
        }
        // Once TREE_DISCONNECT completed, the server refuses the tree.
        let op = if self.tree == Life::Gone && req.tree.is_some() {
            Op::MustFail(NtStatus::NETWORK_NAME_DELETED)
        } else {
            op
        };
        let r = self.p.client.submit(self.p.now, req);
        let id = self.track(r, op)?;
        self.submitted_at.insert(id, self.p.now);
        Some(id)
    }

    fn handle(&self, i: usize) -> Option<(FileId, String)> {
        (!self.handles.is_empty()).then(|| self.handles[i % self.handles.len()].clone())
    }

    fn mutate(&mut self, name: &str, id: RequestId, f: impl FnOnce(&mut Vec<u8>)) {
        let m = self.files.entry(name.to_owned()).or_default();
        f(&mut m.data);
        m.unconfirmed.insert(id);
    }

    fn read_check(&self, name: &str, offset: u64, len: u32) -> ReadCheck {
        let m = self.files.get(name);
        ReadCheck {
            name: name.to_owned(),
            offset,
            len,
            snapshot: match m {
                Some(m) if m.uncertain => None,
                Some(m) => Some(m.data.clone()),
                None => Some(Vec::new()),
            },
            deps: m.map_or_else(Vec::new, |m| m.unconfirmed.iter().copied().collect()),
        }
    }

    /// Consumes new log records and completions; checks exactly-once and lost-last.
    fn collect(&mut self) {
        self.p.drain_events();
        let new: Vec<Record> = self.p.log[self.log_seen..].to_vec();
        self.log_seen = self.p.log.len();
        for rec in new {
            assert!(!self.lost_seen, "{rec:?} after ConnectionLost");
            match rec {
                Record::Completed(id, _) => {
                    assert!(self.completed.insert(id), "{id:?} completed twice");
                    assert!(
                        !self.internal_interims.contains(&id),
                        "internal {id:?} completed"
                    );
                    let op = self
                        .outstanding
                        .remove(&id)
                        .unwrap_or_else(|| panic!("{id:?} completed but never submitted"));
                    let result = self.p.done.remove(&id).expect("result stored");
                    let at = self.submitted_at.remove(&id);
                    if let (Err(RequestError::Timeout { .. }), Some(at)) = (&result, at) {
                        // Deadlines run from submission (MS-SMB2 3.2.6.1).
                        let timeout = self.p.client.config().request_timeout;
                        assert!(self.p.now - at >= timeout, "{id:?} timed out early");
                        self.timeouts += 1;
                    }
                    self.on_complete(id, op, result);
                }
                Record::ConnectionLost(_) => self.lost_seen = true,
                Record::Interim(id) => {
                    assert!(
                        !self.completed.contains(&id),
                        "interim after completion of {id:?}"
                    );
                    if !self.outstanding.contains_key(&id) {
                        // Not one of ours: the connection's internal keepalive ECHO
                        // (see the report: internal ids leak through Event::Interim).
                        self.internal_interims.insert(id);
                    }
                }
                Record::Negotiated(_) => {}
                Record::Break => {
                    let b = &self.p.breaks[self.breaks_seen];
                    self.breaks_seen += 1;
                    // A break of a lease no open of ours holds yet, while an open of the
                    // file is in flight: it may be a break of the lease that open is
                    // being granted, overtaking the grant (v1 leases carry no epoch to
                    // order them by).
                    if let BreakKind::Lease { lease_key: k, .. } = b.kind
                        && b.route.is_none()
                        && let Some(name) = NAMES.iter().find(|n| LeaseKey(lease_key(n)) == k)
                    {
                        self.note_lease_race(
                            name,
                            |op| matches!(op, Op::Open { name: n } if n == name),
                        );
                    }
                }
            }
        }
        self.run_checks();
    }

    fn on_complete(
        &mut self,
        id: RequestId,
        op: Op,
        result: Result<pike_core::Response, RequestError>,
    ) {
        match op {
            Op::Open { name } => {
                self.settle(&name, id, result.is_ok());
                if let Ok(r) = result {
                    match r.body {
                        ResponseBody::Create(c) => self.handles.push((c.file_id, name)),
                        other => panic!("CREATE answered with {other:?}"),
                    }
                }
            }
            Op::Mutation { name } => self.settle(&name, id, result.is_ok()),
            Op::Eof(check) => {
                if let Ok(r) = result {
                    match r.body {
                        ResponseBody::QueryInfo(q) => {
                            let std = q
                                .parse::<pike_core::wire::FileStandardInformation>()
                                .expect("FileStandardInformation");
                            self.eof_checks.push((check, std.end_of_file));
                        }
                        other => panic!("QUERY_INFO answered with {other:?}"),
                    }
                }
            }
            Op::MustFail(status) => match result {
                Err(RequestError::Status(s)) => assert_eq!(s.status, status, "{id:?}"),
                Err(RequestError::ConnectionLost(_) | RequestError::Timeout { .. }) => {}
                Err(RequestError::Cancelled { .. }) => {}
                other => panic!("{id:?} on a gone tree/session: {other:?}"),
            },
            Op::LeaseAck => match result {
                Ok(_) => {}
                // The lease went with its last open (and may have been granted afresh,
                // not breaking), or the session went; never a refused state.
                Err(RequestError::Status(s)) => assert!(
                    matches!(
                        s.status,
                        NtStatus::OBJECT_NAME_NOT_FOUND
                            | NtStatus::UNSUCCESSFUL
                            | NtStatus::USER_SESSION_DELETED
                    ),
                    "lease ack refused: {}",
                    s.status
                ),
                Err(_) => {}
            },
            Op::TreeDisconnect => {
                if result.is_ok() {
                    self.tree = Life::Gone;
                } else if self.tree == Life::Ending {
                    self.tree = Life::Live;
                }
            }
            Op::Logoff => {
                // A LOGOFF that went out retires the session whatever its outcome (the
                // server may have ended it); one that never left (cancelled or timed out
                // in the queue) does not.
                let retired = self
                    .p
                    .client
                    .session_info(self.sid)
                    .is_none_or(|i| !i.is_ready);
                assert!(
                    result.is_err() || retired,
                    "LOGOFF succeeded, session still usable"
                );
                if retired {
                    self.session = Life::Gone;
                    self.tree = Life::Gone;
                } else {
                    self.session = Life::Live;
                }
            }
            Op::Logon => match result {
                Ok(r) => {
                    self.sid = r.header.session_id;
                    self.session = Life::Live;
                    self.tree = Life::Gone;
                }
                Err(_) => {
                    self.session = Life::Gone;
                    self.logon_failed = true;
                }
            },
            Op::TreeConnect => match result {
                Ok(r) => {
                    self.tid = r.header.tree_id;
                    self.tree = Life::Live;
                }
                Err(_) => self.tree = Life::Gone,
            },
            Op::Read(check) => match result {
                Ok(r) => match r.body {
                    ResponseBody::Read(rr) => self.checks.push((check, Ok(rr.data))),
                    other => panic!("READ answered with {other:?}"),
                },
                Err(RequestError::Status(s)) if s.status == NtStatus::END_OF_FILE => {
                    self.checks.push((check, Err(())));
                }
                Err(_) => {}
            },
            Op::Close { .. } | Op::Other => {}
        }
    }

    fn settle(&mut self, name: &str, id: RequestId, ok: bool) {
        if let Some(m) = self.files.get_mut(name)
            && m.unconfirmed.remove(&id)
        {
            self.mutation_ok.insert(id, ok);
            m.uncertain |= !ok;
        }
    }

    fn run_checks(&mut self) {
        let eofs = std::mem::take(&mut self.eof_checks);
        for (c, eof) in eofs {
            if c.deps.iter().any(|d| !self.mutation_ok.contains_key(d)) {
                self.eof_checks.push((c, eof));
                continue;
            }
            let Some(snap) = &c.snapshot else { continue };
            if c.deps.iter().all(|d| self.mutation_ok[d]) {
                assert_eq!(eof, snap.len() as u64, "EndOfFile of {} disagrees", c.name);
            }
        }
        let checks = std::mem::take(&mut self.checks);
        for (c, got) in checks {
            if c.deps.iter().any(|d| !self.mutation_ok.contains_key(d)) {
                self.checks.push((c, got));
                continue;
            }
            let Some(snap) = &c.snapshot else { continue };
            if c.deps.iter().any(|d| !self.mutation_ok[d]) {
                continue;
            }
            let len = snap.len() as u64;
            match got {
                Ok(data) => {
                    let start = c.offset.min(len) as usize;
                    let end = (c.offset + u64::from(c.len)).min(len) as usize;
                    assert_eq!(
                        &data[..],
                        &snap[start..end],
                        "READ {} @{} len {} disagrees with the model",
                        c.name,
                        c.offset,
                        c.len
                    );
                    self.reads_verified += 1;
                }
                Err(()) => assert!(
                    c.offset >= len,
                    "END_OF_FILE at {} but the model holds {len} bytes",
                    c.offset
                ),
            }
        }
    }

    /// Races the client cannot order, as answers may arrive in any order: a CLOSE and a
    /// leased CREATE of one file in flight together (the CLOSE may drop the lease and
    /// the CREATE get it afresh), or a lease break arriving before the grant it breaks.
    /// That file's lease is not compared any more.
    fn note_lease_race(&mut self, name: &str, other: impl Fn(&Op) -> bool) {
        if self.outstanding.values().any(other) {
            self.raced_leases.insert(name.to_owned());
        }
    }

    fn quiescent(&self) -> bool {
        self.p.c2s.is_empty() && self.p.s2c.is_empty() && !self.p.server.has_unsent()
    }
}

impl<const M: u8> StateMachineTest for Machine<M> {
    type SystemUnderTest = Sut;
    type Reference = Self;

    fn init_test(r: &RefState) -> Sut {
        let server = ServerConfig {
            require_signing: r.mode == Mode::Signed,
            encrypt_data: r.mode == Mode::Encrypted,
            ..ServerConfig::default()
        };
        let mut c = Pair::client_config();
        c.dialects = vec![r.dialect];
        let mut p = Pair::new(c, server, r.seed);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").expect("tree connect");
        p.drive();
        let log_seen = p.log.len();
        Sut {
            p,
            mode: r.mode,
            sid,
            tid,
            handles: Vec::new(),
            outstanding: HashMap::new(),
            completed: BTreeSet::new(),
            mutation_ok: HashMap::new(),
            files: BTreeMap::new(),
            log_seen,
            lost_seen: false,
            checks: Vec::new(),
            eof_checks: Vec::new(),
            reads_verified: 0,
            internal_interims: BTreeSet::new(),
            session: Life::Live,
            tree: Life::Live,
            submitted_at: HashMap::new(),
            breaks_seen: 0,
            breaks_acked: 0,
            timeouts: 0,
            logon_failed: false,
            raced_leases: BTreeSet::new(),
            leases_reordered: false,
        }
    }

    fn apply(mut s: Sut, _r: &RefState, t: Transition) -> Sut {
        let (sid, tid) = (s.sid, s.tid);
        let file_op = matches!(
            t,
            Transition::Open { .. }
                | Transition::Write { .. }
                | Transition::Read { .. }
                | Transition::Close { .. }
                | Transition::Compound { .. }
                | Transition::BigIo { .. }
                | Transition::OpenLeased { .. }
                | Transition::QueryEof { .. }
        );
        if file_op && (s.session != Life::Live || s.tree != Life::Live) {
            // The session or tree is gone: probe that it stays gone.
            if s.session == Life::Gone || (s.session == Life::Live && s.tree == Life::Gone) {
                let body = pike_core::wire::FlushRequest::default();
                s.submit(Request::new(body).tree(sid, tid), Op::Other);
            }
            s.collect();
            return s;
        }
        match t {
            Transition::Open { name, truncate } => {
                let name = NAMES[name].to_owned();
                let disp = if truncate {
                    disposition::OVERWRITE_IF
                } else {
                    disposition::OPEN_IF
                };
                let req = Request::new(Pair::create_request(&name, disp)).tree(sid, tid);
                if let Some(id) = s.submit(req, Op::Open { name: name.clone() }) {
                    // OPEN_IF may create the file; OVERWRITE_IF also empties it.
                    s.mutate(&name, id, |d| {
                        if truncate {
                            d.clear();
                        }
                    });
                }
            }
            Transition::Write {
                handle,
                offset,
                data,
            } => {
                if let Some((fid, name)) = s.handle(handle) {
                    let body = WriteRequest {
                        offset: u64::from(offset),
                        file_id: fid,
                        data: Bytes::from(data.clone()),
                        ..WriteRequest::default()
                    };
                    let req = Request::new(body).tree(sid, tid);
                    if let Some(id) = s.submit(req, Op::Mutation { name: name.clone() }) {
                        s.mutate(&name, id, |d| {
                            let o = usize::from(offset);
                            if d.len() < o + data.len() {
                                d.resize(o + data.len(), 0);
                            }
                            d[o..o + data.len()].copy_from_slice(&data);
                        });
                    }
                }
            }
            Transition::Read {
                handle,
                offset,
                len,
            } => {
                if let Some((fid, name)) = s.handle(handle) {
                    let check = s.read_check(&name, u64::from(offset), u32::from(len));
                    let body = ReadRequest {
                        length: u32::from(len),
                        offset: u64::from(offset),
                        file_id: fid,
                        ..ReadRequest::default()
                    };
                    s.submit(Request::new(body).tree(sid, tid), Op::Read(check));
                }
            }
            Transition::Close { handle } => {
                if let Some((fid, name)) = s.handle(handle) {
                    s.handles.retain(|(f, _)| *f != fid);
                    let body = CloseRequest {
                        flags: 0,
                        file_id: fid,
                    };
                    s.note_lease_race(&name, |op| matches!(op, Op::Open { name: n } if *n == name));
                    s.submit(Request::new(body).tree(sid, tid), Op::Close { name });
                }
            }
            Transition::Cancel { pick } => {
                let ids: Vec<RequestId> = {
                    let mut v: Vec<_> = s.outstanding.keys().copied().collect();
                    v.sort();
                    v
                };
                if !ids.is_empty() {
                    let id = ids[pick % ids.len()];
                    match s.p.client.cancel(s.p.now, id) {
                        Ok(()) => {}
                        Err(UsageError::Closed) => assert!(s.p.client.is_closed()),
                        Err(e) => panic!("cancel({id:?}) of an outstanding request: {e}"),
                    }
                }
            }
            Transition::Compound { name, data } => {
                let name = NAMES[name].to_owned();
                let create =
                    Request::new(Pair::create_request(&name, disposition::OPEN_IF)).tree(sid, tid);
                let write = Request::new(WriteRequest {
                    file_id: FileId::RELATED,
                    data: Bytes::from(data.clone()),
                    ..WriteRequest::default()
                })
                .tree(sid, tid);
                let close = Request::new(CloseRequest {
                    flags: 0,
                    file_id: FileId::RELATED,
                })
                .tree(sid, tid);
                let chain = Compound::new().push(create).related(write).related(close);
                match s.p.client.submit_compound(s.p.now, chain) {
                    Ok(ids) => {
                        assert_eq!(ids.len(), 3);
                        s.track(Ok(ids[0]), Op::Mutation { name: name.clone() });
                        s.mutate(&name, ids[0], |_| {});
                        s.track(Ok(ids[1]), Op::Mutation { name: name.clone() });
                        s.mutate(&name, ids[1], |d| {
                            if d.len() < data.len() {
                                d.resize(data.len(), 0);
                            }
                            d[..data.len()].copy_from_slice(&data);
                        });
                        s.track(Ok(ids[2]), Op::Other);
                    }
                    Err(e) => {
                        s.track(Err(e), Op::Other);
                    }
                }
            }
            Transition::AdvanceTime { ms } => s.p.advance(Duration::from_millis(u64::from(ms))),
            Transition::SetServerPolicy(policy) => {
                // Answers sent in another order than the server made them: v1 leases
                // carry no epoch, so a grant, a break and an ack answer can no longer
                // be ordered by the client (see `note_lease_race`).
                s.leases_reordered |= policy.reorder;
                s.p.server.set_policy(policy);
            }
            Transition::Step { n } => {
                for _ in 0..n {
                    s.p.step();
                }
            }
            Transition::Drive => s.p.drive(),
            Transition::Tamper => match s.mode {
                Mode::Signed => s.p.server.tamper_next_signed_response(),
                Mode::Encrypted => s.p.server.tamper_next_encrypted_response(),
                Mode::Plain => {}
            },
            Transition::BigIo {
                handle,
                write,
                len,
                fill,
            } => {
                if let Some((fid, name)) = s.handle(handle) {
                    let multi = s.p.client.dialect() != Some(Dialect::Smb202);
                    let (req, op) = if write {
                        let body = WriteRequest {
                            file_id: fid,
                            data: Bytes::from(vec![fill; len as usize]),
                            ..WriteRequest::default()
                        };
                        (body.into(), None)
                    } else {
                        let check = s.read_check(&name, 0, len);
                        let body = ReadRequest {
                            length: len,
                            file_id: fid,
                            ..ReadRequest::default()
                        };
                        (body.into(), Some(Op::Read(check)))
                    };
                    let req = Request {
                        body: req,
                        ..Request::new(pike_core::wire::EchoRequest)
                    }
                    .tree(sid, tid);
                    let r = s.p.client.submit(s.p.now, req);
                    if !multi && !s.p.client.is_closed() {
                        // Without LARGE_MTU nothing above 64 KiB can be sent at all.
                        assert!(
                            matches!(r, Err(UsageError::PayloadTooLarge { .. })),
                            "{r:?}"
                        );
                    } else if let Some(id) =
                        s.track(r, op.unwrap_or(Op::Mutation { name: name.clone() }))
                    {
                        s.submitted_at.insert(id, s.p.now);
                        if write {
                            s.mutate(&name, id, |d| {
                                if d.len() < len as usize {
                                    d.resize(len as usize, 0);
                                }
                                d[..len as usize].fill(fill);
                            });
                        }
                    }
                }
            }
            Transition::OpenLeased { name } => {
                let name = NAMES[name].to_owned();
                let mut c = Pair::create_request(&name, disposition::OPEN_IF);
                c.requested_oplock_level = oplock_level::LEASE;
                let all = lease_state::READ_CACHING
                    | lease_state::HANDLE_CACHING
                    | lease_state::WRITE_CACHING;
                c.contexts = vec![
                    RequestContext::Lease(Lease {
                        lease_key: lease_key(&name),
                        lease_state: all,
                        ..Lease::default()
                    })
                    .to_context(),
                ];
                s.note_lease_race(
                    &name,
                    |op| matches!(op, Op::Close { name: n } if *n == name),
                );
                if let Some(id) = s.submit(
                    Request::new(c).tree(sid, tid),
                    Op::Open { name: name.clone() },
                ) {
                    s.mutate(&name, id, |_| {});
                }
            }
            Transition::ServerBreak => {
                s.p.server.break_all(lease_state::READ_CACHING);
            }
            Transition::AckBreaks => {
                let new: Vec<_> = s.p.breaks[s.breaks_acked..].to_vec();
                s.breaks_acked = s.p.breaks.len();
                for b in new {
                    let Some(n) = (match &b.response.body {
                        ResponseBody::OplockBreak(b) => b.lease(),
                        _ => None,
                    }) else {
                        continue;
                    };
                    // Only breaks that ask for it are acknowledged (MS-SMB2 3.2.5.19.2).
                    if n.flags & 1 == 0 || s.session != Life::Live {
                        continue;
                    }
                    let ack = OplockBreak::lease_ack(n.lease_key, n.new_lease_state);
                    s.submit(Request::new(ack).session(sid), Op::LeaseAck);
                }
            }
            Transition::QueryEof { handle } => {
                if let Some((fid, name)) = s.handle(handle) {
                    let check = s.read_check(&name, 0, 0);
                    let q = QueryInfoRequest::for_class::<pike_core::wire::FileStandardInformation>(
                        fid, 4096,
                    );
                    s.submit(Request::new(q).tree(sid, tid), Op::Eof(check));
                }
            }
            Transition::TreeDisconnect => {
                if s.session == Life::Live && s.tree == Life::Live {
                    s.handles.clear();
                    s.tree = Life::Ending;
                    let req = Request::new(TreeDisconnectRequest).tree(sid, tid);
                    if s.submit(req, Op::TreeDisconnect).is_none() {
                        s.tree = Life::Live;
                    }
                }
            }
            Transition::Logoff => {
                if s.session == Life::Live {
                    s.handles.clear();
                    s.session = Life::Ending;
                    let req = Request::new(LogoffRequest).session(sid);
                    if s.submit(req, Op::Logoff).is_none() {
                        s.session = Life::Live;
                    }
                }
            }
            Transition::Reconnect => {
                if s.session == Life::Gone && !s.p.client.is_closed() {
                    let creds = Credentials::new("alice", "CORP", "s3cret!").with_workstation("SM");
                    let wall = s.p.wall_time();
                    let r = s.p.client.session_setup(
                        s.p.now,
                        Box::new(Spnego::ntlm(creds)),
                        Some(wall),
                    );
                    if s.track(r, Op::Logon).is_some() {
                        s.session = Life::Starting;
                    }
                } else if s.session == Life::Live && s.tree == Life::Gone {
                    let body = TreeConnectRequest {
                        path: format!("\\\\{SERVER_NAME}\\share"),
                        ..TreeConnectRequest::default()
                    };
                    if s.submit(Request::new(body).session(sid), Op::TreeConnect)
                        .is_some()
                    {
                        s.tree = Life::Starting;
                    }
                }
            }
        }
        s.collect();
        s
    }

    fn check_invariants(s: &Sut, _r: &RefState) {
        let server = &s.p.server;
        assert!(
            server.violations().is_empty(),
            "server saw violations: {:?}",
            server.violations()
        );
        if let Some(max) = server.message_ids_seen().last() {
            assert!(
                *max < server.window_end(),
                "MessageId {max} outside the window"
            );
        }
        let cs = s.p.client.credits();
        assert!(
            cs.next_message_id <= cs.total_granted,
            "client spent more MessageIds than granted: {cs:?}"
        );
        assert!(
            cs.total_granted <= server.credits_granted(),
            "client counted more credits than the server granted: {cs:?} vs {}",
            server.credits_granted()
        );
        let lost =
            s.p.log
                .iter()
                .filter(|r| matches!(r, Record::ConnectionLost(_)));
        assert!(lost.count() <= 1);
        if s.quiescent() && !server.is_closed() && !s.p.client.is_closed() {
            assert_eq!(
                u64::from(cs.available),
                server.credits_outstanding(),
                "credit accounting differs at quiescence: {cs:?}"
            );
        }
        // The client's view of each lease is the server's once everything arrived (a
        // CREATE that timed out may have left the server an open the client never
        // learnt of). Spurious breaks of keys nobody holds change nothing.
        if s.quiescent()
            && !server.is_closed()
            && !s.p.client.is_closed()
            && s.timeouts == 0
            && !s.leases_reordered
        {
            let compared = NAMES.iter().filter(|n| !s.raced_leases.contains(**n));
            for key in compared.map(|n| lease_key(n)).chain([UNHELD_LEASE_KEY]) {
                let client = s.p.client.lease(LeaseKey(key));
                assert_eq!(
                    client.map(|l| (l.state, l.breaking_to)),
                    server.lease_state(key),
                    "lease {key:?} differs at quiescence"
                );
            }
        }
        // A tampered final SESSION_SETUP response may instead fail that logon (SPNEGO
        // checks its mechListMIC before the signature is): an error either way.
        let setup_tampered = server.tampered_commands().contains(&Command::SessionSetup);
        if server.tampered_sent() > 0 && s.quiescent() && !(setup_tampered && s.logon_failed) {
            let reason = s.p.client.close_reason();
            assert!(
                matches!(
                    reason,
                    Some(
                        ConnectionError::SignatureMismatch { .. }
                            | ConnectionError::DecryptionFailed(_)
                            | ConnectionError::Eof
                            // Lost before the tampered answer got there (it was held).
                            | ConnectionError::KeepaliveTimeout
                            | ConnectionError::NegotiateValidationFailed(_)
                    )
                ),
                "tampered response delivered but the connection is {reason:?}"
            );
        }
    }

    fn teardown(mut s: Sut, _r: RefState) {
        // Let everything settle: drive, then let every deadline pass.
        s.p.server.set_policy(ServerPolicy::default());
        for _ in 0..4 {
            s.p.drive();
            s.p.advance(Duration::from_secs(400));
            s.collect();
        }
        s.p.drive();
        s.collect();
        assert!(
            s.outstanding.is_empty() || s.p.client.is_closed() && s.lost_seen,
            "requests never completed: {:?}",
            s.outstanding.keys()
        );
        assert!(
            s.p.server.violations().is_empty(),
            "{:?}",
            s.p.server.violations()
        );
        if std::env::var_os("SM_VERBOSE").is_some() {
            eprintln!(
                "case: {} requests, {} reads verified, {} timeouts, {} breaks, lost={}",
                s.completed.len(),
                s.reads_verified,
                s.timeouts,
                s.breaks_seen,
                s.lost_seen
            );
        }
    }
}

/// One lease key per file name (a client's opens of one file share its lease).
fn lease_key(name: &str) -> [u8; 16] {
    let mut k = [0x1e; 16];
    k[0] = name.as_bytes()[0];
    k
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        max_shrink_iters: 2048,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/state_machine.txt",
        ))),
        ..Config::default()
    }
}

type Plain = Machine<0>;
type Signed = Machine<1>;
type Encrypted = Machine<2>;

prop_state_machine! {
    #![proptest_config(config())]

    #[test]
    fn plain_sequences(sequential 1..80 => Plain);

    #[test]
    fn signed_sequences(sequential 1..80 => Signed);

    #[test]
    fn encrypted_sequences(sequential 1..80 => Encrypted);
}
