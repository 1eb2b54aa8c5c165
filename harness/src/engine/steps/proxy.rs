//! Actions of the impairing proxy: starting it, impairing a direction, healing.

use super::super::{Ctx, StepResult, Stop};
use super::endpoint_addr;
use crate::peer::{Impairment, PeerProxy, Way, parse_dir};
use crate::scenario::action;

/// `proxy.start`: an impairing (and recording) proxy to `to`, listening where the raw peer
/// listens (127.0.0.1, `--peer-host`, or the test network's root end), so an implementation on
/// another host can connect to it.
pub(super) async fn start(cx: &mut Ctx<'_>, s: &action::ProxyStart) -> StepResult {
    let upstream = endpoint_addr(&cx.interp(&s.to)?)?;
    let p = PeerProxy::start_impairing(
        &s.proxy,
        cx.peer_host(),
        upstream,
        s.settings.clone(),
        cx.clock,
    )
    .await
    .map_err(|e| Stop::Error(e.to_string()))?;
    super::peer::keep_proxy(cx, &s.proxy, s.save.as_deref(), p);
    Ok(())
}

/// The impairing proxy a step names, and the directions of its `dir`.
fn target<'c>(cx: &'c Ctx<'_>, proxy: &str, dir: &str) -> Result<(&'c PeerProxy, Vec<Way>), Stop> {
    let p = cx
        .proxies
        .get(proxy)
        .ok_or_else(|| Stop::Error(format!("no proxy `{proxy}`")))?;
    if !p.is_impairing() {
        return Err(Stop::Error(format!(
            "proxy `{proxy}` records only (`peer.proxy`); start it with `proxy.start` to impair it"
        )));
    }
    let ways = parse_dir(dir).map_err(|e| Stop::Error(e.to_string()))?;
    Ok((p, ways))
}

/// `proxy.impair`: sets what the proxy does to a direction, from now on.
pub(super) fn impair(cx: &mut Ctx<'_>, s: &action::ProxyImpair) -> StepResult {
    let impairment = Impairment {
        delay_ms: s.delay_ms,
        slice: s.slice,
        gap_ms: s.gap_ms,
        stall: s.stall,
        cut_after: s.cut_after,
        cut: s.cut,
        blackhole: s.blackhole,
    };
    impairment
        .validate()
        .map_err(|e| Stop::Error(format!("proxy.impair: {e}")))?;
    let (p, ways) = target(cx, &s.proxy, &s.dir)?;
    for way in ways {
        p.impair(way, impairment.clone(), s.open_only);
    }
    if let Some(m) = &s.mark {
        cx.marks.insert(m.clone(), cx.clock.now_us());
    }
    Ok(())
}

/// `proxy.heal`: ends every impairment of the direction(s).
pub(super) fn heal(cx: &mut Ctx<'_>, s: &action::ProxyHeal) -> StepResult {
    let (p, ways) = target(cx, &s.proxy, &s.dir)?;
    for way in ways {
        p.impair(way, Impairment::default(), false);
    }
    if let Some(m) = &s.mark {
        cx.marks.insert(m.clone(), cx.clock.now_us());
    }
    Ok(())
}
