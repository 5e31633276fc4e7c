/* bench/guest's consumer, run inside a Linux guest as its /init's last
 * step: writes one 4 KiB block after another to a disk with O_DIRECT,
 * each followed by fdatasync, and prints on the console, for every block,
 * the guest's own monotonic clock when the fdatasync returned and how long
 * the write and the fdatasync took:
 *     w SEQ END_US WRITE_US SYNC_US
 * The host maps the guest's clock onto its own (bench/guest-run.py) and
 * sets the slowest write and fdatasync during a swap against those in an
 * equally long window without one. Blocks cycle through the disk's first
 * AREA bytes past OFFSET, so every write lands on data the mirror copies.
 *   guest-writer DEVICE [OFFSET_MIB] [AREA_MIB]
 * Built static: the guest has only busybox. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
    const char *dev = argc > 1 ? argv[1] : "/dev/sda";
    uint64_t off = (argc > 2 ? strtoull(argv[2], NULL, 10) : 0) << 20;
    uint64_t area = (argc > 3 ? strtoull(argv[3], NULL, 10) : 64) << 20;
    void *buf = NULL;
    int fd = open(dev, O_RDWR | O_DIRECT);

    if (fd < 0) {
        printf("writer: open %s: %s\n", dev, strerror(errno));
        return 1;
    }
    if (posix_memalign(&buf, 4096, 4096) != 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("writer: up %llu\n", (unsigned long long)now_us());
    for (uint64_t seq = 1;; seq++) {
        uint64_t pos = off + (seq * 4096u) % area;
        memset(buf, 0, 4096);
        snprintf(buf, 4096, "seq %llu\n", (unsigned long long)seq);
        uint64_t t0 = now_us();
        ssize_t n = pwrite(fd, buf, 4096, (off_t)pos);
        uint64_t t1 = now_us();
        int s = fdatasync(fd);
        uint64_t t2 = now_us();
        if (n != 4096 || s != 0) {
            printf("writer: ioerr %llu %s\n", (unsigned long long)seq, strerror(errno));
            continue;
        }
        printf("w %llu %llu %llu %llu\n", (unsigned long long)seq, (unsigned long long)t2,
               (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
    }
}
