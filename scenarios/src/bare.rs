//! A bare closed loop on one path that does no auth work (the `none` floor's /api/me): each user
//! GETs it back to back with one fixed header, timed and recorded like every other scenario's
//! requests, so what it reaches is the load generator's own ceiling.

use std::sync::Arc;

use goose::prelude::{
    GooseMethod, GooseRequest, GooseUser, Scenario, Transaction, TransactionError, TransactionResult,
};
use tokio::time::Instant;

use hyper::Method;

use crate::client::ClientSpec;
use crate::recorder::{Recorder, UserRecording, TRANSPORT_ERROR};
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
                    let wire = Wire::for_user(user, &ClientSpec::Plain);
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

/// A bare user's recording and, on a plain target, its own connection.
#[derive(Clone)]
struct BareUser {
    rec: UserRecording,
    wire: Option<Wire>,
}

/// One timed GET, body read to the end, recorded with its status (0 when no answer came); on the
/// user's wire when it has one, as the scenarios send, otherwise through goose.
async fn get(
    user: &mut GooseUser,
    path: &str,
    header: Option<&(&'static str, String)>,
    recorder: &Recorder,
) -> TransactionResult {
    let no_user = || Box::new(TransactionError::Custom("user has no recording: its start failed".into()));
    let wire = user.get_session_data::<BareUser>().ok_or_else(no_user)?.wire.clone();
    let sent = Instant::now();
    let status = match wire {
        Some(w) => w.send(Method::GET, path, header.map(|(n, v)| (*n, v.as_str())), None).await.status,
        None => match goose_get(user, path, header).await?.response {
            Ok(r) => {
                let status = r.status().as_u16();
                r.bytes().await.map_or(TRANSPORT_ERROR, |_| status)
            }
            Err(_) => TRANSPORT_ERROR,
        },
    };
    let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
    let u = user.get_session_data_mut::<BareUser>().ok_or_else(no_user)?;
    recorder.record(&mut u.rec, status, us);
    Ok(())
}

/// The same GET through goose's request path, for targets the wire does not reach.
async fn goose_get(
    user: &mut GooseUser,
    path: &str,
    header: Option<&(&'static str, String)>,
) -> Result<goose::goose::GooseResponse, Box<TransactionError>> {
    let mut rb = user.get_request_builder(&GooseMethod::Get, path)?;
    if let Some((name, value)) = header {
        rb = rb.header(*name, value);
    }
    user.request(GooseRequest::builder().method(GooseMethod::Get).path(path).set_request_builder(rb).build()).await
}
