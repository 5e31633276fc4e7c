/* bench/copy-floor: the fastest plain copy of one file into a fresh one that
 * this machine manages, as a floor for bench/mirror's idle cases.
 *
 * Usage: copy-floor SRC DST [THREADS]
 *
 * DST is truncated to SRC's size (a fresh sparse file, as the mirror's
 * target), then THREADS threads (default: the online CPUs) each copy their
 * share in 1 MiB pread/pwrite steps, skipping the source's holes. It prints
 * the seconds taken. Measured on tmpfs this was the quickest of
 * copy_file_range, read/write, mmap+write and read into a mapping (the
 * last two pay a page fault per 4 KiB). No mirror, however built, copies
 * faster than this on the same files. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STEP (1 << 20)

static int src_fd, dst_fd;

struct share {
    off_t start, end;
    int ret;
    pthread_t th;
};

static void *copy_share(void *opaque)
{
    struct share *s = opaque;
    char *buf = aligned_alloc(4096, STEP);
    off_t off = s->start;

    if (!buf) {
        s->ret = ENOMEM;
        return NULL;
    }
    while (off < s->end) {
        off_t data = lseek(src_fd, off, SEEK_DATA);
        if (data < 0 || data >= s->end)
            break;                          /* only holes left */
        off_t hole = lseek(src_fd, data, SEEK_HOLE);
        if (hole < 0 || hole > s->end)
            hole = s->end;
        for (off = data; off < hole;) {
            size_t n = (size_t)(hole - off < STEP ? hole - off : STEP);
            ssize_t r = pread(src_fd, buf, n, off);
            if (r <= 0 || pwrite(dst_fd, buf, (size_t)r, off) != r) {
                s->ret = r < 0 ? errno : EIO;
                free(buf);
                return NULL;
            }
            off += r;
        }
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    struct share shares[64];
    struct timespec t0, t1;
    long nt = argc > 3 ? atol(argv[3]) : sysconf(_SC_NPROCESSORS_ONLN);
    off_t size;

    if (argc < 3 || nt < 1 || nt > 64) {
        fprintf(stderr, "usage: copy-floor SRC DST [THREADS 1-64]\n");
        return 2;
    }
    src_fd = open(argv[1], O_RDONLY);
    dst_fd = open(argv[2], O_RDWR | O_CREAT, 0600);
    if (src_fd < 0 || dst_fd < 0) {
        perror("copy-floor: open");
        return 1;
    }
    size = lseek(src_fd, 0, SEEK_END);
    if (size < 0 || ftruncate(dst_fd, 0) < 0 || ftruncate(dst_fd, size) < 0) {
        perror("copy-floor: size");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < nt; i++) {
        /* Shares on 1 MiB boundaries, the last one takes the remainder. */
        off_t per = (size / nt) & ~(off_t)(STEP - 1);
        shares[i].start = per * i;
        shares[i].end = i == nt - 1 ? size : per * (i + 1);
        shares[i].ret = 0;
        pthread_create(&shares[i].th, NULL, copy_share, &shares[i]);
    }
    int ret = 0;
    for (long i = 0; i < nt; i++) {
        pthread_join(shares[i].th, NULL);
        if (shares[i].ret)
            ret = shares[i].ret;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (ret) {
        fprintf(stderr, "copy-floor: %s\n", strerror(ret));
        return 1;
    }
    printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
