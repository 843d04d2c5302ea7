//! A bare closed loop on one path that does no auth work (the `none` floor's /api/me): each user
//! GETs it back to back with one fixed header, timed and recorded like every other scenario's
//! requests, so what it reaches is the load generator's own ceiling.

use std::sync::Arc;

use goose::prelude::{GooseUser, Scenario, Transaction, TransactionError, TransactionResult};
use tokio::time::Instant;

use hyper::Method;

use crate::client::ClientSpec;
use crate::recorder::{Recorder, UserRecording};
use crate::wire::Wire;

/// Builds the scenario: every user GETs `path` in a loop, sending `header` when given; all share
/// `recorder`.
pub fn scenario(path: &'static str, header: Option<(&'static str, String)>, recorder: Arc<Recorder>) -> Scenario {
    let header: Arc<Option<(&'static str, String)>> = Arc::new(header);
    let (start, step, stop) = (Arc::clone(&recorder), Arc::clone(&recorder), recorder);
    Scenario::new("authbench-bare")
        .register_transaction(
            Transaction::new(Arc::new(move |user| {
                let r = Arc::clone(&start);
                Box::pin(async move {
                    let wire = Wire::for_user(user, &ClientSpec::Plain).ok_or_else(|| {
                        let at = user.base_url.to_string();
                        Box::new(TransactionError::Custom(format!(
                            "the bare loop needs a plain target at an IP address, not {at}"
                        )))
                    })?;
                    user.set_session_data(BareUser { rec: r.user(), wire });
                    r.user_ready();
                    Ok(())
                })
            }))
            .set_name("start")
            .set_on_start(),
        )
        .register_transaction(
            Transaction::new(Arc::new(move |user| {
                let (r, h) = (Arc::clone(&step), Arc::clone(&header));
                Box::pin(async move { get(user, path, h.as_ref().as_ref(), &r).await })
            }))
            .set_name("get"),
        )
        .register_transaction(
            Transaction::new(Arc::new(move |user| {
                let r = Arc::clone(&stop);
                Box::pin(async move {
                    if let Some(u) = user.get_session_data::<BareUser>() {
                        r.merge(&u.rec);
                    }
                    Ok(())
                })
            }))
            .set_name("stop")
            .set_on_stop(),
        )
}

/// A bare user's recording and its own connection.
#[derive(Clone)]
struct BareUser {
    rec: UserRecording,
    wire: Wire,
}

/// One timed GET on the user's wire, as the scenarios send, body read to the end, recorded with
/// its status (0 when no answer came).
async fn get(
    user: &mut GooseUser,
    path: &str,
    header: Option<&(&'static str, String)>,
    recorder: &Recorder,
) -> TransactionResult {
    let no_user = || Box::new(TransactionError::Custom("user has no recording: its start failed".into()));
    let wire = user.get_session_data::<BareUser>().ok_or_else(no_user)?.wire.clone();
    let sent = Instant::now();
    let status = wire.send(Method::GET, path, header.map(|(n, v)| (*n, v.as_str())), None).await.status;
    let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
    let u = user.get_session_data_mut::<BareUser>().ok_or_else(no_user)?;
    recorder.record(&mut u.rec, status, us);
    Ok(())
}
