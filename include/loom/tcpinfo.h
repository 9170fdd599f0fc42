/* What the kernel counts of a TCP connection (TCP_INFO). Any thread. */
#ifndef LOOM_TCPINFO_H
#define LOOM_TCPINFO_H

#include <stdint.h>

/* Bytes received on connected socket `fd` so far (the payload the peer
 * sent, whether read yet or not), or 0 if the kernel does not say. */
uint64_t loom_tcp_bytes_received(int fd);

#endif
