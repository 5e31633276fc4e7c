#!/usr/bin/env bash
# Usage: gen-tls-certs.sh DIR [SAN,...]
# Makes test TLS credentials in DIR, in the layout QEMU's tls-creds-x509
# and libnbd's tls-certificates read: ca-cert.pem, server-cert.pem and
# server-key.pem (CN=localhost, SAN DNS:localhost and IP:127.0.0.1, and
# the extra subjectAltName entries given, e.g. IP:10.77.0.11),
# client-cert.pem and client-key.pem (subject O=Test Org,CN=client).
# Also DIR/psk/keys.psk with the user "alice" and a random key. RSA 2048,
# valid for ten years; the CA's key is thrown away. Takes about a second.
set -euo pipefail
out=${1:?usage: $0 DIR [SAN,...]}
san="DNS:localhost,IP:127.0.0.1${2:+,$2}"
mkdir -p "$out/psk"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$out"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca-key.pem" -out ca-cert.pem \
  -days 3650 -subj "/O=Test Org/CN=Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue() { # NAME SUBJECT EXTENSIONS
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "$3" > "$work/$1.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$work/$1.csr" \
    -subj "$2" 2>/dev/null
  openssl x509 -req -in "$work/$1.csr" -CA ca-cert.pem -CAkey "$work/ca-key.pem" \
    -CAcreateserial -CAserial "$work/ca.srl" -out "$1-cert.pem" -days 3650 \
    -extfile "$work/$1.ext" 2>/dev/null
  chmod 600 "$1-key.pem"
}
issue server "/O=Test Org/CN=localhost" \
  "$(printf 'extendedKeyUsage=serverAuth\nsubjectAltName=%s' "$san")"
issue client "/O=Test Org/CN=client" "extendedKeyUsage=clientAuth"
echo "alice:$(openssl rand -hex 32)" > psk/keys.psk
chmod 600 psk/keys.psk
