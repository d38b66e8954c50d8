/**
 * Why a settings body from the API was refused. Settings arrive as untrusted JSON; the
 * parser stops at the first fault and names the field (`sizing.margin`, `instruments[2]`)
 * so that the HTTP layer can answer 400 with a message a person can act on.
 */
export class SettingsError extends Error {
  constructor(
    /** dotted path of the field at fault; '' for the body itself */
    readonly field: string,
    readonly problem: string,
  ) {
    super(field === '' ? problem : `${field}: ${problem}`);
    this.name = 'SettingsError';
  }
}
