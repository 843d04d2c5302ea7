//! Rules on availability, judged from the fault cases (`[[fault]]` in a matrix): who keeps serving
//! while the store is down, and who is logged out when it comes back empty. A fault case runs
//! once, so each figure is one window without an interval; the verdict rule is the one every
//! claim with a figure gets. Without fault cases of the kind a rule reads, its claim is not
//! measured, naming what to run.

use authbench_targets::spec::StrategyKind;

use crate::model::fault::{DataAfterRestart, Fault, FaultOutcome, FaultSubject};
use crate::model::results::Results;
use crate::report::claims::verdict::{
    judge_figures, Decision, Direction, Figure, Missing, Outcome, Reading, Stated, VerdictKind,
};
use crate::report::sections::faults::{groups, share, touched, FaultCase, FaultGroup};

/// A fault case with the `[[fault]]` it belongs to, for naming its condition.
type InGroup<'g, 'a> = (&'g FaultGroup<'a>, FaultCase<'a>);

/// What the run lacks, and how to get it, when it has no fault case of `kind`.
fn none_of(kind: &str) -> Missing {
    Missing(format!(
        "{kind} fault case (fault cases come from [[fault]] in the matrix; --profile standard includes them)"
    ))
}

/// The `[[fault]]`s whose fault `pick` selects; Missing, saying what to run, when there is none.
fn of_kind<'a>(r: &'a Results, pick: fn(&Fault) -> bool, kind: &str) -> Result<Vec<FaultGroup<'a>>, Missing> {
    let found: Vec<FaultGroup<'a>> = groups(r).into_iter().filter(|g| pick(&g.fault)).collect();
    if found.is_empty() {
        Err(none_of(kind))
    } else {
        Ok(found)
    }
}

fn outage(f: &Fault) -> bool {
    matches!(f, Fault::StoreOutage { .. })
}

fn restart_lost(f: &Fault) -> bool {
    matches!(f, Fault::StoreRestart { data: DataAfterRestart::Lost, .. })
}

/// The condition a fault case stands for: its configuration and its `[[fault]]`.
fn condition((g, fc): InGroup<'_, '_>) -> String {
    format!("{}, {}", fc.case.target.id, g.id())
}

/// A single window's figure: no interval.
fn one_window(x: f64) -> Figure {
    Figure { median: x, low: x, high: x, n: 1 }
}

fn plain_jwt(fc: &FaultCase<'_>) -> bool {
    let s = &fc.case.target.spec;
    s.strategy == StrategyKind::Jwt && s.denylist.is_none()
}

/// A configuration of `strategy` whose store the harness acted on.
fn stored(fc: &FaultCase<'_>, strategy: StrategyKind) -> bool {
    fc.case.target.spec.strategy == strategy && matches!(fc.record.subject, FaultSubject::Store { .. })
}

/// The cases of `groups` that `pick` selects, with their group.
fn cases<'g, 'a>(groups: &'g [FaultGroup<'a>], pick: impl Fn(&FaultCase<'a>) -> bool) -> Vec<InGroup<'g, 'a>> {
    groups.iter().flat_map(|g| g.cases.iter().filter(|fc| pick(fc)).map(move |fc| (g, *fc))).collect()
}

/// The error share during the fault; Missing when no request completed in the seconds it covered.
fn error_share(x: InGroup<'_, '_>) -> Result<Reading, Missing> {
    let s = x.1.record.outcome.error_share.ok_or_else(|| {
        Missing(format!(
            "error share during the fault for {}: no request completed in the seconds it covered",
            condition(x)
        ))
    })?;
    Ok(Reading { condition: condition(x), figure: one_window(s) })
}

/// Below this share of its successes per second before the fault, a configuration was not served
/// during it, errors or not (clients the fault blocked send less).
const HALF_SERVED: f64 = 0.5;

