/* bench/libvirt's consumer, run inside the guest (built static, started by
 * the guest's /init): writes 4 KiB blocks with O_DIRECT to a disk, one at a
 * time, and after each prints on the console
 *     w SEQ START_US LAT_US
 * START_US the guest's CLOCK_MONOTONIC when the write was issued, LAT_US
 * how long the disk took to acknowledge it, both in microseconds. The
 * latency is the guest's own measurement, so it holds no console or
 * process start-up time; the host pairs the lines' arrival with START_US
 * to place each write in its own clock. A failed write prints "ioerr SEQ".
 *   libvirt-writer DEVICE GAP_US BLOCKS
 * writes blocks 1..BLOCKS over and over, GAP_US apart. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    const char *dev = argc > 1 ? argv[1] : "/dev/sda";
    long gap_us = argc > 2 ? atol(argv[2]) : 1000;
    long blocks = argc > 3 ? atol(argv[3]) : 16384;
    if (blocks < 1)
        blocks = 1;
    int fd = open(dev, O_RDWR | O_DIRECT);
    if (fd < 0) {
        perror(dev);
        return 1;
    }
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, 4096) != 0)
        return 1;
    memset(buf, 0, 4096);
    char line[96];
    for (uint64_t seq = 1;; seq++) {
        snprintf(buf, 4096, "seq %08llu\n", (unsigned long long)seq);
        off_t off = (off_t)(1 + (int64_t)((seq - 1) % (uint64_t)blocks)) * 4096;
        int64_t t0 = now_us();
        ssize_t n = pwrite(fd, buf, 4096, off);
        int64_t t1 = now_us();
        int len = n == 4096 ? snprintf(line, sizeof line, "w %llu %lld %lld\n",
                                       (unsigned long long)seq, (long long)t0, (long long)(t1 - t0))
                            : snprintf(line, sizeof line, "ioerr %llu\n", (unsigned long long)seq);
        if (write(1, line, (size_t)len) < 0)
            return 1;
        if (gap_us > 0)
            usleep((useconds_t)gap_us);
    }
}
