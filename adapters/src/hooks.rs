//! Hooks on a [`Client`](crate::Client) or a [`Connection`](crate::Connection), each
//! removed when its [`HookGuard`] drops.
//!
//! Each layer is a list that one dispatcher hook forwards to from inside the core
//! connection; a connection's dispatcher is added before its client's, so connection
//! hooks run first. Adding or removing a hook takes only the list's lock, never the
//! connection's, so it works from any thread while the driver runs.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use pike_core::{Hook, HookPoint};

#[derive(Default)]
struct Layer {
    hooks: Vec<(u64, Hook)>,
    next: u64,
}

/// One layer of hooks (a client's or a connection's).
#[derive(Clone, Default)]
pub(crate) struct HookList(Arc<Mutex<Layer>>);

impl core::fmt::Debug for HookList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HookList")
            .field("hooks", &lock(&self.0).hooks.len())
            .finish()
    }
}

/// A hook that panicked must not take every later hook call down with it.
fn lock(layer: &Mutex<Layer>) -> MutexGuard<'_, Layer> {
    layer.lock().unwrap_or_else(|e| e.into_inner())
}

impl HookList {
    pub(crate) fn add(&self, hook: Hook) -> HookGuard {
        let mut layer = lock(&self.0);
        layer.next += 1;
        let id = layer.next;
        layer.hooks.push((id, hook));
        HookGuard {
            layer: Arc::downgrade(&self.0),
            id,
        }
    }

    /// The core hook that runs this layer's hooks, in the order they were added.
    pub(crate) fn dispatcher(&self) -> Hook {
        let (a, b) = (self.0.clone(), self.0.clone());
        Hook::dispatch(
            move |point: HookPoint| lock(&a).hooks.iter().any(|(_, h)| h.runs_at(point)),
            move |event| {
                for (_, h) in &mut lock(&b).hooks {
                    h.call(event);
                }
            },
        )
    }
}

/// Keeps a hook registered; dropping it removes the hook at once (a hook already
/// running finishes). Hooks run inside the connection's driver with the connection
/// locked: they must not block, call back into pike, or drop a guard of their own layer.
#[must_use = "dropping the guard removes the hook at once"]
#[derive(Debug)]
pub struct HookGuard {
    layer: Weak<Mutex<Layer>>,
    id: u64,
}

impl HookGuard {
    /// Keeps the hook for as long as its client or connection lives.
    pub fn keep(mut self) {
        self.layer = Weak::new();
    }
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        if let Some(layer) = self.layer.upgrade() {
            lock(&layer).hooks.retain(|(id, _)| *id != self.id);
        }
    }
}
