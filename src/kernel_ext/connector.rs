// SPDX-License-Identifier: GPL-2.0

//! Safe abstraction over the kernel connector: netlink messages between a
//! kernel service and userspace, addressed by a connector id.
//!
//! C header: [`include/linux/connector.h`](srctree/include/linux/connector.h)
//!
//! A [`Registration`] installs a [`Handler`] for one id: every message a
//! userspace process sends to that id is handed to it. An [`OutMessage`] is a
//! preallocated buffer from which messages are multicast to the id's group
//! (the processes listening on it). All `unsafe` code of the connector API
//! lives in this file.

use crate::kernel_ext::bindings;
use core::{
    marker::PhantomData,
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{error::to_result, prelude::*, str::CStr, sync::Arc};

/// A connector id: the address of a kernel service on the connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CbId {
    /// The index; also the netlink multicast group of the service.
    pub(crate) idx: u32,
    /// The value, telling services on one index apart.
    pub(crate) val: u32,
}

impl CbId {
    fn raw(self) -> bindings::cb_id {
        bindings::cb_id {
            idx: self.idx,
            val: self.val,
        }
    }
}

/// Size of the connector's message header (`struct cn_msg`).
pub(crate) const HEADER_LEN: usize = core::mem::size_of::<bindings::cn_msg>();

/// A message received from userspace.
pub(crate) struct Message<'a> {
    /// The sender's sequence number.
    pub(crate) seq: u32,
    /// The sender's acknowledgement number.
    pub(crate) ack: u32,
    /// The payload (`cn_msg::len` bytes, checked against the netlink
    /// message by the connector core).
    pub(crate) data: &'a [u8],
}

/// The sender of a received message.
///
/// # Invariants
///
/// `nsp` is the netlink control block of the message being handled; it is
/// valid for `'a`.
pub(crate) struct Sender<'a> {
    nsp: NonNull<bindings::netlink_skb_parms>,
    _life: PhantomData<&'a ()>,
}

impl Sender<'_> {
    /// Whether the sender may administer the system: both the task that
    /// opened the socket and the one sending hold `CAP_SYS_ADMIN` in the
    /// initial user namespace.
    pub(crate) fn is_admin(&self) -> bool {
        // SAFETY: By the type invariant `nsp` is valid during the callback.
        unsafe { bindings::dmlogrs_cn_sender_is_admin(self.nsp.as_ptr()) }
    }
}

/// A receiver of connector messages.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Handles one message. Runs in the context of the sending task (process
    /// context, in its `sendmsg`), possibly concurrently for several
    /// senders. The message is hostile input: nothing in it is validated
    /// beyond its length.
    fn receive(&self, msg: &Message<'_>, sender: &Sender<'_>);
}

/// The handler of the (single) registration: a boxed `Arc<dyn Handler>`
/// turned into a raw pointer, or null. The connector's callback carries no
/// private data, so the callback finds its handler here. The type behind the
/// pointer is always the same, whatever handler was registered.
static HANDLER: AtomicPtr<Arc<dyn Handler>> = AtomicPtr::new(ptr::null_mut());

/// Callbacks currently running; unregistering waits for them to return.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// A handler registered for a connector id; unregistered when dropped.
///
/// Only one registration may exist at a time (the module has one connector
/// service).
///
/// # Examples
///
/// A service that counts the messages of privileged senders:
///
/// ```ignore
/// struct Counter(AtomicU64);
///
/// impl Handler for Counter {
///     fn receive(&self, _msg: &Message<'_>, sender: &Sender<'_>) {
///         if sender.is_admin() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let counter = Arc::new(Counter(AtomicU64::new(0)), GFP_KERNEL)?;
/// let reg = Registration::new(CbId { idx: 7, val: 1 }, c_str!("counter"), counter)?;
/// ```
///
/// # Invariants
///
/// `handler` came from `KBox::into_raw`, is the value of [`HANDLER`] and the
/// callback for `id` is registered, for the whole life of this object.
pub(crate) struct Registration {
    id: CbId,
    handler: *mut Arc<dyn Handler>,
}

