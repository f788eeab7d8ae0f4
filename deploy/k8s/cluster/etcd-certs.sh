#!/bin/sh
# etcd-certs.sh DIR [NAMESPACE]: makes the TLS files of the etcd in etcd/ and of
# fulcrum's connection to it, with openssl only (nothing downloaded), at deploy time:
#   DIR/ca.crt, DIR/ca.key     the etcd CA (keep ca.key out of the cluster)
#   DIR/server.crt, .key       each member's client port (2379), for the names fulcrum
#                              calls (etcd-N.etcd.NAMESPACE.svc[.cluster.local]) and
#                              localhost / 127.0.0.1 (kubectl exec); serverAuth and
#                              clientAuth (etcd's gateway calls its own port with it)
#   DIR/peer.crt, .key         the members among themselves (2380), CN etcd-peer (what
#                              --peer-cert-allowed-cn admits), serverAuth and clientAuth
#   DIR/client.crt, .key       fulcrum's client certificate, CN fulcrum, clientAuth only
# NAMESPACE (default fulcrum) must be the one the StatefulSet runs in. Then, as
# deploy/k8s/README.md says ("Cluster mode"):
#   kubectl -n fulcrum create secret generic etcd-server-tls --from-file=ca.crt=DIR/ca.crt \
#       --from-file=tls.crt=DIR/server.crt --from-file=tls.key=DIR/server.key
#   kubectl -n fulcrum create secret generic etcd-peer-tls --from-file=ca.crt=DIR/ca.crt \
#       --from-file=tls.crt=DIR/peer.crt --from-file=tls.key=DIR/peer.key
#   kubectl -n fulcrum create secret generic fulcrum-etcd-client --from-file=ca.crt=DIR/ca.crt \
#       --from-file=tls.crt=DIR/client.crt --from-file=tls.key=DIR/client.key
set -eu
dir=${1:?usage: etcd-certs.sh DIR [NAMESPACE]}
ns=${2:-fulcrum}
days=${ETCD_CERT_DAYS:-825}
mkdir -p "$dir"
umask 077
names=
for n in 0 1 2; do
	names="${names}DNS:etcd-$n.etcd.$ns.svc,DNS:etcd-$n.etcd.$ns.svc.cluster.local,"
done
names="${names}DNS:etcd.$ns.svc,DNS:etcd.$ns.svc.cluster.local,DNS:localhost,IP:127.0.0.1"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
	-subj "/CN=fulcrum etcd CA ($ns)" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null

# cert NAME CN EXTENDED-KEY-USAGE [SUBJECT-ALT-NAMES]: DIR/NAME.{crt,key} signed by the CA
cert() {
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=$3" >"$dir/$1.ext"
	[ -z "${4:-}" ] || echo "subjectAltName=$4" >>"$dir/$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$2" -keyout "$dir/$1.key" -out "$dir/$1.csr" 2>/dev/null
	openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days "$days" -extfile "$dir/$1.ext" -out "$dir/$1.crt" 2>/dev/null
	rm -f "$dir/$1.csr" "$dir/$1.ext"
	chmod 644 "$dir/$1.crt"
}
cert server etcd-server serverAuth,clientAuth "$names"
cert peer etcd-peer serverAuth,clientAuth "$names"
cert client fulcrum clientAuth
rm -f "$dir/ca.srl"
chmod 644 "$dir/ca.crt"
echo "etcd-certs.sh: $dir/{server,peer,client}.crt for etcd-N.etcd.$ns.svc, signed by $dir/ca.crt"
