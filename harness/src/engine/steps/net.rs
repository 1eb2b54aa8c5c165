//! Actions on the network between the implementation and the raw peer (`crate::netns`): a
//! silent cut, healing it, and impairing it. A case with any of these runs its implementation
//! in a namespace of its own, which the engine creates before the first step.

use super::super::{Ctx, StepResult, Stop};
use crate::netns::{NetnsError, TestNet};
use crate::scenario::action;

/// The case's test network (the engine made one because the case has `net.*` steps).
fn test_net<'a>(cx: &'a mut Ctx<'_>) -> Result<&'a mut TestNet, Stop> {
    cx.net
        .as_mut()
        .ok_or_else(|| Stop::Error("no test network (the case has no namespace)".into()))
}

/// A network change that failed: UNSUPPORTED where the machine cannot do it, else ERROR.
fn net_stop(e: NetnsError) -> Stop {
    if e.is_unavailable() {
        Stop::Unsupported(format!("network impairment: {e}"))
    } else {
        Stop::Error(e.to_string())
    }
}

/// `net.cut`: drops every packet in both directions from now on (no FIN, no RST). The mark
/// `net.cut` is the time just before the first rule goes in (installing both takes ~150 ms
/// here), so a detection time measured from it is never shorter than the real one.
pub(super) fn cut(cx: &mut Ctx<'_>, _s: &action::NetCut) -> StepResult {
    let at = cx.clock.now_us();
    test_net(cx)?.cut().map_err(net_stop)?;
    cx.marks.insert("net.cut".into(), at);
    Ok(())
}

/// `net.heal`: the link carries packets again; the mark `net.heal` is the time the last rule
/// went away.
pub(super) fn heal(cx: &mut Ctx<'_>, _s: &action::NetHeal) -> StepResult {
    test_net(cx)?.heal().map_err(net_stop)?;
    cx.marks.insert("net.heal".into(), cx.clock.now_us());
    Ok(())
}

/// `net.impair`: random loss and added delay in both directions.
pub(super) fn impair(cx: &mut Ctx<'_>, s: &action::NetImpair) -> StepResult {
    test_net(cx)?
        .impair(s.loss_percent, s.delay_ms)
        .map_err(net_stop)
}
