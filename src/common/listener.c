/* Listening sockets on the loop: bind a unix or TCP address, then accept
 * with one multishot accept in the ring. Stopping cancels the accept; the
 * listener frees itself when the kernel's last completion for it has
 * arrived, so a stop never races a completion (and the caller may start a
 * new listener on the same address at once). Shared by the NBD server and
 * the QMP monitor. */
#include "common.h"

#include <errno.h>
#include <liburing.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct vs_listener {
    struct vs_loop *loop;
    int fd;
    bool active;
    char *unix_path;               /* unlinked at stop */
    const char *what;              /* for messages: "NBD server" */
    void (*on_accept)(void *opaque, int fd);
    void (*on_gone)(void *opaque); /* may be NULL */
    void *opaque;
    struct vs_completion accept_c;
    struct vs_completion cancel_c;
};

long vs_unix_socket_gid = -1;

/* Whoever can connect to a socket controls the host's storage, so the mode
 * is set here and not left to the umask (0777 under umask 000). Between
 * bind() and listen() nobody can connect, which is why the chmod in that
 * window leaves no moment of wider access. */
static int restrict_socket(const char *path, struct vs_error *err)
{
    mode_t mode = 0600;
    if (vs_unix_socket_gid >= 0) {
        if (chown(path, (uid_t)-1, (gid_t)vs_unix_socket_gid) < 0) {
            vs_error_set_errno(err, errno, "Failed to set the group of %s", path);
            return -1;
        }
        mode = 0660;
    }
    if (chmod(path, mode) < 0) {
        vs_error_set_errno(err, errno, "Failed to set the mode of %s", path);
        return -1;
    }
    return 0;
}

int vs_listen_unix(const char *path, struct vs_error *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        vs_error_set(err, VS_ERR_GENERIC, "UNIX socket path '%s' is too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        vs_error_set_errno(err, errno, "Failed to create socket");
        return -1;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        vs_error_set_errno(err, errno, "Failed to bind socket to %s", path);
        close(fd);
        return -1;
    }
    if (restrict_socket(path, err) < 0 || listen(fd, 128) < 0) {
        vs_error_set_errno(err, errno, "Failed to listen on %s", path);
        unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}

int vs_listen_inet(const char *host, const char *port, struct vs_error *err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    int r = getaddrinfo(host && host[0] ? host : NULL, port, &hints, &res);
    if (r != 0) {
        vs_error_set(err, VS_ERR_GENERIC, "address resolution failed for %s:%s: %s",
                     host ? host : "", port, gai_strerror(r));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        vs_error_set_errno(err, saved, "Failed to bind socket to %s:%s", host ? host : "", port);
    return fd;
}

static void listener_arm(struct vs_listener *l);

static void accept_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct vs_listener *l = vs_container_of(c, struct vs_listener, accept_c);
    if (res >= 0) {
        if (l->active)
            l->on_accept(l->opaque, res);
        else
            close(res);
    } else if (res != -ECANCELED && res != -EINTR && res != -EAGAIN &&
               res != -ECONNABORTED && l->active) {
        vs_warn("%s: accept: %s", l->what, strerror(-res));
    }
    if (flags & IORING_CQE_F_MORE)
        return;
    if (l->active) {
        listener_arm(l);
        return;
    }
    /* Stopped, and the kernel holds no more references to us. */
    close(l->fd);
    if (l->on_gone)
        l->on_gone(l->opaque);
    free(l->unix_path);
    free(l);
}

static void listener_arm(struct vs_listener *l)
{
    l->accept_c.cb = accept_cb;
    io_uring_prep_multishot_accept(vs_loop_sqe(l->loop, &l->accept_c), l->fd, NULL, NULL,
                                   SOCK_CLOEXEC);
}

struct vs_listener *vs_listener_start(struct vs_loop *loop, int fd, const char *unix_path,
                                      const char *what,
                                      void (*on_accept)(void *opaque, int fd),
                                      void (*on_gone)(void *opaque), void *opaque)
{
    struct vs_listener *l = vs_zalloc(sizeof(*l));
    l->loop = loop;
    l->fd = fd;
    l->active = true;
    l->unix_path = unix_path ? vs_strdup(unix_path) : NULL;
    l->what = what;
    l->on_accept = on_accept;
    l->on_gone = on_gone;
    l->opaque = opaque;
    listener_arm(l);
    return l;
}

static void cancel_cb(struct vs_completion *c, int res, unsigned flags)
{
    /* Nothing: the accept's own final completion frees the listener. */
}

void vs_listener_stop(struct vs_listener *l)
{
    if (!l || !l->active)
        return;
    l->active = false;
    if (l->unix_path)
        unlink(l->unix_path);
    l->cancel_c.cb = cancel_cb;
    io_uring_prep_cancel(vs_loop_sqe(l->loop, &l->cancel_c), &l->accept_c, 0);
}
