//! Actions on the flow of a case: marks, pauses, repetition.

use super::super::{Ctx, StepResult};
use crate::scenario::action;
use serde_json::Value;

/// `mark`: records the current time under a name.
pub(super) fn mark(cx: &mut Ctx<'_>, s: &action::Mark) -> StepResult {
    cx.marks.insert(s.name.clone(), cx.clock.now_us());
    Ok(())
}

/// `pause`: holds a state for a fixed (scaled) time.
pub(super) async fn pause(cx: &mut Ctx<'_>, s: &action::Pause) -> StepResult {
    tokio::time::sleep(cx.env.scaled(s.ms)).await;
    Ok(())
}

/// `repeat`: runs the steps `times` times with `${i}` counting from 1.
pub(super) async fn repeat(cx: &mut Ctx<'_>, s: &action::Repeat) -> StepResult {
    for i in 1..=s.times {
        cx.vars.insert("i".into(), Value::from(i));
        cx.run_steps(&s.steps).await?;
    }
    Ok(())
}