/// "session-redis, …/store_outage: 87.0 % errors, successes/s at 3 % of before; …" for the reason.
fn shares(of: &[InGroup<'_, '_>]) -> String {
    let one = |x: &InGroup<'_, '_>| {
        let o = &x.1.record.outcome;
        let served = o.availability.map_or_else(
            || "successes/s before the fault not measured".to_owned(),
            |a| format!("successes/s at {:.0} % of before", a * 100.0),
        );
        format!("{}: {} errors, {served}", condition(*x), share(o.error_share))
    };
    of.iter().map(one).collect::<Vec<_>>().join("; ")
}

/// Whether the fault reached a configuration's clients: errors above `max_share`, no answer at
/// all, or under half the successes per second it had before.
fn disturbed(o: &FaultOutcome, max_share: f64) -> bool {
    o.error_share.is_none_or(|x| x > max_share) || o.availability.is_some_and(|a| a < HALF_SERVED)
}

fn error_stated(max_share: f64) -> Stated {
    Stated { value: max_share, direction: Direction::AtMost, unit: " %", digits: 1, scale: 100.0 }
}

/// "JWT-only keeps serving when the session store is down": jwt without denylist's error share
/// during a store outage, beside the session configurations whose store was frozen in the same
/// `[[fault]]`; not measured when none of those was disturbed (the outage never reached a client).
pub(super) fn jwt_serves_in_outage(r: &Results, max_share: f64, t: f64) -> Decision {
    let mut both = of_kind(r, outage, "store_outage")?;
    both.retain(|g| g.cases.iter().any(plain_jwt) && g.cases.iter().any(|fc| stored(fc, StrategyKind::Session)));
    if both.is_empty() {
        return Err(Missing(
            "store_outage fault case with both a jwt configuration without denylist and a session configuration \
             whose store the harness froze"
                .into(),
        ));
    }
    let jwts = cases(&both, plain_jwt);
    let sessions = cases(&both, |fc| stored(fc, StrategyKind::Session));
    let readings = jwts.iter().map(|x| error_share(*x)).collect::<Result<Vec<_>, _>>()?;
    let contrast = shares(&sessions);
    if !sessions.iter().any(|x| disturbed(&x.1.record.outcome, max_share)) {
        return Ok(undisturbed(&jwts, &contrast, max_share));
    }
    let why = format!(
        "jwt: {}. Session configurations whose store was frozen in the same outage: {contrast}. jwt without \
         denylist asks no store, so its case is the control (the same load over the same window, nothing touched); \
         the sessions' figures show the outage reached clients that need the store on every request.",
        shares(&jwts)
    );
    let mut o = judge_figures(&error_stated(max_share), &readings, t, &why)?;
    o.measured.push_str(&format!("; sessions: {contrast}"));
    Ok(o)
}

/// Not measured: no session configuration felt the outage, so it shows nothing about jwt.
fn undisturbed(jwts: &[InGroup<'_, '_>], contrast: &str, max_share: f64) -> Outcome {
    Outcome {
        measured: format!("{}; sessions: {contrast}", shares(jwts)),
        verdict: VerdictKind::NotMeasured,
        because: format!(
            "no session configuration whose store was frozen had more than {:.1} % errors or under {:.0} % of its \
             successes per second during the outage ({contrast}): the outage never reached their clients, so this \
             run cannot show jwt serving where sessions stop",
            max_share * 100.0,
            HALF_SERVED * 100.0
        ),
    }
}

