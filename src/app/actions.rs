//! What a key (or a clicker, a tour, a flag) asks for, and what it does to the settings. Pure, so
//! every binding is testable without a window.

use crate::catalog::Catalog;
use crate::sim::{Settings, CONTEXT_PRESETS, MAX_SCENE_BATCH, SPEEDS};
use std::sync::Arc;
use winit::keyboard::{Key, NamedKey};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    TogglePause,
    SpeedUp,
    SpeedDown,
    NextContext,
    PrevContext,
    BatchUp,
    BatchDown,
    ToggleCb,
    TogglePa,
    ToggleFa,
    NextModel,
    PrevModel,
    NextGpu,
    PrevGpu,
    NextKvDtype,
    ToggleWeights,
    ToggleHold,
    Restart,
    ToggleFullscreen,
    Quit,
}

/// The key binding. Presenter clickers send PageUp/PageDown (and B or F5): they step the context.
pub fn action_for(key: &Key, shift: bool) -> Option<Action> {
    Some(match key {
        Key::Named(NamedKey::Space) => Action::TogglePause,
        Key::Named(NamedKey::ArrowRight) | Key::Named(NamedKey::PageDown) => Action::NextContext,
        Key::Named(NamedKey::ArrowLeft) | Key::Named(NamedKey::PageUp) => Action::PrevContext,
        Key::Named(NamedKey::F11) => Action::ToggleFullscreen,
        Key::Named(NamedKey::F5) => Action::Restart,
        Key::Named(NamedKey::Escape) => Action::Quit,
        Key::Character(c) => match c.as_str() {
            "+" | "=" => Action::SpeedUp,
            "-" | "_" => Action::SpeedDown,
            "]" => Action::BatchUp,
            "[" => Action::BatchDown,
            "c" | "C" => Action::ToggleCb,
            "p" | "P" => Action::TogglePa,
            "f" | "F" => Action::ToggleFa,
            "m" if !shift => Action::NextModel,
            "m" | "M" => Action::PrevModel,
            "g" if !shift => Action::NextGpu,
            "g" | "G" => Action::PrevGpu,
            "d" | "D" => Action::NextKvDtype,
            "w" | "W" => Action::ToggleWeights,
            "h" | "H" => Action::ToggleHold,
            "r" | "R" => Action::Restart,
            "b" | "B" => Action::TogglePause,
            "q" | "Q" => Action::Quit,
            _ => return None,
        },
        _ => return None,
    })
}

/// What an action did beyond the settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// The sweep starts over.
    Restart,
    Fullscreen,
    Quit,
}

fn step<T: Copy + PartialOrd>(list: &[T], cur: T, up: bool) -> T {
    if up {
        list.iter().copied().find(|v| *v > cur).unwrap_or(cur)
    } else {
        list.iter().rev().copied().find(|v| *v < cur).unwrap_or(cur)
    }
}

/// Applies an action to the settings.
pub fn apply(s: &mut Settings, cat: &Catalog, a: Action) -> Effect {
    match a {
        Action::TogglePause => s.paused = !s.paused,
        Action::SpeedUp => s.speed = step(&SPEEDS, s.speed, true),
        Action::SpeedDown => s.speed = step(&SPEEDS, s.speed, false),
        Action::NextContext => {
            s.context = step(&CONTEXT_PRESETS, s.context, true);
            return Effect::Restart;
        }
        Action::PrevContext => {
            s.context = step(&CONTEXT_PRESETS, s.context, false);
            return Effect::Restart;
        }
        Action::BatchUp => s.batch = (s.batch * 2).min(MAX_SCENE_BATCH),
        Action::BatchDown => s.batch = (s.batch / 2).max(1),
        Action::ToggleCb => s.cb = !s.cb,
        Action::TogglePa => s.pa = !s.pa,
        Action::ToggleFa => s.fa = !s.fa,
        Action::NextModel | Action::PrevModel => {
            let n = cat.models.len();
            let i = cat
                .models
                .iter()
                .position(|m| m.id == s.model.id)
                .unwrap_or(0);
            let j = if a == Action::NextModel {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            s.model = Arc::new(cat.models[j].clone());
            return Effect::Restart;
        }
        Action::NextGpu | Action::PrevGpu => {
            let n = cat.gpus.len();
            let i = cat.gpus.iter().position(|g| g.id == s.gpu.id).unwrap_or(0);
            let j = if a == Action::NextGpu {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            s.gpu = Arc::new(cat.gpus[j].clone());
        }
        Action::NextKvDtype => s.kv_dtype = Some(s.kv().next_kv()),
        Action::ToggleWeights => s.skip_weights = !s.skip_weights,
        Action::ToggleHold => s.hold = !s.hold,
        Action::Restart => return Effect::Restart,
        Action::ToggleFullscreen => return Effect::Fullscreen,
        Action::Quit => return Effect::Quit,
    }
    Effect::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_the_settings() {
        let cat = Catalog::builtin().unwrap();
        let mut s = Settings::new(
            Arc::new(cat.model("llama-3.1-8b").unwrap().clone()),
            Arc::new(cat.gpu("h100").unwrap().clone()),
        );
        let k = |c: &str| Key::Character(c.into());
        assert_eq!(action_for(&k("+"), false), Some(Action::SpeedUp));
        apply(&mut s, &cat, Action::SpeedUp);
        assert_eq!(s.speed, 2.0);
        for _ in 0..10 {
            apply(&mut s, &cat, Action::SpeedUp);
        }
        assert_eq!(s.speed, 100.0);
        assert_eq!(apply(&mut s, &cat, Action::NextContext), Effect::Restart);
        assert_eq!(s.context, 204_800);
        apply(&mut s, &cat, Action::BatchUp);
        assert_eq!(s.batch, 8);
        apply(&mut s, &cat, Action::NextModel);
        assert_eq!(s.model.id, "llama-3.1-70b");
        assert_eq!(action_for(&k("m"), true), Some(Action::PrevModel));
        apply(&mut s, &cat, Action::PrevModel);
        assert_eq!(s.model.id, "llama-3.1-8b");
        apply(&mut s, &cat, Action::ToggleFa);
        assert!(s.fa);
        apply(&mut s, &cat, Action::NextKvDtype);
        assert_eq!(s.kv_dtype, Some(crate::calc::Dtype::Fp8));
        assert_eq!(
            action_for(&Key::Named(NamedKey::PageDown), false),
            Some(Action::NextContext)
        );
        // ] doubles the batch up to the 256 sequences the scene draws, [ halves it down to 1.
        for _ in 0..10 {
            apply(&mut s, &cat, Action::BatchUp);
        }
        assert_eq!(s.batch, 256);
        for _ in 0..10 {
            apply(&mut s, &cat, Action::BatchDown);
        }
        assert_eq!(s.batch, 1);
    }
}
