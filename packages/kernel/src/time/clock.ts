import { IndexedHeap, type HeapItem } from '../lib/heap.js';

/** A scheduled callback in virtual time. Events at the same time fire in the order they were posted. */
export interface TimerEvent extends HeapItem {
  time: number;
  seq: number;
  fire: () => void;
}

/**
 * The discrete-event clock: virtual time in nanoseconds (a JS number: exact to 2^53 ns, about 104 days) and the
 * queue of pending events ordered by (time, posting order), which makes every run with the same inputs fire
 * the same events in the same order.
 */
export class Clock {
  /** Current virtual time, ns. */
  now = 0;
  private seq = 0;
  private readonly queue = new IndexedHeap<TimerEvent>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
  /** Events fired so far. */
  fired = 0;

  /** Post `fire` at absolute virtual time `time` (never earlier than now). */
  at(time: number, fire: () => void): TimerEvent {
    const event: TimerEvent = { time: time < this.now ? this.now : time, seq: this.seq++, fire, heapIndex: -1 };
    this.queue.push(event);
    return event;
  }

  /** Post `fire` `delay` ns from now. */
  after(delay: number, fire: () => void): TimerEvent {
    return this.at(this.now + delay, fire);
  }

  cancel(event: TimerEvent): void {
    this.queue.remove(event);
  }

  isPending(event: TimerEvent): boolean {
    return event.heapIndex >= 0;
  }

  /** Time of the next pending event (Infinity when none). */
  nextTime(): number {
    const top = this.queue.peek();
    return top === undefined ? Infinity : top.time;
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Fire the next event; false when the queue is empty or the next event is after `limit`. */
  step(limit = Infinity): boolean {
    const top = this.queue.peek();
    if (top === undefined || top.time > limit) return false;
    this.queue.pop();
    this.now = top.time;
    this.fired++;
    top.fire();
    return true;
  }
}
