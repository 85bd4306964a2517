#include "tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

int tun_open_in_netns(const char *netns, const char *dev)
{
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", netns);
	const int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die_sys("open", "/proc/self/ns/net");
	const int target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		die_sys("open", path);
	if (setns(target, CLONE_NEWNET) != 0)
		die_sys("setns", path);

	const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die_sys("open", "/dev/net/tun");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0)
		die_sys("ioctl(TUNSETIFF)", dev);

	if (setns(self, CLONE_NEWNET) != 0)
		die_sys("setns", "/proc/self/ns/net");
	close(target);
	close(self);
	return fd;
}
