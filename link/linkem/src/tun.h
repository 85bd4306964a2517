/* TUN devices created inside a named network namespace (/run/netns/NAME). */
#ifndef LINKEM_TUN_H
#define LINKEM_TUN_H

/*
 * Enter /run/netns/NETNS, create TUN device DEV (IFF_TUN | IFF_NO_PI, no offloads, not
 * persistent: it disappears when linkem exits), return to the original namespace. The fd is
 * non-blocking. Exits with a message naming the failed call.
 */
int tun_open_in_netns(const char *netns, const char *dev);

#endif
