#!/usr/bin/env bash
# Regenerates the TLS test certificates in test/fixtures/tls (committed: tests need them in the repo).
# Test data only: the keys are public. Validity is 100 years, except expired-server (ended in 2000).
#   ca.pem                          test CA (its key is not kept), trust anchor of the server and client certificates
#   server.pem/server-key.pem       CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   server2.pem/server2-key.pem     the same names, another key: the "renewed" certificate of reload tests
#   expired-server.pem/-key.pem     the same names, expired (notAfter 2000-01-02): clients refuse it
#   client.pem/client-key.pem       CN=device-7, clientAuth: a device's certificate
#   rogue-client.pem/-key.pem       CN=device-7 from a CA the node does not trust
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/tls"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
days=36500

ca() { # name subject
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.pem" -days $days -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # name subject ext-file ca
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4-key.pem" -CAcreateserial -out "$1.pem" -days $days \
    -extfile "$3" 2>/dev/null
}
cat > server.ext <<'X'
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
X
cat > client.ext <<'X'
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
X

ca ca '/CN=twinflow test CA'
ca rogue-ca '/CN=rogue test CA'
leaf server '/CN=localhost' server.ext ca
leaf server2 '/CN=localhost' server.ext ca
leaf client '/CN=device-7' client.ext ca
leaf rogue-client '/CN=device-7' client.ext rogue-ca

# An expired certificate needs explicit dates, which only `openssl ca` sets.
mkdir -p db && : > db/index.txt && echo 1000 > db/serial
cat > ca.cnf <<'X'
[ca]
default_ca = test
[test]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
certificate = ca.pem
private_key = ca-key.pem
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
X
openssl req -new -newkey rsa:2048 -nodes -keyout expired-server-key.pem -out expired.csr -subj '/CN=localhost' 2>/dev/null
openssl ca -batch -config ca.cnf -in expired.csr -out expired-server.pem -notext -extfile server.ext \
  -startdate 20000101000000Z -enddate 20000102000000Z 2>/dev/null

for f in ca.pem server.pem server-key.pem server2.pem server2-key.pem expired-server.pem \
  expired-server-key.pem client.pem client-key.pem rogue-client.pem rogue-client-key.pem; do
  cp "$f" "$out/$f"
done
echo "wrote $(ls "$out" | wc -l) files to $out"
