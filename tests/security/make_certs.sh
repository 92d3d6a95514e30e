#!/usr/bin/env bash
# Makes the certificates the security tests use, with the openssl CLI, into
# OUTDIR (created). Everything is EC P-256, made fresh on every run:
#   ca.pem ca.key              the CA that signs the server and the clients
#   other_ca.pem other_ca.key  an unrelated CA (the "wrong CA" cases)
#   server.pem server.key      coordinator: SAN DNS:coordinator.test, DNS:localhost, IP:127.0.0.1
#   client.pem client.key      a worker: CN=worker, SAN URI:spiffe://ebsp.test/worker
#   admin.pem admin.key        an operator: CN=ops-admin, SAN URI:spiffe://ebsp.test/admin
#   other_client.pem .key      a client signed by other_ca
#   expired_server.pem .key    the server's names, signed by ca, expired
#   expired_client.pem .key    CN=worker, signed by ca, expired
#   ca2.pem ca2.key server2.pem server2.key   the rotation: a new CA and a server signed by it
#
#   tests/security/make_certs.sh OUTDIR
set -euo pipefail
out=${1:?usage: make_certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# ca NAME CN
ca() {
  newkey "$1"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -subj "/CN=$2" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
}

# leaf NAME CA CN SAN EKU DAYS
leaf() {
  local name=$1 ca=$2 cn=$3 san=$4 eku=$5 days=$6
  newkey "$name"
  openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$san" "$eku" \
    >"$name.ext"
  # -days -1 puts notAfter before now: an expired certificate.
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
    -days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

server_san="DNS:coordinator.test,DNS:localhost,IP:127.0.0.1"
ca ca "ebsp test CA"
ca other_ca "unrelated CA"
ca ca2 "ebsp test CA 2"
leaf server ca coordinator.test "$server_san" serverAuth 2
leaf server2 ca2 coordinator.test "$server_san" serverAuth 2
leaf expired_server ca coordinator.test "$server_san" serverAuth -1
leaf client ca worker "URI:spiffe://ebsp.test/worker" clientAuth 2
leaf admin ca ops-admin "URI:spiffe://ebsp.test/admin" clientAuth 2
leaf expired_client ca worker "URI:spiffe://ebsp.test/worker" clientAuth -1
leaf other_client other_ca worker "URI:spiffe://ebsp.test/worker" clientAuth 2
chmod 600 ./*.key
