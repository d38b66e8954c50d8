/**
 * Why a frame or a fill event was not accepted. The code is stable (clients switch on it);
 * the message is for people; `path` names the field at fault (`payload.qty`, `ts`, ...).
 */
export type IngressErrorCode =
  /** the frame is larger than the frame limit; it was not parsed */
  | 'FRAME_TOO_LARGE'
  /** the frame, or its payload, is not JSON */
  | 'BAD_JSON'
  /** the envelope `{ts, sig, payload}` is malformed */
  | 'BAD_FRAME'
  /** `sig` is not the HMAC of `{ts}.{payload}` under the connection's secret */
  | 'BAD_SIGNATURE'
  /** `ts` is further from the server's clock than the allowed skew */
  | 'STALE_FRAME'
  /** the payload is not a valid TraderSignal */
  | 'INVALID_SIGNAL'
  /** filledMs is outside the window signal ids are remembered for: a replay could not be recognised */
  | 'STALE_SIGNAL'
  /** the signal names another trader than the one authenticated on this connection */
  | 'WRONG_TRADER'
  /** the trader does not lead the signal's instrument (its lead settings' instruments) */
  | 'NOT_LED_INSTRUMENT'
  /** the lead's signals come from its fills on the exchange (lead setting signalSource), not frames */
  | 'WRONG_SOURCE'
  /** this connection has too many signals awaiting their ack; retry later (ids are deduplicated) */
  | 'BUSY'
  /** the signal could not be stored (Redis); retry later (ids are deduplicated) */
  | 'UNAVAILABLE';

export interface IngressError {
  readonly code: IngressErrorCode;
  readonly message: string;
  readonly path?: string;
}

export const ingressError = (code: IngressErrorCode, message: string, path?: string): IngressError =>
  path === undefined ? { code, message } : { code, message, path };
