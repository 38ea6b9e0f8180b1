//! FSCTL_VALIDATE_NEGOTIATE_INFO after TREE_CONNECT at SMB 3.0 / 3.0.2 (MS-SMB2 3.2.5.5,
//! 3.2.5.14.12): the signed answer proves no one downgraded the unsigned NEGOTIATE. The
//! TREE_CONNECT completes only once the server's answer matches what NEGOTIATE settled;
//! any mismatch, error or timeout terminates the connection.

use super::{Batch, Connection, Event, Kind, Pending, Queued, Request, Response};
use crate::Instant;
use crate::error::ConnectionError;
use crate::wire::{
    Dialect, FileId, IoctlRequest, IoctlResponse, ResponseBody, ValidateNegotiateInfoRequest,
    ValidateNegotiateInfoResponse, fsctl,
};

impl Connection {
    /// Whether a successful TREE_CONNECT on `p`'s session must be validated first.
    pub(super) fn needs_validation(&self, p: &Pending) -> bool {
        let Some(n) = &self.negotiated else {
            return false;
        };
        // A session whose LOGOFF is out can no longer carry the IOCTL; its trees are
        // unusable anyway.
        let signed_session = p.session.is_some_and(|i| {
            let s = &self.sessions[i];
            s.is_ready()
                && !self.is_logging_off(i)
                && s.signer.is_some()
                && !s.flags.is_guest()
                && !s.flags.is_null()
        });
        matches!(n.dialect, Dialect::Smb300 | Dialect::Smb302)
            && signed_session
            && self.sent_negotiate.is_some()
            && !self.config.dangerous_skip_negotiate_validation
    }

    /// Holds the TREE_CONNECT response and queues the signed validation IOCTL.
    pub(super) fn start_validation(&mut self, now: Instant, p: &Pending, tree_connect: Response) {
        let Some(sent) = &self.sent_negotiate else {
            return;
        };
        // MS-SMB2 3.2.4.20.10: what this client sent in its NEGOTIATE.
        let input = ValidateNegotiateInfoRequest {
            capabilities: sent.capabilities,
            guid: sent.client_guid,
            security_mode: sent.security_mode,
            dialects: sent.dialects.clone(),
            dialect_count: None,
        };
        let ioctl = IoctlRequest::fsctl(
            fsctl::FSCTL_VALIDATE_NEGOTIATE_INFO,
            FileId::RELATED, // all ones: no open (MS-SMB2 2.2.31)
            input.to_bytes(),
            24,
        );
        let session = p.session.map(|i| self.sessions[i].id).unwrap_or_default();
        let mut request = Request::new(ioctl).tree(session, tree_connect.header.tree_id);
        request.sign = Some(true);
        let id = self.next_id();
        self.validations.insert(id, (p.id, tree_connect));
        // Ahead of anything queued since (a LOGOFF, say): it belongs to the TREE_CONNECT.
        self.queue.push_front(Batch::single(Queued {
            id,
            request,
            deadline: now + self.config.request_timeout,
            kind: Kind::Validate,
            session: p.session,
            related: false,
        }));
    }

    /// The server's answer: release the TREE_CONNECT, or fail the connection.
    pub(super) fn handle_validation(
        &mut self,
        p: Pending,
        result: Result<Response, crate::error::RequestError>,
    ) {
        let Some((id, held)) = self.validations.remove(&p.id) else {
            return;
        };
        match self.check_validation(result.ok()) {
            Ok(()) => self.events.push_back(Event::Completed {
                id,
                result: Ok(held),
            }),
            Err(what) => {
                // Put it back so `fail` completes the TREE_CONNECT with ConnectionLost.
                self.validations.insert(p.id, (id, held));
                self.fail(ConnectionError::NegotiateValidationFailed(what));
            }
        }
    }

    fn check_validation(&self, r: Option<Response>) -> Result<(), &'static str> {
        let Some(Response {
            body: ResponseBody::Ioctl(IoctlResponse { output, .. }),
            ..
        }) = r
        else {
            return Err("the server refused FSCTL_VALIDATE_NEGOTIATE_INFO");
        };
        let v = ValidateNegotiateInfoResponse::decode(&output)
            .map_err(|_| "undecodable VALIDATE_NEGOTIATE_INFO response")?;
        let n = self.negotiated.as_ref().ok_or("not negotiated")?;
        // MS-SMB2 3.2.5.14.12: every field must equal what NEGOTIATE returned.
        if v.dialect != n.dialect {
            return Err("dialect differs from NEGOTIATE");
        }
        if v.guid != n.server_guid {
            return Err("ServerGuid differs from NEGOTIATE");
        }
        if v.security_mode != n.security_mode {
            return Err("SecurityMode differs from NEGOTIATE");
        }
        if v.capabilities != n.capabilities {
            return Err("Capabilities differ from NEGOTIATE");
        }
        Ok(())
    }
}
