//! Talks to an SMB server with pike-core over a blocking socket: negotiate, log on,
//! connect the share, write a file, read it back, verify, delete it, log off.
//!
//! `PIKE_SERVER=127.0.0.1 PIKE_PORT=4450 PIKE_SHARE=share PIKE_CREDS='LAB\user%pass' \
//!  cargo run -p pike-interop --example demo`

use std::time::Instant;

use bytes::Bytes;
use pike_core::Request;
use pike_core::wire::{
    LogoffRequest, ReadRequest, ResponseBody, TreeDisconnectRequest, WriteRequest, create_options,
    disposition,
};
use pike_interop::{Driver, Target, create_request};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t = Target::from_env()?.ok_or("set PIKE_SERVER, PIKE_PORT, PIKE_SHARE and PIKE_CREDS")?;
    let started = Instant::now();
    let (mut d, sid) = Driver::logon(&t)?;
    let info = d.conn.session_info(sid).ok_or("no session")?;
    println!(
        "connected to {}:{} dialect {} signing_required={} encrypted={}",
        t.server,
        t.port,
        d.conn.dialect().ok_or("no dialect")?,
        info.signing_required,
        info.encrypt_data
    );
    let tid = d.tree_connect(&t, sid, &t.share)?;

    let name = "pike-demo.txt";
    let data = Bytes::from(format!("hello from pike, {}\n", t.user).repeat(1000));
    let fid = d
        .create(sid, tid, create_request(name, disposition::OVERWRITE_IF, 0))?
        .file_id;
    let w = WriteRequest {
        file_id: fid,
        data: data.clone(),
        ..Default::default()
    };
    d.call(Request::new(w).tree(sid, tid))?;
    let r = ReadRequest {
        file_id: fid,
        length: data.len() as u32,
        ..Default::default()
    };
    let back = match d.call(Request::new(r).tree(sid, tid))?.body {
        ResponseBody::Read(r) => r.data,
        _ => return Err("unexpected READ response".into()),
    };
    d.close(sid, tid, fid)?;
    if back != data {
        return Err("read back differs from what was written".into());
    }
    println!(
        "wrote and read back {} bytes of \\{name}: identical",
        data.len()
    );
    let del = create_request(name, disposition::OPEN, create_options::DELETE_ON_CLOSE);
    let fid = d.create(sid, tid, del)?.file_id;
    d.close(sid, tid, fid)?;
    d.call(Request::new(TreeDisconnectRequest).tree(sid, tid))?;
    d.call(Request::new(LogoffRequest).session(sid))?;
    let c = d.conn.credits();
    println!(
        "deleted it, logged off; {} credits granted, {:?} elapsed",
        c.total_granted,
        started.elapsed()
    );
    Ok(())
}
