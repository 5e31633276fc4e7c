#!/usr/bin/env bash
# Debian's python3-glanceclient on the metadata definitions catalog, which
# it checks against the schemas volswap-api publishes (/v2/schemas/
# metadefs/*): the admin creates a namespace, an object, a property and a
# tag in it and associates a resource type; md-namespace-show shows them;
# a member reads the public namespace but may not create one (403); a
# protected namespace cannot be deleted until it is unprotected.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/glance ] || skip "python3-glanceclient not installed"
api_setup
export OS_IMAGE_API_VERSION=2
g() { /usr/bin/python3 /usr/bin/glance "$@" 2>"$T/glance.err"; }
password_env admin demo
g md-namespace-create --visibility public --protected True --display-name Cat cat >/dev/null \
  || fail "md-namespace-create: $(cat "$T/glance.err")"
g md-object-create --name cpu --schema '{"description": "CPU", "properties": {"cores": {"title": "Cores", "type": "integer", "minimum": 1}}}' cat >/dev/null \
  || fail "md-object-create: $(cat "$T/glance.err")"
g md-property-create --name hw_disk_bus --title "Disk bus" --schema '{"type": "string", "enum": ["virtio", "scsi"]}' cat >/dev/null \
  || fail "md-property-create: $(cat "$T/glance.err")"
g md-tag-create --name fast cat >/dev/null || fail "md-tag-create: $(cat "$T/glance.err")"
g md-resource-type-associate --name OS::Glance::Image --prefix hw_ cat >/dev/null \
  || fail "md-resource-type-associate: $(cat "$T/glance.err")"
tok=$(api_token alice)
api "$tok" GET /image/v2/metadefs/namespaces/cat >/dev/null; expect_status 200
jq -e '.objects[0].name == "cpu" and .properties.hw_disk_bus.enum == ["virtio", "scsi"] and
       .tags[0].name == "fast" and .resource_type_associations[0].prefix == "hw_" and
       .protected == true' "$T/last.body" >/dev/null || fail "namespace: $(cat "$T/last.body")"
g md-namespace-show cat >"$T/out" || fail "md-namespace-show: $(cat "$T/glance.err")"
grep -q hw_disk_bus "$T/out" || fail "md-namespace-show: $(cat "$T/out")"
g md-resource-type-list >"$T/out" || fail "md-resource-type-list: $(cat "$T/glance.err")"
grep -q OS::Cinder::Volume "$T/out" || fail "md-resource-type-list: $(cat "$T/out")"
password_env alice demo
g md-namespace-list >"$T/out" || fail "member's md-namespace-list: $(cat "$T/glance.err")"
grep -q cat "$T/out" || fail "member's md-namespace-list: $(cat "$T/out")"
! g md-namespace-create mine >/dev/null || fail "a member created a namespace"
grep -q "403\|not authorized" "$T/glance.err" || fail "member's create: $(cat "$T/glance.err")"
password_env admin demo
! g md-namespace-delete cat || fail "a protected namespace was deleted"
g md-namespace-update --protected False cat >/dev/null || fail "md-namespace-update: $(cat "$T/glance.err")"
g md-namespace-delete cat || fail "md-namespace-delete: $(cat "$T/glance.err")"
api "$tok" GET /image/v2/metadefs/namespaces/cat >/dev/null; expect_status 404
echo ok
