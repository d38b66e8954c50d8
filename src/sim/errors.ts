/** A request the simulator cannot read: 400 INVALID_REQUEST, the message names the field. */
export class InvalidRequest extends Error {
  readonly code = 'INVALID_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequest';
  }
}

/** A well-formed request the service refuses (INSUFFICIENT_BALANCE, ...): 422, not retryable. */
export class Rejected extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'Rejected';
  }
}
