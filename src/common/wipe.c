/* Zeroing what a volume leaves behind: a whole block device handed back
 * to a pool (volswapd's --pool-device, volswap-api's own block pools), or
 * a regular file standing for one. Block devices get BLKZEROOUT, which
 * uses the device's WRITE ZEROES offload where it has one and the
 * kernel's own zero writes where not (never BLKDISCARD: few devices
 * promise zeroes after a discard); files get their blocks punched out,
 * else zeroes written. Callers go one chunk at a time, so that a huge
 * device holds no thread uninterruptibly for minutes. Blocking: worker
 * threads only. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int vs_wipe_open(const char *path, int *fd, uint64_t *size)
{
    *fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (*fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(*fd, &st) < 0)
        rc = -errno;
    else if (S_ISBLK(st.st_mode))
        rc = ioctl(*fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
    else if (S_ISREG(st.st_mode))
        *size = (uint64_t)st.st_size;
    else
        rc = -ENODEV;
    if (rc < 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

static int zero_file_range(int fd, uint64_t off, uint64_t len)
{
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS)
        return -errno;
    if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    static const char zeroes[1 << 16];
    while (len > 0) {
        size_t n = len < sizeof zeroes ? (size_t)len : sizeof zeroes;
        ssize_t w = pwrite(fd, zeroes, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return 0;
}

int vs_wipe_chunk(int fd, uint64_t *done, uint64_t size)
{
    if (*done < size) {
        uint64_t len = size - *done < VS_WIPE_CHUNK ? size - *done : VS_WIPE_CHUNK;
        struct stat st;
        int rc;
        if (fstat(fd, &st) < 0)
            rc = -errno;
        else if (S_ISBLK(st.st_mode)) {
            uint64_t range[2] = { *done, len };
            rc = ioctl(fd, BLKZEROOUT, range) < 0 ? -errno : 0;
        } else {
            rc = zero_file_range(fd, *done, len);
        }
        if (rc < 0)
            return rc;
        *done += len;
    }
    /* zeroed only once it is durable: a device's write cache too */
    if (*done >= size && fsync(fd) < 0)
        return -errno;
    return 0;
}

int vs_wipe_all(const char *path)
{
    int fd;
    uint64_t size = 0, done = 0;
    int rc = vs_wipe_open(path, &fd, &size);
    while (rc == 0 && done < size)
        rc = vs_wipe_chunk(fd, &done, size);
    if (rc == 0 && size == 0)
        rc = vs_wipe_chunk(fd, &done, size);
    if (fd >= 0)
        close(fd);
    return rc;
}
