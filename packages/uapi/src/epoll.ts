/**
 * epoll(7) and poll(2) ABI (include/uapi/linux/eventpoll.h, include/uapi/asm-generic/poll.h): the event bits a
 * file's poll reports, the epoll_ctl operations, and struct epoll_event.
 */
import { O } from './fcntl.js';

/** Poll event bits (EPOLL* equal the POLL* values of asm-generic/poll.h). */
export const EPOLL = {
  IN: 0x001,
  PRI: 0x002,
  OUT: 0x004,
  ERR: 0x008,
  HUP: 0x010,
  NVAL: 0x020,
  RDNORM: 0x040,
  RDBAND: 0x080,
  WRNORM: 0x100,
  WRBAND: 0x200,
  MSG: 0x400,
  RDHUP: 0x2000,
  /** Wake only one of several epoll instances watching the same file (ADD only). */
  EXCLUSIVE: 1 << 28,
  /** Hold a wakeup source while the event is pending (needs CAP_BLOCK_SUSPEND, else silently cleared). */
  WAKEUP: 1 << 29,
  /** Report once, then disable the item until EPOLL_CTL_MOD re-arms it. */
  ONESHOT: 1 << 30,
  /** Edge-triggered: report a readiness change once, not while it lasts. */
  ET: 2 ** 31,
} as const;

/** EP_PRIVATE_BITS: the bits of epoll_event.events that are flags, not poll events. */
export const EP_PRIVATE_BITS = EPOLL.WAKEUP | EPOLL.ONESHOT | EPOLL.ET | EPOLL.EXCLUSIVE;
/** EPOLLEXCLUSIVE_OK_BITS: what an EPOLLEXCLUSIVE item may also ask for. */
export const EPOLLEXCLUSIVE_OK_BITS = EPOLL.IN | EPOLL.OUT | EPOLL.ERR | EPOLL.HUP | EPOLL.WAKEUP | EPOLL.ET | EPOLL.EXCLUSIVE;

/** epoll_ctl operations. */
export const EPOLL_CTL = { ADD: 1, DEL: 2, MOD: 3 } as const;

/** epoll_create1's only flag. */
export const EPOLL_CLOEXEC = O.CLOEXEC;

/**
 * struct epoll_event on x86_64: `__poll_t events; __u64 data;` with __attribute__((packed)) (EPOLL_PACKED), so
 * 12 bytes with data at offset 4, unlike most architectures (16 bytes, data at 8).
 */
export const EPOLL_EVENT = { size: 12, events: 0, data: 4 } as const;

/** EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event), the most one epoll_wait may ask for. */
export const EP_MAX_EVENTS = Math.floor(0x7fffffff / EPOLL_EVENT.size);
/** EP_MAX_NESTS: how deep epoll instances may watch each other (deeper is ELOOP). */
export const EP_MAX_NESTS = 4;

/** sizeof(sigset_t) in the kernel (_NSIG / 8): epoll_pwait's sigsetsize must be this (else EINVAL). */
export const KERNEL_SIGSET_SIZE = 8;
