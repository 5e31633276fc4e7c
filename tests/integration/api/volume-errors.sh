#!/usr/bin/env bash
# Cinder's refusals: missing volume 404, bad bodies 400 (unknown field, wrong
# type, size out of range, a metadata key Cinder refuses, unknown pool or zone), an
# unknown action 400, extend to a smaller size 400, deleting an in-use
# volume 400 with Cinder's message, and extending it before 3.42 400.
. "$(dirname "$0")/lib.sh"
api_setup
tok=$(api_token alice)
pid=$(project_id demo)
api "$tok" GET /v3/$pid/volumes/00000000-0000-4000-8000-000000000000 >/dev/null
expect_fault 404 itemNotFound "could not be found"
api "$tok" DELETE /v3/$pid/volumes/nope >/dev/null; expect_fault 404 itemNotFound
api "$tok" POST /v3/$pid/volumes '{"volume":{"size":1,"colour":"red"}}' >/dev/null
expect_fault 400 badRequest "('colour' was unexpected)"
api "$tok" POST /v3/$pid/volumes '{"volume":{"size":"one"}}' >/dev/null
expect_fault 400 badRequest "is not of type 'integer'"
api "$tok" POST /v3/$pid/volumes '{"volume":{"size":0}}' >/dev/null; expect_fault 400 badRequest
api "$tok" POST /v3/$pid/volumes '{"volume":{}}' >/dev/null
expect_fault 400 badRequest "'size' is a required property"
api "$tok" POST /v3/$pid/volumes '{"volume":{"size":1,"metadata":{"a*b":"c"}}}' >/dev/null
expect_fault 400 badRequest "metadata"
api "$tok" POST /v3/$pid/volumes '{"volume":{"size":1,"volume_type":"gold"}}' >/dev/null
expect_fault 404 itemNotFound "Volume type with name gold could not be found."
api "$tok" POST /v3/$pid/volumes '{"volume":{"size":1,"availability_zone":"mars"}}' >/dev/null
expect_fault 400 badRequest "Availability zone 'mars' is invalid."
api "$tok" POST /v3/$pid/volumes '{"volume":' >/dev/null; expect_fault 400 badRequest "Malformed"
vid=$(api "$tok" POST /v3/$pid/volumes '{"volume":{"size":2}}' | jq -r .volume.id)
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-frobnicate":{}}' >/dev/null
expect_fault 400 badRequest "There is no such action: os-frobnicate"
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-extend":{"new_size":1}}' >/dev/null
expect_fault 400 badRequest "New size for extend must be greater than current size. (current: 2, extended: 1)."
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-extend":{"new_size":"3"}}' >/dev/null
expect_fault 400 badRequest
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-extend":{"new_size":3,"x":1}}' >/dev/null
expect_fault 400 badRequest "('x' was unexpected)"
sid=$(api "$tok" POST /v2.1/servers '{"server":{"name":"s"}}' | jq -r .server.id)
api "$tok" POST /v2.1/servers/$sid/os-volume_attachments "{\"volumeAttachment\":{\"volumeId\":\"$vid\"}}" >/dev/null
expect_status 200
api "$tok" DELETE /v3/$pid/volumes/$vid >/dev/null
expect_fault 400 badRequest "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached"
[ -e "$T/pool/volume-$vid" ] || fail "in-use volume's file removed"
api "$tok" POST /v3/$pid/volumes/$vid/action '{"os-extend":{"new_size":3}}' >/dev/null
expect_fault 400 badRequest "Volume status must be available to extend, but current status is: in-use."
