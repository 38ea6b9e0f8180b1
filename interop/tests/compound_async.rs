//! Compounds, STATUS_PENDING + CANCEL and ECHO against a real Samba.

use std::time::{Duration, Instant};

use bytes::Bytes;
use pike_core::wire::{
    ChangeNotifyRequest, CloseRequest, CreateRequest, EchoRequest, FileId, LockElement,
    LockRequest, NtStatus, ReadRequest, ResponseBody, SessionId, TreeId, WriteRequest, access,
    completion_filter, create_options, disposition,
};
use pike_core::{Compound, Request, RequestError};
use pike_interop::{Driver, Target, create_request, open_do_close, target_or_skip};

fn setup(t: &Target) -> (Driver, SessionId, TreeId) {
    let (mut d, sid) = Driver::logon(t).expect("logon");
    let tid = d.tree_connect(t, sid, &t.share).expect("TREE_CONNECT");
    (d, sid, tid)
}

fn open(d: &mut Driver, sid: SessionId, tid: TreeId, req: CreateRequest) -> FileId {
    d.create(sid, tid, req).expect("CREATE").file_id
}

#[test]
fn related_compound_create_write_close_then_read() {
    let Some(t) = target_or_skip("related_compound_create_write_close_then_read") else {
        return;
    };
    let (mut d, sid, tid) = setup(&t);
    let name = format!("pike-compound-{}.txt", std::process::id());
    let data = Bytes::from_static(b"written by a related compound");
    let write = WriteRequest {
        file_id: FileId::RELATED,
        data: data.clone(),
        ..Default::default()
    };
    let create = create_request(&name, disposition::OVERWRITE_IF, 0);
    let chain = open_do_close(sid, tid, create, vec![write.into()]);
    let ids = d
        .conn
        .submit_compound(Instant::now(), chain)
        .expect("submit_compound");
    assert_eq!(ids.len(), 3);
    let results: Vec<_> = ids.into_iter().map(|id| d.wait(id)).collect();
    assert!(
        matches!(&results[0], Ok(r) if matches!(r.body, ResponseBody::Create(_))),
        "{:?}",
        results[0]
    );
    match &results[1] {
        Ok(r) => match &r.body {
            ResponseBody::Write(w) => assert_eq!(w.count as usize, data.len()),
            other => panic!("{other:?}"),
        },
        Err(e) => panic!("WRITE in compound: {e}"),
    }
    assert!(results[2].is_ok(), "CLOSE in compound: {:?}", results[2]);

    // Read it back with another related chain: create + read + close (delete on close).
    let read = ReadRequest {
        file_id: FileId::RELATED,
        length: 4096,
        ..Default::default()
    };
    let create = create_request(&name, disposition::OPEN, create_options::DELETE_ON_CLOSE);
    let chain = open_do_close(sid, tid, create, vec![read.into()]);
    let ids = d
        .conn
        .submit_compound(Instant::now(), chain)
        .expect("submit_compound");
    let results: Vec<_> = ids.into_iter().map(|id| d.wait(id)).collect();
    match &results[1] {
        Ok(r) => match &r.body {
            ResponseBody::Read(rd) => assert_eq!(rd.data, data),
            other => panic!("{other:?}"),
        },
        Err(e) => panic!("READ in compound: {e}"),
    }
    assert!(results[2].is_ok());
    assert!(d.lost.is_none(), "{:?}", d.lost);
}

#[test]
fn failing_create_cascades_to_related_parts() {
    let Some(t) = target_or_skip("failing_create_cascades_to_related_parts") else {
        return;
    };
    let (mut d, sid, tid) = setup(&t);
    let read = ReadRequest {
        file_id: FileId::RELATED,
        length: 10,
        ..Default::default()
    };
    let create = create_request("no-such-dir\\no-such-file", disposition::OPEN, 0);
    let chain = open_do_close(sid, tid, create, vec![read.into()]);
    let ids = d
        .conn
        .submit_compound(Instant::now(), chain)
        .expect("submit_compound");
    let statuses: Vec<_> = ids
        .into_iter()
        .map(|id| d.wait(id).expect_err("must fail").status())
        .collect();
    assert_eq!(statuses[0], Some(NtStatus::OBJECT_PATH_NOT_FOUND));
    assert_eq!(
        statuses[1], statuses[0],
        "the related READ inherits the CREATE status"
    );
    assert_eq!(
        statuses[2], statuses[0],
        "the related CLOSE inherits the CREATE status"
    );
}

