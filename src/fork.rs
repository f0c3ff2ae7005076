//! fork(): which process a value was made in, and what to do before one.
//!
//! A forked child inherits the parent's descriptors, and so shares with it
//! the file behind each: the shutdown eventfd, the io_uring ring. A child
//! that wrote the eventfd would wake (and shut down) the parent's waits; one
//! that popped the ring would take the parent's frames. So values that hold
//! such descriptors note the [`generation`] they were made in, and a child
//! (where the generation has moved on) leaves the inherited ones alone.
//!
//! Before a fork, values registered with [`before_fork`] get their
//! [`BeforeFork`] call in the forking thread: the io_uring receives use it to
//! stop reading ahead, so that frames arriving while the child lives wait in
//! the socket for whichever process reads.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError, Weak};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());
static REGISTER: Once = Once::new();

/// What a value does before this process forks.
pub trait BeforeFork: Send + Sync {
    /// Runs in the parent just before `fork()`.
    fn before_fork(&self);
}

/// A registered value, and the generation that registered it.
type Hook = (u64, Weak<dyn BeforeFork>);

thread_local! {
    /// The hooks' lock, held by the forking thread across fork(), so that
    /// no other thread holds it then and the child inherits it unlocked.
    static HELD: RefCell<Option<MutexGuard<'static, Vec<Hook>>>> = const { RefCell::new(None) };
}

/// How many forks separate this process from the one that loaded ferrocan.
pub fn generation() -> u64 {
    REGISTER.call_once(|| {
        // SAFETY: the handlers are plain functions that live as long as the
        // program; the child's does an atomic add and unlocks a mutex.
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
    GENERATION.load(Ordering::Acquire)
}

/// Calls `value`'s [`BeforeFork`] before every fork of this process, for as
/// long as the value lives.
pub fn before_fork(value: &Arc<dyn BeforeFork>) {
    let generation = generation();
    let mut hooks = HOOKS.lock().unwrap_or_else(PoisonError::into_inner);
    // Values come and go (a bus each); the gone ones leave here, not at a
    // fork that may never come.
    hooks.retain(|(_, value)| value.strong_count() > 0);
    hooks.push((generation, Arc::downgrade(value)));
}

extern "C" fn prepare() {
    let now = GENERATION.load(Ordering::Acquire);
    let mut hooks = HOOKS.lock().unwrap_or_else(PoisonError::into_inner);
    // A parent's values, inherited, are not ours to call.
    hooks.retain(|(generation, value)| {
        *generation == now && value.upgrade().map(|value| value.before_fork()).is_some()
    });
    HELD.with(|held| *held.borrow_mut() = Some(hooks));
}

extern "C" fn parent() {
    HELD.with(|held| held.borrow_mut().take());
}

extern "C" fn child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    HELD.with(|held| held.borrow_mut().take());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Counter(std::sync::atomic::AtomicU32);

    impl BeforeFork for Counter {
        fn before_fork(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn registered() -> usize {
        HOOKS.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    #[test]
    fn values_that_are_gone_leave_the_registry() {
        let before = registered();
        for _ in 0..100 {
            let gone: Arc<dyn BeforeFork> = Arc::new(Counter(0.into()));
            before_fork(&gone);
        }
        let live: Arc<dyn BeforeFork> = Arc::new(Counter(0.into()));
        before_fork(&live);
        assert!(registered() <= before + 1, "{} hooks for 1 live value", registered() - before);
    }
}