/// "Hybrid keeps serving access tokens while the store is down": each hybrid configuration's error
/// share during a store outage of its store, judged under each configuration.
pub(super) fn hybrid_serves_in_outage(r: &Results, max_share: f64, t: f64) -> Decision {
    let gs = of_kind(r, outage, "store_outage")?;
    let hybrids = cases(&gs, |fc| stored(fc, StrategyKind::Hybrid));
    if hybrids.is_empty() {
        return Err(Missing("store_outage fault case of a hybrid configuration whose store the harness froze".into()));
    }
    let readings = hybrids.iter().map(|x| error_share(*x)).collect::<Result<Vec<_>, _>>()?;
    let ttls = hybrids
        .iter()
        .map(|(_, fc)| format!("{} access TTL {}", fc.case.target.id, fc.case.target.spec.ttls.access))
        .collect::<Vec<_>>()
        .join(", ");
    let sessions = cases(&gs, |fc| stored(fc, StrategyKind::Session));
    let beside = match sessions.is_empty() {
        true => String::new(),
        false => format!(" Session configurations in the same outage: {}.", shares(&sessions)),
    };
    let why = format!(
        "Hybrid: {}. Hybrid checks an access token without the store and asks the store only to refresh or log in: \
         an outage shorter than the access TTL leaves browsing untouched, while a client whose access token expires \
         during it needs a refresh the store cannot answer ({ttls}).{beside}",
        shares(&hybrids)
    );
    judge_figures(&error_stated(max_share), &readings, t, &why)
}

/// Sessions lost per user of the load; Missing when the load has no users.
fn logged_out(x: InGroup<'_, '_>) -> Result<Reading, Missing> {
    let users = x.1.case.load.users;
    if users == 0 {
        return Err(Missing(format!("users in the load of {}", condition(x))));
    }
    let lost = x.1.record.outcome.sessions_lost as f64;
    Ok(Reading { condition: condition(x), figure: one_window(lost / users as f64) })
}

/// What the re-logins did after the restart, per session configuration.
fn relogins(x: InGroup<'_, '_>) -> String {
    let o = &x.1.record.outcome;
    let open = o.sessions_lost.saturating_sub(o.relogins);
    let still =
        if open > 0 { format!(", {open} had not logged in again when the window closed") } else { String::new() };
    format!(
        "{}: {} sessions lost of {} users, {} re-logins, failed login attempts: {}{still}",
        x.1.case.target.id, o.sessions_lost, x.1.case.load.users, o.relogins, o.relogin_failures
    )
}

/// The other configurations of the same `[[fault]]`s, with what was touched and sessions they lost.
fn beside(gs: &[FaultGroup<'_>]) -> String {
    let others = cases(gs, |fc| !stored(fc, StrategyKind::Session));
    others
        .iter()
        .map(|(_, fc)| {
            format!(
                "{} ({}): {} sessions lost",
                fc.case.target.id,
                touched(fc.record.subject),
                fc.record.outcome.sessions_lost
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// "A session store restart without persistence logs everyone out": sessions lost per user of the
/// load, against `logged_out_share`, for each session configuration whose store restarted empty.
pub(super) fn restart_logs_out(r: &Results, logged_out_share: f64, t: f64) -> Decision {
    let gs = of_kind(r, restart_lost, "store_restart_lost")?;
    let sessions = cases(&gs, |fc| stored(fc, StrategyKind::Session));
    if sessions.is_empty() {
        return Err(Missing(
            "store_restart_lost fault case of a session configuration whose store the harness restarted".into(),
        ));
    }
    let readings = sessions.iter().map(|x| logged_out(*x)).collect::<Result<Vec<_>, _>>()?;
    let stated =
        Stated { value: logged_out_share, direction: Direction::AtLeast, unit: " % of users", digits: 0, scale: 100.0 };
    let recovered = sessions.iter().map(|x| relogins(*x)).collect::<Vec<_>>().join("; ");
    let others = beside(&gs);
    let others = if others.is_empty() { String::new() } else { format!(" In the same window: {others}.") };
    let why = format!(
        "Sessions lost counts the 401s that sent a client back to log in (whole window), against the load's users. \
         A store without persistence keeps sessions in memory only: restarted, it is empty and every session is \
         gone; clients logged in again ({recovered}).{others}"
    );
    let mut o = judge_figures(&stated, &readings, t, &why)?;
    o.measured.push_str(&format!("; {recovered}"));
    Ok(o)
}
