/**
 * The IPv4 routing table (the main table; the local table is the set of the interfaces' own addresses): a
 * connected route per interface address, chosen by longest prefix (fib_lookup). Destinations that are this
 * host's own addresses go through lo, as Linux's local table sends them.
 */
import { inPrefix, type NetInterface } from './interface.js';

export interface Route {
  readonly dst: number;
  readonly prefix: number;
  readonly iface: NetInterface;
  /** The preferred source address (the interface address the route was made from). */
  readonly src: number;
}

export class RouteTable {
  readonly routes: Route[] = [];

  add(route: Route): void {
    this.routes.push(route);
    // Longest prefix first, so the first match is the best (a stable sort keeps insertion order among equals).
    this.routes.sort((a, b) => b.prefix - a.prefix);
  }

  /** The route to `dst` (host order), or undefined (ENETUNREACH). */
  lookup(dst: number): Route | undefined {
    for (const route of this.routes) if (inPrefix(dst, route.dst, route.prefix)) return route;
    return undefined;
  }
}
