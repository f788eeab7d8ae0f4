#!/bin/sh
# control-cert.sh DIR [NAMESPACE]: makes the control API's TLS files at deploy time, with
# openssl only (nothing downloaded): a CA (DIR/ca.crt, DIR/ca.key: keep the key out of the
# cluster) and a server certificate signed by it (DIR/tls.crt, DIR/tls.key) for the names
# the control API is called by: fulcrum-control.NAMESPACE.svc.cluster.local (the hooks'
# fulcrumctl --all), fulcrum-control.NAMESPACE.svc, localhost and 127.0.0.1 (kubectl
# exec, port-forward). NAMESPACE defaults to fulcrum. Then, as README.md says:
#   kubectl -n fulcrum create secret generic fulcrum-control-tls \
#       --from-file=tls.crt=DIR/tls.crt --from-file=tls.key=DIR/tls.key --from-file=ca.crt=DIR/ca.crt
set -eu
dir=${1:?usage: control-cert.sh DIR [NAMESPACE]}
ns=${2:-fulcrum}
days=${CONTROL_CERT_DAYS:-825}
mkdir -p "$dir"
umask 077
ext=$dir/server.ext
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=serverAuth" \
	"subjectAltName=DNS:fulcrum-control.$ns.svc.cluster.local,DNS:fulcrum-control.$ns.svc,DNS:localhost,IP:127.0.0.1" \
	>"$ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
	-subj "/CN=fulcrum control CA ($ns)" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=fulcrum-control.$ns.svc.cluster.local" -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
	-days "$days" -extfile "$ext" -out "$dir/tls.crt" 2>/dev/null
rm -f "$dir/tls.csr" "$dir/ca.srl" "$ext"
chmod 644 "$dir/ca.crt" "$dir/tls.crt"
echo "control-cert.sh: $dir/tls.crt for fulcrum-control.$ns.svc.cluster.local, signed by $dir/ca.crt"
