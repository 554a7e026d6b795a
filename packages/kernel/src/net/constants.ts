/** Tunables of the stack, Linux's defaults. */

/** net.ipv4.ip_local_port_range: 32768-60999. */
export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_COUNT = 60999 - 32768 + 1;
/** The largest UDP payload over IPv4: 65535 - 20 - 8. */
export const UDP_MAX_PAYLOAD = 65507;
/** TCP's receive window advertised (no scaling, no flow control modelled): 65535. */
export const TCP_WINDOW = 65535;
