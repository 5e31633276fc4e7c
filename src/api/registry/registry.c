/* What every backend shares: the transaction guard (a scope that rolls back
 * unless committed, so an early return cannot leave a transaction open and
 * its lock held) and the one way a storage error becomes a client's error,
 * with the backend's own words and a status that fits what happened (the
 * caller reports it once: the HTTP layer logs every 5xx reply with its
 * message, the swap worker its failures). */
#include "registry.h"
#include "statements.h"

#include <string.h>

void reg_txn_end(struct reg_txn *t)
{
    if (t->open)
        reg_rollback(t);
}

int reg_begin(struct reg_txn *t, struct api_error *e)
{
    if (t->reg->ops->begin(t->reg) < 0)
        return reg_fail(e, t->reg);
    t->open = true;
    return 0;
}

int reg_commit(struct reg_txn *t, struct api_error *e)
{
    t->open = false; /* a commit that fails has rolled back */
    if (t->reg->ops->commit(t->reg) < 0)
        return reg_fail(e, t->reg);
    return 0;
}

void reg_rollback(struct reg_txn *t)
{
    t->open = false;
    t->reg->ops->rollback(t->reg);
}

const char *reg_meta_kind_name(enum reg_meta_kind kind)
{
    switch (kind) {
    case REG_META_VOLUME: return "volume";
    case REG_META_SERVER: return "server";
    case REG_META_SERVER_ATTR: return "server-attr";
    case REG_META_RESERVATION: return "reservation";
    case REG_META_IMAGE: return "image";
    case REG_META_IMAGE_TAG: return "image-tag";
    case REG_META_VOLUME_IMAGE: return "volume-image";
    case REG_META_IMAGE_COPY: return "image-copy";
    case REG_META_SERVICE: return "service";
    case REG_META_QUOTA: break;
    }
    return "quota";
}

int reg_error_status(enum reg_error_kind kind)
{
    switch (kind) {
    case REG_ERR_FULL: return 507;
    case REG_ERR_BUSY: return 503;
    default: return 500;
    }
}

int reg_fail(struct api_error *e, struct registry *r)
{
    const char *msg = r->ops->last_error(r);
    enum reg_error_kind kind = r->ops->last_error_kind(r);
    return api_err(e, reg_error_status(kind), "registry: %s", msg);
}

struct registry *registry_open(const char *database, char *errbuf, size_t errlen)
{
    if (registry_is_postgres(database))
        return registry_postgres_open(database, errbuf, errlen);
    return registry_sqlite_open(database, errbuf, errlen);
}

int reg_swap_cmp_started(const void *a, const void *b)
{
    const struct reg_swap *x = a, *y = b;
    int c = strcmp(x->started_at, y->started_at);
    return c ? c : strcmp(x->id, y->id);
}