// SAFETY: The raw pointer owns an `Arc<dyn Handler>`, whose handlers are
// `Send + Sync`; the registration itself can be dropped from any thread.
unsafe impl Send for Registration {}
// SAFETY: No method takes `&self`.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers `handler` for the messages sent to `id`. Fails with `EBUSY`
    /// if a registration already exists, and with the connector's error if
    /// `id` is taken or the connector is missing. Process context.
    pub(crate) fn new(id: CbId, name: &'static CStr, handler: Arc<dyn Handler>) -> Result<Self> {
        let raw = KBox::into_raw(KBox::new(handler, GFP_KERNEL)?);
        if HANDLER
            .compare_exchange(ptr::null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // SAFETY: `raw` came from `KBox::into_raw` just above and was
            // not published.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(EBUSY);
        }
        let cb = id.raw();
        // SAFETY: `cb` and `name` are valid for the call (the connector copies
        // both); the callback stays valid until `drop` unregisters it.
        let r = to_result(unsafe {
            bindings::cn_add_callback(&cb, name.as_char_ptr(), Some(Self::callback))
        });
        if let Err(e) = r {
            HANDLER.store(ptr::null_mut(), Ordering::SeqCst);
            // SAFETY: Registration failed, so no callback can see `raw`; it
            // came from `KBox::into_raw` above.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(e);
        }
        // INVARIANT: `raw` is published and the callback registered.
        Ok(Registration { id, handler: raw })
    }

    /// The connector's callback.
    ///
    /// # Safety
    ///
    /// Called by the connector core with a message whose `len` bytes of
    /// payload it has checked to lie within the received buffer, and the
    /// message's netlink control block.
    unsafe extern "C" fn callback(
        msg: *mut bindings::cn_msg,
        nsp: *mut bindings::netlink_skb_parms,
    ) {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        let handler = HANDLER.load(Ordering::SeqCst);
        if let (false, Some(nsp)) = (handler.is_null(), NonNull::new(nsp)) {
            // SAFETY: `msg` is valid per the function's safety requirements.
            let (seq, ack, len) = unsafe { ((*msg).seq, (*msg).ack, (*msg).len) };
            // SAFETY: The connector core checked that `len` payload bytes
            // follow the header within the message buffer, which lives for
            // the whole callback.
            let data = unsafe { core::slice::from_raw_parts((*msg).data.as_ptr(), len.into()) };
            // SAFETY: A non-null `HANDLER` is the boxed handler of the live
            // registration; `drop` waits for `ACTIVE` to fall to zero before
            // releasing it.
            let handler = unsafe { &*handler };
            // INVARIANT: `nsp` is the control block of this message.
            let sender = Sender {
                nsp,
                _life: PhantomData,
            };
            handler.receive(&Message { seq, ack, data }, &sender);
        }
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let cb = self.id.raw();
        // SAFETY: By the type invariant the callback for `id` is registered.
        unsafe { bindings::cn_del_callback(&cb) };
        // The connector core may still be inside a callback it looked up
        // before the removal: hide the handler, then wait for the callbacks
        // that have started. (A sender preempted between the core's lookup
        // and its call of the callback is not waited for: the connector
        // gives no way to, and the C module has the same window.)
        HANDLER.store(ptr::null_mut(), Ordering::SeqCst);
        while ACTIVE.load(Ordering::SeqCst) != 0 {
            // SAFETY: Process context (module exit); sleeping is allowed.
            unsafe { bindings::msleep(1) };
        }
        // SAFETY: By the type invariant `handler` came from
        // `KBox::into_raw`; no callback can reach it any more.
        drop(unsafe { KBox::from_raw(self.handler) });
    }
}

/// A preallocated buffer for outgoing messages: the connector header
/// followed by up to `capacity` bytes of payload.
///
/// # Invariants
///
/// `buf` holds at least `HEADER_LEN + capacity` bytes, and `capacity` fits
/// the header's 16-bit length.
pub(crate) struct OutMessage {
    /// `u64` words, so that the `cn_msg` header at its start is aligned.
    buf: KVec<u64>,
    capacity: usize,
}

impl OutMessage {
    /// Allocates a buffer for payloads of up to `capacity` bytes. Process
    /// context.
    pub(crate) fn new(capacity: usize) -> Result<Self> {
        if capacity > usize::from(u16::MAX) {
            return Err(EINVAL);
        }
        let words = (HEADER_LEN + capacity).div_ceil(8);
        let buf = KVec::from_elem(0u64, words, GFP_KERNEL)?;
        // INVARIANT: `words * 8 >= HEADER_LEN + capacity`; checked above.
        Ok(OutMessage { buf, capacity })
    }

    /// The payload area, `capacity` bytes.
    pub(crate) fn payload_mut(&mut self) -> &mut [u8] {
        let bytes = self.buf.as_mut_ptr().cast::<u8>();
        // SAFETY: By the type invariant the buffer holds `HEADER_LEN +
        // capacity` initialised bytes; `u8` has no alignment or validity
        // requirements, and the slice borrows `self` mutably.
        unsafe { core::slice::from_raw_parts_mut(bytes.add(HEADER_LEN), self.capacity) }
    }

    /// Multicasts the first `len` payload bytes to the group of `id`, with
    /// sequence number `seq`. Fails with `ESRCH` when no process listens,
    /// `ENODEV` when no service is registered for `id`. Allocates the socket
    /// buffer with `GFP_NOIO`: process context, and usable on the write path.
    pub(crate) fn send(&mut self, id: CbId, seq: u32, len: usize) -> Result {
        if len > self.capacity {
            return Err(EINVAL);
        }
        let header = bindings::cn_msg {
            id: id.raw(),
            seq,
            ack: 0,
            // CAST: `len <= capacity`, which fits a `u16` by the invariant.
            len: len as u16,
            ..Default::default()
        };
        let msg = self.buf.as_mut_ptr().cast::<bindings::cn_msg>();
        // SAFETY: The buffer starts with room for a `cn_msg` and is aligned
        // for it (it is made of `u64`s).
        unsafe { msg.write(header) };
        // SAFETY: `msg` is a valid message with `len` payload bytes behind
        // it; the connector copies it before returning.
        // Port 0 and group 0: multicast to the group registered for the
        // message's id. GFP_NOIO: the mirror sends from its worker, on the
        // write path.
        to_result(unsafe { bindings::cn_netlink_send(msg, 0, 0, bindings::GFP_NOIO) })
    }
}
