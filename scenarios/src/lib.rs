//! Load scenarios that drive the targets and the microsecond recorders they feed.
//!
//! goose schedules users and keeps its own (millisecond) report; every request also goes into a
//! per-user HdrHistogram at microsecond resolution, merged once per user when it stops, so the
//! hot path takes no lock; above [`recorder::SHARED_ABOVE_USERS`] users (a population) they
//! record into a few shared, mutexed shards instead, so memory does not grow with the users.

pub mod bare;
pub mod client;
pub mod pacing;
pub mod plan;
pub mod population;
pub mod recorder;
pub mod steps;
pub mod wire;

pub use plan::{LoadModel, Plan, ScenarioKind};
pub use recorder::{Recorder, Window};

use std::sync::Arc;

use goose::prelude::{Scenario, Transaction};

/// Builds the goose scenario for a plan; all users share `plan` and its recorder.
pub fn scenario(plan: Arc<Plan>) -> Scenario {
    let start = Arc::clone(&plan);
    let step = Arc::clone(&plan);
    let stop = plan;
    Scenario::new("authbench")
        .register_transaction(
            Transaction::new(Arc::new(move |user| {
                let plan = Arc::clone(&start);
                Box::pin(async move { steps::start(user, &plan).await })
            }))
            .set_name("login")
            .set_on_start(),
        )
        .register_transaction(
            Transaction::new(Arc::new(move |user| {
                let plan = Arc::clone(&step);
                Box::pin(async move { steps::step(user, &plan).await })
            }))
            .set_name("step"),
        )
        .register_transaction(
            Transaction::new(Arc::new(move |user| {
                let plan = Arc::clone(&stop);
                Box::pin(async move {
                    steps::stop(user, &plan).await;
                    Ok(())
                })
            }))
            .set_name("stop")
            .set_on_stop(),
        )
}
