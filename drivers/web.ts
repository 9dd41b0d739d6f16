/**
 * Web Streams driver (ReadableStream / WritableStream transport).
 *
 * Placeholder until the driver is written: `true` means `sansio-iostream/web` exports no
 * driver yet.
 */
export const WEB_DRIVER_PENDING = true;