#[test]
fn unrelated_compound_of_echoes() {
    let Some(t) = target_or_skip("unrelated_compound_of_echoes") else {
        return;
    };
    let (mut d, sid, _tid) = setup(&t);
    let chain = (0..4).fold(Compound::new(), |c, _| {
        c.push(Request::new(EchoRequest).session(sid))
    });
    let ids = d
        .conn
        .submit_compound(Instant::now(), chain)
        .expect("submit_compound");
    for id in ids {
        assert!(matches!(
            d.wait(id).expect("ECHO").body,
            ResponseBody::Echo(_)
        ));
    }
}

#[test]
fn change_notify_goes_pending_and_cancel_completes_it() {
    let Some(t) = target_or_skip("change_notify_goes_pending_and_cancel_completes_it") else {
        return;
    };
    let (mut d, sid, tid) = setup(&t);
    let dir = CreateRequest {
        desired_access: access::FILE_LIST_DIRECTORY | access::SYNCHRONIZE,
        create_options: create_options::DIRECTORY_FILE,
        create_disposition: disposition::OPEN,
        ..create_request("", disposition::OPEN, 0)
    };
    let fid = open(&mut d, sid, tid, dir);
    let notify = ChangeNotifyRequest {
        output_buffer_length: 4096,
        file_id: fid,
        completion_filter: completion_filter::FILE_NAME,
        ..Default::default()
    };
    let id = d
        .conn
        .submit(Instant::now(), Request::new(notify).tree(sid, tid))
        .expect("submit");
    // Drive until the interim arrives: an ECHO round trip flushes the pipeline.
    let echo = d
        .conn
        .submit(Instant::now(), Request::new(EchoRequest).session(sid))
        .expect("echo");
    d.wait(echo).expect("ECHO");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.interims.contains(&id) && Instant::now() < deadline {
        let e = d
            .conn
            .submit(Instant::now(), Request::new(EchoRequest).session(sid))
            .expect("echo");
        d.wait(e).expect("ECHO");
    }
    assert!(
        d.interims.contains(&id),
        "CHANGE_NOTIFY should go async (STATUS_PENDING)"
    );
    d.conn.cancel(Instant::now(), id).expect("cancel");
    let err = d.wait(id).expect_err("cancelled");
    assert_eq!(err.status(), Some(NtStatus::CANCELLED), "{err}");
    d.call(
        Request::new(CloseRequest {
            file_id: fid,
            ..Default::default()
        })
        .tree(sid, tid),
    )
    .expect("CLOSE");
}

