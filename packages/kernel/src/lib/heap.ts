/** An item of an IndexedHeap remembers its slot so it can be removed or re-keyed in O(log n). */
export interface HeapItem {
  heapIndex: number;
}

/**
 * A binary min-heap over `less`, with removal of any item (the event queue cancels events, CFS dequeues
 * entities). `heapIndex` is -1 when the item is not in a heap.
 */
export class IndexedHeap<T> {
  private readonly items: T[] = [];

  /** `slot` gives the object holding an item's heap index (the item itself by default). */
  constructor(
    private readonly less: (a: T, b: T) => boolean,
    private readonly slot: (item: T) => HeapItem = (item) => item as unknown as HeapItem,
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.slot(item).heapIndex = this.items.length;
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  remove(item: T): boolean {
    const index = this.slot(item).heapIndex;
    if (index < 0 || this.items[index] !== item) return false;
    this.removeAt(index);
    return true;
  }

  /** Every item, in heap order (not sorted). */
  values(): readonly T[] {
    return this.items;
  }

  private removeAt(index: number): void {
    const items = this.items;
    const removed = items[index] as T;
    const last = items.pop() as T;
    this.slot(removed).heapIndex = -1;
    if (index < items.length) {
      items[index] = last;
      this.slot(last).heapIndex = index;
      this.up(index);
      this.down(this.slot(last).heapIndex);
    }
  }

  private up(index: number): void {
    const items = this.items;
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!this.less(item, parent)) break;
      items[index] = parent;
      this.slot(parent).heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    this.slot(item).heapIndex = index;
  }

  private down(index: number): void {
    const items = this.items;
    const length = items.length;
    const item = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.less(items[right] as T, items[left] as T)) child = right;
      const childItem = items[child] as T;
      if (!this.less(childItem, item)) break;
      items[index] = childItem;
      this.slot(childItem).heapIndex = index;
      index = child;
    }
    items[index] = item;
    this.slot(item).heapIndex = index;
  }
}
