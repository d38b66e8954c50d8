/**
 * Work taken one piece at a time, in the order asked: what must not interleave with
 * something else across its awaits (the fan-out's signal and a drift repair both read and
 * move one copier's slices and balance in the book). A piece that fails does not stop the
 * next.
 */
export class Turns {
  private last: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last.then(work);
    this.last = next.catch(() => undefined);
    return next;
  }
}
