/* TCP_INFO's received byte count (loom/tcpinfo.h). On its own in this file:
 * <linux/tcp.h> has the field, and clashes with <netinet/tcp.h>, which
 * APR's headers bring in everywhere else. */
#include <stddef.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "loom/tcpinfo.h"


uint64_t
loom_tcp_bytes_received(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof(info);

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0
        || len < offsetof(struct tcp_info, tcpi_bytes_received)
                 + sizeof(info.tcpi_bytes_received)) {
        return 0;
    }
    return info.tcpi_bytes_received;
}
