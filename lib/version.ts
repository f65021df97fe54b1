/** dnatsd's own release version. */
export const VERSION = "0.1.0";
/** The nats-server version whose protocol dnatsd speaks; clients gate features on it. */
export const NATS_COMPAT_VERSION = "2.9.10";
/** Client protocol level (1 = async INFO). */
export const CLIENT_PROTO = 1;