#[test]
fn blocking_lock_pends_until_cancelled_and_fail_immediately_conflicts() {
    let Some(t) = target_or_skip("blocking_lock_pends_until_cancelled") else {
        return;
    };
    let (mut d, sid, tid) = setup(&t);
    let name = format!("pike-lock-{}.bin", std::process::id());
    let a = open(
        &mut d,
        sid,
        tid,
        create_request(&name, disposition::OVERWRITE_IF, 0),
    );
    let b = open(
        &mut d,
        sid,
        tid,
        create_request(&name, disposition::OPEN, create_options::DELETE_ON_CLOSE),
    );
    let lock = |fid, flags| LockRequest {
        file_id: fid,
        locks: vec![LockElement {
            offset: 0,
            length: 10,
            flags,
        }],
        ..Default::default()
    };
    d.call(
        Request::new(lock(
            a,
            LockElement::EXCLUSIVE | LockElement::FAIL_IMMEDIATELY,
        ))
        .tree(sid, tid),
    )
    .expect("first lock");
    let err = d
        .call(
            Request::new(lock(
                b,
                LockElement::EXCLUSIVE | LockElement::FAIL_IMMEDIATELY,
            ))
            .tree(sid, tid),
        )
        .expect_err("conflict");
    assert_eq!(err.status(), Some(NtStatus::LOCK_NOT_GRANTED), "{err}");
    // Without FAIL_IMMEDIATELY the server parks the request: it must not time out on us.
    let id = d
        .conn
        .submit(
            Instant::now(),
            Request::new(lock(b, LockElement::EXCLUSIVE)).tree(sid, tid),
        )
        .expect("submit");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.interims.contains(&id) && Instant::now() < deadline {
        let e = d
            .conn
            .submit(Instant::now(), Request::new(EchoRequest).session(sid))
            .expect("echo");
        d.wait(e).expect("ECHO");
    }
    assert!(d.interims.contains(&id), "blocking LOCK should go async");
    d.conn.cancel(Instant::now(), id).expect("cancel");
    let err: RequestError = d.wait(id).expect_err("cancelled");
    assert_eq!(err.status(), Some(NtStatus::CANCELLED), "{err}");
    for fid in [a, b] {
        d.call(
            Request::new(CloseRequest {
                file_id: fid,
                ..Default::default()
            })
            .tree(sid, tid),
        )
        .expect("CLOSE");
    }
}

#[test]
fn batch_oplock_is_broken_by_a_second_open_and_acked() {
    use pike_core::wire::{OplockBreak, oplock_level};
    let Some(t) = target_or_skip("batch_oplock_is_broken_by_a_second_open_and_acked") else {
        return;
    };
    let (mut d, sid, tid) = setup(&t);
    let name = format!("pike-oplock-{}.bin", std::process::id());
    let first = CreateRequest {
        requested_oplock_level: oplock_level::BATCH,
        ..create_request(&name, disposition::OVERWRITE_IF, 0)
    };
    let granted = match d
        .call(Request::new(first).tree(sid, tid))
        .expect("CREATE")
        .body
    {
        ResponseBody::Create(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        granted.oplock_level,
        oplock_level::BATCH,
        "Samba grants a batch oplock"
    );
    // A second open of the same file must break the first one's oplock.
    let second = d
        .conn
        .submit(
            Instant::now(),
            Request::new(create_request(
                &name,
                disposition::OPEN,
                create_options::DELETE_ON_CLOSE,
            ))
            .tree(sid, tid),
        )
        .expect("submit");
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.breaks.is_empty() && Instant::now() < deadline {
        let e = d
            .conn
            .submit(Instant::now(), Request::new(EchoRequest).session(sid))
            .expect("echo");
        d.wait(e).expect("ECHO");
    }
    let brk = d.breaks.pop().expect("an unsolicited OPLOCK_BREAK arrives");
    assert_eq!(
        brk.header.message_id.0,
        u64::MAX,
        "breaks use MessageId all-ones"
    );
    let info = match &brk.body {
        ResponseBody::OplockBreak(b) => b.oplock().expect("oplock form"),
        other => panic!("{other:?}"),
    };
    assert_eq!(info.file_id, granted.file_id);
    assert!(
        info.oplock_level < oplock_level::BATCH,
        "broken to a lower level: {info:?}"
    );
    let ack = OplockBreak::oplock_ack(info.oplock_level, info.file_id);
    let r = d
        .call(Request::new(pike_core::wire::RequestBody::OplockBreakAck(ack)).tree(sid, tid))
        .expect("ack");
    match r.body {
        ResponseBody::OplockBreak(b) => {
            assert_eq!(b.oplock().expect("ack response").file_id, granted.file_id)
        }
        other => panic!("{other:?}"),
    }
    let fid2 = match d
        .wait(second)
        .expect("second CREATE completes after the ack")
        .body
    {
        ResponseBody::Create(c) => c.file_id,
        other => panic!("{other:?}"),
    };
    for fid in [granted.file_id, fid2] {
        d.call(
            Request::new(CloseRequest {
                file_id: fid,
                ..Default::default()
            })
            .tree(sid, tid),
        )
        .expect("CLOSE");
    }
}
