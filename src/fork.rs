//! fork(): which process a value was made in, and what to do before one.
//!
//! A forked child inherits the parent's descriptors, and so shares with it
//! the file behind each: the shutdown eventfd, the io_uring ring. A child
//! that wrote the eventfd would wake (and shut down) the parent's waits; one
//! that popped the ring would take the parent's frames. So values that hold
//! such descriptors note the [`generation`] they were made in, and a child
//! (where the generation has moved on) leaves the inherited ones alone.
//!
//! Before a fork, the [`before_fork`] hooks run in the forking thread: the
//! io_uring receives use it to stop reading ahead, so that frames arriving
//! while the child lives wait in the socket for whichever process reads.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());
static REGISTER: Once = Once::new();

/// A hook, and the generation that registered it.
type Hook = (u64, Box<dyn Fn() -> bool + Send>);

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

/// Runs `hook` before every fork of this process, until it returns `false`.
pub fn before_fork(hook: impl Fn() -> bool + Send + 'static) {
    let generation = generation();
    HOOKS.lock().unwrap_or_else(PoisonError::into_inner).push((generation, Box::new(hook)));
}

extern "C" fn prepare() {
    let now = GENERATION.load(Ordering::Acquire);
    let mut hooks = HOOKS.lock().unwrap_or_else(PoisonError::into_inner);
    // A parent's hooks, inherited, are not ours to run.
    hooks.retain(|(generation, hook)| *generation == now && hook());
    HELD.with(|held| *held.borrow_mut() = Some(hooks));
}

extern "C" fn parent() {
    HELD.with(|held| held.borrow_mut().take());
}

extern "C" fn child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    HELD.with(|held| held.borrow_mut().take());
}
