/** Address families (include/linux/socket.h AF_*): the ones the socket program types meet and the socket maps check. */
export const AF = { UNSPEC: 0, UNIX: 1, INET: 2, INET6: 10, XDP: 44 } as const;
/** Bytes of an IPv6 address (struct in6_addr). */
export const IN6_ADDR_SIZE = 16;
