//! A [`Timer`] on the host's `setTimeout` (window or worker alike).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use pike::Timer;
use pike::pike_core::Instant;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // globalThis.setTimeout / clearTimeout: present in pages and workers, unlike `window`.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Closure<dyn FnMut()>, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// The browser's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsTimer;

impl Timer for JsTimer {
    type Sleep = Sleep;
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            waker: Rc::default(),
            armed: None,
            fired: Rc::default(),
        }
    }
}

/// Completes at its deadline; dropping it clears the pending `setTimeout`.
pub struct Sleep {
    deadline: Instant,
    waker: Rc<RefCell<Option<Waker>>>,
    /// The armed timeout and its callback; `None` before the first poll and after it fired.
    armed: Option<(JsValue, Closure<dyn FnMut()>)>,
    fired: Rc<Cell<bool>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let now = Instant::now();
        if now >= this.deadline {
            return Poll::Ready(());
        }
        *this.waker.borrow_mut() = Some(cx.waker().clone());
        // Browsers may fire a timeout a fraction of a millisecond early: then re-arm.
        if this.armed.is_none() || this.fired.replace(false) {
            let (waker, fired) = (this.waker.clone(), this.fired.clone());
            let fire = Closure::<dyn FnMut()>::new(move || {
                fired.set(true);
                if let Some(w) = waker.borrow_mut().take() {
                    w.wake();
                }
            });
            let ms = (this.deadline - now).as_secs_f64() * 1000.0;
            let id = set_timeout(&fire, ms.ceil());
            this.armed = Some((id, fire));
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((id, _)) = self.armed.take()
            && !self.fired.get()
        {
            clear_timeout(&id);
        }
    }
}
