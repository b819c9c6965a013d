/**
 * A growable circular buffer: O(1) push and shift without Array#shift's
 * copying (as node's lib/internal/fixed_queue.js).
 */
export class Ring<T> {
  #buf: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(v: T): void {
    const cap = this.#buf.length;
    if (this.#size === cap) {
      const next = new Array<T | undefined>(cap * 2);
      for (let i = 0; i < cap; i++) next[i] = this.#buf[(this.#head + i) & (cap - 1)];
      this.#buf = next;
      this.#head = 0;
    }
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = v;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const v = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
    return v;
  }
}
